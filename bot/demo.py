"""`stockbot demo`: the whole loop on a SQLite file, printed to the terminal. No Slack needed.

It uses the real checker, database and message builders; only the last step, sending to
Slack, is replaced by printing the message as Slack would show it.
"""

from __future__ import annotations

import csv
import os
import tempfile
from datetime import timedelta
from importlib import resources
from typing import TextIO

from sqlmodel import select

from bot.checker import Checker
from bot.config import Settings
from bot.core import forecast as fc
from bot.messages import DemandBasis, calc_message, method_text
from bot.notifier import ConsoleNotifier
from bot.sources import SalesRow
from storage import repo
from storage.db import init_db, make_engine
from storage.db import session as open_session
from storage.models import Alert, SkuPlan

DEMO_CHANNEL = "stock-alerts"
DEMO_USER = "U0DEMOBUYER"


def load_catalogue() -> list[dict]:
    with resources.files("bot").joinpath("demo_data/catalogue.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_stock(path: str, stock: dict[str, int], names: dict[str, str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "available"])
        for sku, available in stock.items():
            writer.writerow([sku, names[sku], available])


def sample_sales(catalogue: list[dict], today, days: int = 35) -> list[SalesRow]:
    """Demo sales history: each SKU's usual day, busier at weekends, with a live-stream spike."""
    rows = []
    for row in catalogue:
        usual = int(row["daily_sales"])
        for offset in range(days, 0, -1):
            day = today - timedelta(days=offset)
            units = usual * (13 if day.weekday() >= 5 else 9) // 10 + (offset * 7) % 5
            rows.append(SalesRow(row["sku"], day, units * 4 if offset == 12 else units))
    return rows


def run_demo(out: TextIO, language: str = "en", workdir: str | None = None) -> Checker:
    workdir = workdir or tempfile.mkdtemp(prefix="stockbot-demo-")
    os.makedirs(workdir, exist_ok=True)
    db_path, stock_path = os.path.join(workdir, "stockbot-demo.db"), os.path.join(workdir, "stock.csv")
    settings = Settings(database_url=f"sqlite:///{db_path}", alert_channel=DEMO_CHANNEL,
                        stock_source=f"csv:{stock_path}", language=language, remind_after_hours=24,
                        channel_pace_seconds=0.0)  # the terminal has no rate limit
    engine = make_engine(settings.database_url)
    init_db(engine)
    checker = Checker(engine, settings, ConsoleNotifier(out), charts=False)  # the terminal shows no pictures

    def step(title: str) -> None:
        out.write(f"\n\n===== {title} =====\n")

    catalogue = load_catalogue()
    names = {row["sku"]: row["name"] for row in catalogue}
    stock = {row["sku"]: int(row["available"]) for row in catalogue}
    now = repo.utcnow()
    with open_session(engine) as session:
        for row in catalogue:
            repo.save_threshold(session, row["sku"], int(row["warning_level"]), int(row["critical_level"]),
                                None, DEMO_USER, now)
        session.commit()
    checker.write_sales("demo", sample_sales(catalogue, now.date()))
    step(f"1. {len(catalogue)} SKUs with thresholds and 35 days of sales; stock file {stock_path}; first check")
    write_stock(stock_path, stock, names)
    report = checker.run_check(now=now)
    out.write(f"\n→ posted {len(report.posted)} alerts: {', '.join(report.posted)}\n")

    step("2. Next check, nothing changed: nothing is posted twice")
    report = checker.run_check(now=now + timedelta(minutes=15))
    out.write(f"→ posted {len(report.posted)} alerts\n")

    step("3. A buyer presses Acknowledge on the LIP-NUDE-02 warning")
    with open_session(engine) as session:
        first = session.exec(select(Alert).where(Alert.sku == "LIP-NUDE-02")).first()
    checker.acknowledge(first.id, DEMO_USER, now=now + timedelta(minutes=20))

    step("4. A live stream sells LIP-NUDE-02 down to 600: escalation to CRITICAL")
    stock["LIP-NUDE-02"] = 600
    write_stock(stock_path, stock, names)
    report = checker.run_check(now=now + timedelta(minutes=30))
    out.write(f"→ posted {', '.join(report.posted)}\n")

    step("5. The buyer records a reorder of 3,000 LED strips arriving in 7 days")
    checker.record_reorder("LED-STRIP-5M", 3000, (now + timedelta(days=7)).date(), "PO-1042", DEMO_USER,
                           now=now + timedelta(minutes=35))

    step("6. The export is broken mid-write: no false OUT OF STOCK, one notice")
    with open(stock_path, "w", encoding="utf-8") as handle:
        handle.write("sku,available\nLIP-RED-01,12O0\n")
    report = checker.run_check(now=now + timedelta(minutes=45))
    out.write(f"→ posted {len(report.posted)} alerts\n")

    step("7. Stock lands: LED strips and dresses recover")
    stock.update({"LED-STRIP-5M": 3000, "连衣裙-红-XL": 480})
    write_stock(stock_path, stock, names)
    report = checker.run_check(now=now + timedelta(days=7, hours=1))
    out.write(f"\n→ recovered {report.recovered} SKUs\n")

    step("8. /threshold calc LIP-RED-01 daily 150 lead 7 safety 3d — the seed formula, with its working")
    point = fc.reorder_point(150, 7, fc.Safety(days=3))
    out.write(calc_message(language, "LIP-RED-01", point, DemandBasis(typed=True), None, None)["text"] + "\n")

    step("9. /threshold auto all — levels from the sales history, recomputed every night")
    with open_session(engine) as session:
        for row in catalogue:
            session.add(SkuPlan(sku=row["sku"], auto=True, lead_days=7))
        session.commit()
    report = checker.recompute_auto(now=now)
    with open_session(engine) as session:
        for row in catalogue:
            threshold, plan = repo.get_threshold(session, row["sku"]), repo.get_plan(session, row["sku"])
            out.write(f"{row['sku']}: warning {threshold.warning_level:,}, critical {threshold.critical_level:,} — "
                      f"{method_text(language, plan.method)}\n")
    out.write(f"→ {len(report.changed)} levels changed\n")
    out.write(f"\nDemo database kept at {db_path}\n")
    return checker


