"""`stockbot backtest`: the simulation worked out by hand, the CSV loader, the command as a user
runs it, and the CDNOW evaluation. No Slack, no database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from importlib import metadata

import numpy as np
import pytest

from bot.core.backtest import POLICIES, Policy, policy_named, run_backtest
from bot.datasets import DataError, load_cdnow, load_sales_csv

DAY0 = date(2024, 1, 1)  # a Monday


def _has_lifetimes() -> bool:
    try:
        metadata.distribution("lifetimes")
    except metadata.PackageNotFoundError:
        return False
    return True


# ---- the simulation, by hand ------------------------------------------------------------------------
# Policy seed-avg: average demand, safety 3 days, no damping, no weekday profile.
# Demand 10 a day, lead 2, cover 30, warm-up 7 days (history only), then 60 simulated days e = 0..59.
#   reorder point = ceil(10 x 2 + 10 x 3)        = 50
#   order-up-to   = 10 x (2 + 30)                 = 320 = on hand on day e=0, before its sales

def constant(days: int = 67, per_day: int = 10) -> np.ndarray:
    return np.full((1, days), per_day)


def test_constant_demand_by_hand():
    result = run_backtest(constant(), DAY0, lead_days=2, policies=["seed-avg"], warmup=7).results[0]
    # End of day e: 320 - 10(e+1). It reaches 50 at e=26: position 50 <= 50, order 320 - 50 = 270,
    # arriving at the start of e=28 (e=27 ends on 40; e=28: 40 + 270 - 10 = 300).
    # From 300 it reaches 50 again 25 days later, e=53: order 270, arrives e=55.
    # The next one would be e=80, after the end.
    assert [(e, units) for _, e, units in result.orders] == [(26, 270), (53, 270)]
    # End-of-day stock: e=0..27 310..40 (28 days), e=28..54 300..40 (27 days), e=55..59 300..260 (5 days)
    total = (310 + 40) / 2 * 28 + (300 + 40) / 2 * 27 + (300 + 260) / 2 * 5  # 4900 + 4590 + 1400 = 10890
    assert result.average_on_hand == pytest.approx(total / 60)  # 181.5
    assert result.on_hand[27, 0] == 40 and result.on_hand[28, 0] == 300
    assert result.orders_placed == 2 and result.cycles_judged == 2
    assert result.cycle_service_level == 1.0 and result.fill_rate == 1.0
    assert result.stockout_days == 0 and result.units_lost == 0


def test_a_demand_jump_causes_a_known_stockout():
    units = constant()
    units[0, 7 + 20] = 200  # day e=20 sells 200 instead of 10
    result = run_backtest(units, DAY0, lead_days=2, policies=["seed-avg"], warmup=7).results[0]
    # e=20 starts with 320 - 200 = 120 on hand: sells 120, loses 80, ends on 0 (stock-out day 1).
    # The day is marked as a stock-out and left out of the history, so daily stays 10 (counting the
    # 200 would raise it): position 0 <= 50, order 320 - 0 = 320, arriving at the start of e=22.
    # e=21: nothing on hand, 10 lost (stock-out day 2). e=22: 320 - 10 = 310.
    # From 310 the shelf reaches 50 on e=48: order 270, arrives e=50, no loss in e=49..50.
    assert [(e, units) for _, e, units in result.orders] == [(20, 320), (48, 270)]
    assert result.units_lost == 80 + 10
    assert result.stockout_days == 2
    assert result.lost[20, 0] == 80 and result.lost[21, 0] == 10
    # The first order's lead time (e=21..22) lost demand, the second's did not: 1 of 2 cycles in stock.
    assert result.cycle_service_level == 0.5
    # Demand 59 x 10 + 200 = 790; sold 790 - 90 = 700.
    assert result.fill_rate == pytest.approx(700 / 790)
    # End-of-day stock: e=0..19 310..120, e=20..21 0, e=22..48 310..50, e=49 40, e=50..59 300..210
    total = (310 + 120) / 2 * 20 + 0 + (310 + 50) / 2 * 27 + 40 + (300 + 210) / 2 * 10  # 11750
    assert result.average_on_hand == pytest.approx(total / 60)


def test_service_policy_on_steady_demand_holds_only_lead_time_demand():
    # Demand without variation has sigma 0: auto98's reorder point is the lead-time demand, 20.
    # Start 320; ends on 20 at e=29 -> order 300, arrives e=31 (e=30 ends on 10, e=31 on 300).
    # From 300 it reaches 20 again 28 days later, e=59, the last day: that order arrives after the
    # end (e=61), so it counts as placed but is not judged for cycle service.
    result = run_backtest(constant(), DAY0, lead_days=2, policies=["auto98"], warmup=7).results[0]
    assert [(e, units) for _, e, units in result.orders] == [(29, 300), (59, 300)]
    assert result.orders_placed == 2 and result.cycles_judged == 1
    assert result.cycle_service_level == 1.0 and result.stockout_days == 0


def test_skus_are_simulated_independently_in_one_array():
    rows = np.array([[(d * 7) % 11 + (15 if d % 40 == 39 else 0) for d in range(150)],
                     [(d * 3) % 5 for d in range(150)],
                     [0] * 100 + [4] * 50])
    together = run_backtest(rows, DAY0, lead_days=5)
    for i in range(len(rows)):
        alone = run_backtest(rows[i:i + 1], DAY0, lead_days=5)
        for both, one in zip(together.results, alone.results):
            assert np.array_equal(both.on_hand[:, i], one.on_hand[:, 0]), both.policy.name
            assert [(e, q) for r, e, q in both.orders if r == i] == [(e, q) for _, e, q in one.orders]


def test_policy_names():
    assert list(POLICIES) == ["seed-max", "seed-avg", "avg98", "weighted98", "auto95", "auto98"]
    assert policy_named("auto98") == Policy("auto98", "p90", damp=True, service=0.98)  # the default auto policy
    assert policy_named("avg98") == Policy("avg98", "avg", damp=True, service=0.98)
    assert policy_named("auto90").service == pytest.approx(0.90)
    assert policy_named("seed-p90").safety_days == 3
    with pytest.raises(ValueError, match="unknown policy"):
        policy_named("auto")
    with pytest.raises(ValueError, match="warm-up"):
        run_backtest(constant(30), DAY0, lead_days=2, warmup=56)


# ---- the CSV loader --------------------------------------------------------------------------------

def write(tmp_path, text: str, name: str = "sales.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_loader_reads_fills_and_sums(tmp_path):
    path = write(tmp_path, "Units,SKU,Date,channel\n"
                           "2,A,2024-01-01,web\n"
                           "3,B,2024-01-01,web\n"
                           "\n"
                           "4,B,2024-01-03,shop\n"
                           "1,B,2024-01-03,web\n")
    sales = load_sales_csv(path)
    assert sales.skus == ["B", "A"]  # the biggest seller first
    assert sales.first_day == date(2024, 1, 1) and sales.last_day == date(2024, 1, 3)
    assert sales.units.tolist() == [[3, 0, 5], [2, 0, 0]]  # the missing day is 0, one day's rows add up
    assert sales.rows == 4


@pytest.mark.parametrize("body, message", [
    ("date,sku,units\n2024-01-01,A,2\n01/02/2024,A,3\n", r"sales.csv, line 3: bad date '01/02/2024'"),
    ("date,sku,units\n2024-01-01,A,-2\n", r"line 2: units must be a whole number >= 0, got '-2'"),
    ("date,sku,units\n2024-01-01,A,1.5\n", r"line 2: units must be a whole number"),
    ("date,sku,units\n2024-01-01,,1\n", r"line 2: the sku is empty"),
    ("2024-01-01,A,2\n2024-01-02,A,3\n", r"line 1: the header must name the columns date, sku, units"),
    ("day,sku,qty\n2024-01-01,A,2\n", r"missing date, units"),
    ("", r"the file is empty"),
    ("date,sku,units\n", r"no sales rows"),
])
def test_csv_loader_names_the_bad_line(tmp_path, body, message):
    with pytest.raises(DataError, match=message):
        load_sales_csv(write(tmp_path, body))


def test_csv_loader_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_sales_csv(tmp_path / "nope.csv")


# ---- the command, as a user runs it --------------------------------------------------------------------

def stockbot(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "ALERT_"))}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.fixture
def sales_csv(tmp_path):
    lines = ["date,sku,units"]
    for d in range(150):
        day = DAY0 + timedelta(days=d)
        lines.append(f"{day},LED-STRIP,{20 + (d * 7) % 13 + (40 if d % 50 == 49 else 0)}")
        lines.append(f"{day},DRESS-RED-XL,{(d * 5) % 4}")
    return write(tmp_path, "\n".join(lines) + "\n")


def test_cli_prints_the_policies_side_by_side(sales_csv):
    result = stockbot("backtest", str(sales_csv), "--lead", "7")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    header = next(line for line in out.splitlines() if "seed-max" in line and "weighted98" in line)
    assert header.split() == ["seed-max", "seed-avg", "avg98", "weighted98", "auto95", "auto98"]
    for metric in ("cycle service level", "fill rate", "stock-out days", "average on-hand units", "orders placed"):
        row = next(line for line in out.splitlines() if line.startswith(metric))
        assert len(row[len(metric):].split()) == 6, row
    assert "2 SKUs" in out and "lead 7 days" in out


def test_cli_policies_option_and_friendly_errors(sales_csv, tmp_path):
    result = stockbot("backtest", str(sales_csv), "--policies", "auto98,seed-max,auto90")
    assert result.returncode == 0, result.stderr
    assert next(line for line in result.stdout.splitlines() if "auto90" in line).split() == ["auto98", "seed-max",
                                                                                            "auto90"]
    missing = stockbot("backtest", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    bad = stockbot("backtest", str(write(tmp_path, "date,sku,units\n2024-01-01,A,x\n", "bad.csv")))
    assert bad.returncode == 2 and "bad.csv, line 2" in bad.stderr
    unknown = stockbot("backtest", str(sales_csv), "--policies", "magic")
    assert unknown.returncode == 2 and "unknown policy 'magic'" in unknown.stderr


def test_cli_chart_writes_a_png(sales_csv, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "stock.png"
    result = stockbot("backtest", str(sales_csv), "--chart", str(out), "--sku", "DRESS-RED-XL")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "DRESS-RED-XL" in result.stdout
    unknown = stockbot("backtest", str(sales_csv), "--chart", str(out), "--sku", "NOPE")
    assert unknown.returncode == 2 and "SKU 'NOPE' is not in" in unknown.stderr


# ---- CDNOW: real daily sales -------------------------------------------------------------------------

needs_cdnow = pytest.mark.skipif(not _has_lifetimes(), reason="CDNOW ships in Lifetimes: pip install -e '.[eval]'")


@needs_cdnow
def test_cdnow_adapter_reads_every_transaction():
    path = metadata.distribution("lifetimes").locate_file("lifetimes/datasets/CDNOW_master.txt")
    lines = open(path).read().split("\n")[1:]
    cds = sum(int(line.split()[2]) for line in lines if line.strip())
    sales = load_cdnow()
    assert sales.rows == 69_659
    assert sales.skus == ["CDNOW"]
    assert (sales.first_day, sales.last_day, sales.days) == (date(1997, 1, 1), date(1998, 6, 30), 546)
    assert int(sales.units.sum()) == cds == 167_881
    split = load_cdnow(groups=4)
    assert len(split.skus) == 4 and np.array_equal(split.units.sum(axis=0), sales.units[0])


@needs_cdnow
@pytest.mark.parametrize("lead", [7, 21])
def test_cdnow_backtest_the_documented_aim(lead):
    sales = load_cdnow()
    backtest = run_backtest(sales.units, sales.first_day, lead_days=lead)
    seed_max, auto98, avg98 = backtest.result("seed-max"), backtest.result("auto98"), backtest.result("avg98")
    # The aim: the default auto policy (90th-percentile day, 98% service) reaches >= 98% cycle service
    # level while holding clearly less stock than the seed's conservative max rule (README table:
    # lead 7: 100% with 9,753 units against 15,030; lead 21: 100% with 14,364 against 22,969).
    assert auto98.cycle_service_level >= 0.98
    assert auto98.average_on_hand < 0.7 * seed_max.average_on_hand
    assert seed_max.cycle_service_level == 1.0
    # Why the average day is not the default: its short cycles are real demand surges (late July and
    # 6-12 November 1997 sold about twice the usual units for a week); z x sigma x sqrt(lead) assumes
    # independent days and does not cover a week-long surge (lead 7: 10 of 13 cycles, 76.9%).
    assert avg98.cycle_service_level < 0.98
    assert avg98.average_on_hand < auto98.average_on_hand
