"""`stockbot backtest SALES [--lead 7] [--policies ...] [--spikes keep|exclude] [--chart out.png [--sku SKU]]`.

Replays real daily sales against the reorder policies side by side (see bot.core.backtest for
the exact rules). SALES is `online-retail` (the shipped per-SKU data set), a CSV `date,sku,units`
(or .csv.gz), or `cdnow` for the public CDNOW data set (`pip install -e '.[eval]'`), or `cdnow:N`
for it split into N customer groups. Needs no Slack, no database and no settings.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> argparse.ArgumentParser:
    from bot.core.forecast import DEFAULT_TARGET_COVER_DAYS

    parser = sub.add_parser("backtest", help="replay daily sales against reorder policies (no Slack needed)",
                            description="Replay real daily sales against reorder policies and compare fill rate, "
                                        "cycle service level, stock held, stock-out days and orders, for all SKUs, "
                                        "established and new SKUs apart, and per demand class.")
    parser.add_argument("sales", help="`online-retail` (shipped: 1,959 real SKUs), a CSV with columns date,sku,units "
                                      "(header required, .csv.gz too); or `cdnow` (pip install -e '.[eval]'), "
                                      "or `cdnow:N` (N customer groups)")
    parser.add_argument("--lead", type=int, default=7, help="lead time in days (default 7)")
    parser.add_argument("--policies", default=None,
                        help="comma-separated: seed-max, seed-avg, avg98, weighted98, p90-98, auto (the default: "
                             "all), or avg<pct>, weighted<pct>, p90-<pct>, seed-<basis>")
    parser.add_argument("--spikes", choices=("keep", "exclude"), default="keep",
                        help="exclude: one-off orders (above the SKU's previous 90-day maximum) are special orders, "
                             "not served from the shelf, and `auto` leaves them out of its reorder point")
    parser.add_argument("--warmup", type=int, default=56, help="days of history before the first simulated day (56)")
    parser.add_argument("--cover", type=int, default=DEFAULT_TARGET_COVER_DAYS,
                        help=f"orders top up to the reorder point + this many days of demand ({DEFAULT_TARGET_COVER_DAYS})")
    parser.add_argument("--chart", default=None, metavar="OUT.png",
                        help="draw the service-versus-stock frontier of the policies and one SKU's stock over time")
    parser.add_argument("--sku", default=None, help="SKU for --chart (default: the biggest seller)")
    return parser


def _fail(message: str) -> int:
    print(f"stockbot backtest: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from bot.core.backtest import DEFAULT_POLICIES, describe_run, format_groups, format_table, policy_named, run_backtest
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
            return _fail("--chart needs matplotlib: pip install matplotlib")
    try:
        sales = load_sales(args.sales)
        chart_row = sales.row(args.sku) if args.sku is not None else 0
    except FileNotFoundError:
        return _fail(f"no such file: {args.sales}")
    except (DataError, UnicodeDecodeError, OSError, EOFError) as exc:
        return _fail(str(exc))
    try:
        backtest = run_backtest(sales.units, sales.first_day, args.lead, policies, warmup=args.warmup,
                                cover=args.cover, spikes=args.spikes)
    except ValueError as exc:
        return _fail(str(exc))

    print(f"{sales.name}: {sales.rows:,} rows, {len(sales.skus):,} SKU{'' if len(sales.skus) == 1 else 's'}, "
          f"{sales.first_day}..{sales.last_day} ({sales.days} days)")
    print(describe_run(backtest, len(sales.skus)))
    print()
    if (~backtest.established).any():
        print("Established SKUs (sold in the warm-up):")
        print(format_table(backtest, backtest.established))
    else:
        print(format_table(backtest))
    print()
    print("By group (fill rate / cycle service level / stock in days of demand / orders placed):")
    print(format_groups(backtest))
    print()
    for result in backtest.results:
        print(f"  {result.policy.describe()}")
    if pyplot is not None:
        _chart(pyplot, backtest, sales.skus[chart_row], chart_row, args.chart)
        print(f"chart: {args.chart} (service against stock for each policy; on-hand units of {sales.skus[chart_row]})")
    return 0


def _chart(pyplot, backtest, sku: str, row: int, path: str) -> None:
    from datetime import timedelta

    figure, (frontier, over_time) = pyplot.subplots(1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [1, 1.4]})
    rows = backtest.established if backtest.established.any() else None
    for result in backtest.results:
        m = result.metrics(rows if rows is not None else backtest.established | True)
        if m.fill_rate is None or m.stock_days is None:
            continue
        frontier.scatter([m.stock_days], [100 * m.fill_rate], s=60, zorder=3)
        csl = m.cycle_service_level
        frontier.annotate(f"{result.policy.name}\nCSL {100 * csl:.0f}%" if csl is not None else result.policy.name,
                          (m.stock_days, 100 * m.fill_rate), textcoords="offset points", xytext=(6, -4), fontsize=8)
    frontier.set_xscale("log")
    frontier.set_xlabel("stock held, days of demand (log)")
    frontier.set_ylabel("fill rate, % of demand served")
    frontier.set_title(f"Service against stock{' (established SKUs)' if rows is not None else ''}, "
                       f"lead {backtest.lead_days} days", fontsize=10)
    frontier.grid(alpha=0.3)

    days = [backtest.first_evaluated + timedelta(days=e) for e in range(backtest.evaluated_days)]
    for result in backtest.results:
        over_time.plot(days, result.on_hand[:, row], drawstyle="steps-post", linewidth=1.1,
                       label=f"{result.policy.name} (avg {result.on_hand[:, row].mean():,.0f}, "
                             f"lost {result.lost[:, row].sum():,.0f})")
    # one policy holding ten times the others would flatten every other line: clip it, say so
    peaks = sorted(float(result.on_hand[:, row].max()) for result in backtest.results)
    typical = peaks[len(peaks) // 2]
    if typical > 0 and peaks[-1] > 3 * typical:
        over_time.set_ylim(0, 3 * typical)
        over_time.set_title(f"On-hand stock of {sku} (lines above {3 * typical:,.0f} clipped)", fontsize=10)
    else:
        over_time.set_title(f"On-hand stock of {sku}", fontsize=10)
    over_time.set_ylabel("units on hand (end of day)")
    over_time.legend(loc="upper right", fontsize="x-small")
    over_time.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
