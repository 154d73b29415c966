"""`stockbot backtest SALES.csv [--lead 7] [--policies ...] [--chart out.png [--sku SKU]]`.

Replays real daily sales against the reorder policies side by side (see bot.core.backtest for
the exact rules). SALES is a CSV `date,sku,units`, or `cdnow` for the public CDNOW data set
(`pip install -e '.[eval]'`), or `cdnow:N` for it split into N customer groups. Needs no
Slack, no database and no settings.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> argparse.ArgumentParser:
    from bot.core.forecast import DEFAULT_HISTORY_DAYS, DEFAULT_TARGET_COVER_DAYS

    parser = sub.add_parser("backtest", help="replay daily sales against reorder policies (no Slack needed)",
                            description="Replay real daily sales against reorder policies and compare cycle "
                                        "service level, fill rate, stock-out days, average stock and orders.")
    parser.add_argument("sales", help="CSV with columns date,sku,units (header required); or `cdnow` "
                                      "(CDNOW data set, pip install -e '.[eval]'), or `cdnow:N` (N customer groups)")
    parser.add_argument("--lead", type=int, default=7, help="lead time in days (default 7)")
    parser.add_argument("--policies", default=None,
                        help="comma-separated: seed-max, seed-avg, auto95, auto98, weighted98 (the default: all), "
                             "or auto<pct>, weighted<pct>, p90-<pct>, seed-<basis>")
    parser.add_argument("--warmup", type=int, default=56, help="days of history before the first simulated day (56)")
    parser.add_argument("--history", type=int, default=DEFAULT_HISTORY_DAYS,
                        help=f"trailing days each nightly recompute uses ({DEFAULT_HISTORY_DAYS})")
    parser.add_argument("--cover", type=int, default=DEFAULT_TARGET_COVER_DAYS,
                        help=f"orders top up to lead + this many days of demand ({DEFAULT_TARGET_COVER_DAYS})")
    parser.add_argument("--chart", default=None, metavar="OUT.png", help="draw on-hand stock over time (matplotlib)")
    parser.add_argument("--sku", default=None, help="SKU for --chart (default: the biggest seller)")
    return parser


def _fail(message: str) -> int:
    print(f"stockbot backtest: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from bot.core.backtest import DEFAULT_POLICIES, describe_run, format_table, policy_named, run_backtest
    from bot.datasets import DataError, load_sales

    try:
        policies = [policy_named(name) for name in (args.policies.split(",") if args.policies else DEFAULT_POLICIES)
                    if name.strip()]
    except ValueError as exc:
        return _fail(str(exc))
    if args.lead < 1:
        return _fail("--lead must be at least 1 day")
    pyplot = None
    if args.chart:
        try:
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib import pyplot
        except ImportError:
            return _fail("--chart needs matplotlib: pip install -e '.[eval]' (or pip install matplotlib)")
    try:
        sales = load_sales(args.sales)
        chart_row = sales.row(args.sku) if args.sku is not None else 0
    except FileNotFoundError:
        return _fail(f"no such file: {args.sales}")
    except (DataError, UnicodeDecodeError, OSError) as exc:
        return _fail(str(exc))
    try:
        backtest = run_backtest(sales.units, sales.first_day, args.lead, policies, warmup=args.warmup,
                                history=args.history, cover=args.cover)
    except ValueError as exc:
        return _fail(str(exc))

    print(f"{sales.name}: {sales.rows:,} rows, {len(sales.skus):,} SKU{'' if len(sales.skus) == 1 else 's'}, "
          f"{sales.first_day}..{sales.last_day} ({sales.days} days)")
    print(describe_run(backtest, len(sales.skus)))
    print()
    print(format_table(backtest))
    print()
    for result in backtest.results:
        print(f"  {result.policy.describe()}")
    if pyplot is not None:
        _chart(pyplot, backtest, sales.skus[chart_row], chart_row, args.chart)
        print(f"chart: {args.chart} (on-hand units of {sales.skus[chart_row]})")
    return 0


def _chart(pyplot, backtest, sku: str, row: int, path: str) -> None:
    from datetime import timedelta

    days = [backtest.first_evaluated + timedelta(days=e) for e in range(backtest.evaluated_days)]
    figure, axes = pyplot.subplots(figsize=(11, 5))
    for result in backtest.results:
        axes.plot(days, result.on_hand[:, row], drawstyle="steps-post", linewidth=1.2,
                  label=f"{result.policy.name} (avg {result.on_hand[:, row].mean():,.0f})")
    axes.set_title(f"On-hand stock, {sku}: lead {backtest.lead_days} days")
    axes.set_ylabel("units on hand (end of day)")
    axes.legend(loc="upper right", fontsize="small")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
