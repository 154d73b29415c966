"""`stockbot run | worker | check | demo | db ...`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from datetime import timedelta

from bot import backtest_cli, logs
from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("stockbot")


def _require(settings: Settings, for_what: str, *names: str) -> None:
    values = {"SLACK_BOT_TOKEN": settings.slack_bot_token, "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
              "ALERT_CHANNEL": settings.alert_channel}
    missing = [name for name in names if not values[name]]
    if missing:
        raise ConfigError(f"{', '.join(missing)} must be set for {for_what}. Copy .env.example to .env and "
                          f"fill it in (README: 'Connect to Slack'), or try `stockbot demo`.")


def _stop_on_sigterm() -> None:
    """SIGTERM (a platform stopping the process) ends it cleanly: the lease is released on the way out."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _lead(ctx, settings: Settings):
    """Take part in the scheduler lease (bot/leader.py): one process of several runs the scheduled work."""
    from bot.leader import Leadership

    ctx.leadership = Leadership(ctx.engine, ttl=timedelta(seconds=settings.check_interval_seconds)).start()
    return ctx.leadership


def _start_sender(ctx) -> None:
    """The outbox sender (bot/sender.py) sends only in the process that holds the lease; a web
    process without a scheduler (RUN_SCHEDULER=false) writes to the outbox and leaves the
    sending to the worker that leads."""
    leadership = ctx.leadership
    ctx.checker.sender.may_send = leadership.is_leader if leadership is not None else (lambda: False)
    ctx.checker.sender.start()


def cmd_run(settings: Settings) -> None:
    from bot.app import build_app
    from bot.leader import single_process_lock
    from bot.scheduler import start_scheduler
    from bot.web import create_server, make_wsgi_app

    if settings.oauth_mode:
        # Installs arrive over HTTP (/slack/install, /slack/oauth_redirect): no Socket Mode here.
        if settings.socket_mode:
            raise ConfigError("SLACK_APP_TOKEN (Socket Mode) works with SLACK_BOT_TOKEN only: installing to many "
                              "workspaces (SLACK_CLIENT_ID ...) needs a public URL for /slack/oauth_redirect")
        _require(settings, "stockbot run", "SLACK_SIGNING_SECRET")
    else:
        _require(settings, "stockbot run", "SLACK_BOT_TOKEN",
                 *(() if settings.socket_mode else ("SLACK_SIGNING_SECRET",)))
    # SQLite is for one process: a second scheduler on the same file stops here (exit 2).
    process_lock = single_process_lock(settings.database_url) if settings.run_scheduler else None
    app, ctx = build_app(settings)
    scheduler = None
    if settings.run_scheduler:
        scheduler = start_scheduler(ctx.checker, settings.check_interval_seconds, leadership=_lead(ctx, settings))
    _start_sender(ctx)
    server = create_server(make_wsgi_app(ctx, None if settings.socket_mode else app), settings.port)
    _stop_on_sigterm()
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            # Socket Mode: Slack connects out over a websocket, no public URL needed; /healthz stays on PORT.
            threading.Thread(target=server.run, daemon=True, name="healthz").start()
            log.info("Socket Mode; health check on port %s", server.effective_port)
            SocketModeHandler(app, settings.slack_app_token).start()
        else:
            log.info("listening on port %s: POST /slack/events, GET /healthz, GET /metrics%s", server.effective_port,
                     ", GET /slack/install" if settings.oauth_mode else "")
            server.run()
    finally:
        if scheduler:
            scheduler.shutdown(wait=False)
        if ctx.leadership:
            ctx.leadership.release()  # a follower takes over at its next heartbeat
        if process_lock:
            process_lock.close()


def cmd_worker(settings: Settings) -> None:
    from bot.app import build_context
    from bot.leader import single_process_lock
    from bot.scheduler import start_scheduler

    _require(settings, "stockbot worker", "SLACK_BOT_TOKEN")
    process_lock = single_process_lock(settings.database_url)
    ctx = build_context(settings)
    scheduler = start_scheduler(ctx.checker, settings.check_interval_seconds, leadership=_lead(ctx, settings))
    _start_sender(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    scheduler.shutdown()
    ctx.leadership.release()
    if process_lock:
        process_lock.close()


CHART_WAIT_SECONDS = 300


def cmd_check(settings: Settings, dry_run: bool = False, force: bool = False) -> int:
    from bot.app import build_context

    if dry_run:  # no Slack token needed, nothing sent or stored
        from bot.dry_run import dry_run as print_dry_run
        from storage.db import init_db, make_engine

        engine = make_engine(settings.database_url)
        init_db(engine, auto_migrate=settings.auto_migrate)
        return print_dry_run(settings, engine, sys.stdout)

    from bot.leader import CheckBusy, current_lease
    from storage.repo import utcnow

    _require(settings, "stockbot check", "SLACK_BOT_TOKEN")
    ctx = build_context(settings)
    checker = ctx.checker
    lease = None if force else current_lease(ctx.engine)
    if lease is not None and lease.live(utcnow()):
        # A running scheduler checks on its own; a cron check beside it would only repeat its work.
        print(f"stockbot check: skipped: the scheduler in {lease.holder} runs the checks (its lease runs to "
              f"{lease.expires_at:%H:%M:%S} UTC). `stockbot check --force` checks here anyway.")
        return 0
    try:
        report = checker.run_check()
    except CheckBusy as exc:
        print(f"stockbot check: not checked: {exc}; try again later", file=sys.stderr)
        return 1
    if not checker.sender.drain(CHART_WAIT_SECONDS):  # Slack is slow or refusing: the next run sends the rest
        print(f"some Slack messages were not delivered within {CHART_WAIT_SECONDS} s; they wait in the outbox "
              f"for the next run", file=sys.stderr)
    if checker.charts is not None and not checker.charts.wait_idle(CHART_WAIT_SECONDS):  # the process ends next
        print(f"some stock charts were not posted within {CHART_WAIT_SECONDS} s", file=sys.stderr)
    print(f"checked: {report.evaluated} SKUs at or below their levels; posted {len(report.posted)} alerts"
          f"{' (' + ', '.join(report.posted[:20]) + ')' if report.posted else ''}; "
          f"reminded {report.reminded}; recovered {report.recovered}")
    for error in report.source_errors:
        print(f"stock source failed: {error}", file=sys.stderr)
    return 1 if report.source_errors else 0


def cmd_import_sales(settings: Settings, path: str) -> int:
    """Sales history from an export file; no Slack needed. Exit 1 when the file cannot be read."""
    from bot.app import build_context
    from bot.imports import SALES, import_path

    outcome = import_path(build_context(settings).checker, path, SALES)
    if outcome.error:
        print(f"stockbot import-sales: {outcome.error}. Nothing was stored.", file=sys.stderr)
        return 1
    print(f"{outcome.file_name}: {outcome.rows_read} {outcome.unit}s read, {outcome.stored} daily totals stored "
          f"for {outcome.skus} SKUs, {len(outcome.rejected)} rejected")
    for number, reason in outcome.rejected:
        print(f"  {outcome.unit} {number}: {reason}")
    if outcome.unknown_headers:
        print(f"  columns not used: {', '.join(outcome.unknown_headers)}")
    return 0


def cmd_db(settings: Settings, action: str, steps: int = -1) -> int:
    """`stockbot db upgrade | current | downgrade -1`: the schema migrations (storage/schema.py) by hand."""
    from sqlalchemy.exc import OperationalError

    from storage.db import make_engine

    if action == "downgrade" and steps != -1:  # one step at a time: each is a decision (what it drops is gone)
        print("stockbot db downgrade: only `-1` (one revision back) is supported; repeat it to go further",
              file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        return _db_action(engine, action)
    except OperationalError as exc:  # the driver's first line names host and port, never the password
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"stockbot db {action}: cannot use the database: {reason}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _db_action(engine, action: str) -> int:
    from storage import schema

    if action == "upgrade":
        upgrade = schema.migrate_to_head(engine)
        if upgrade.created:
            print(f"database created at {upgrade.after} (head)")
        elif upgrade.changed:
            print(f"database upgraded from {schema.describe(upgrade.before)} to {upgrade.after} (head)")
        else:
            print(f"database already at {upgrade.after} (head): nothing to do")
        return 0
    if action == "current":
        current, head = schema.stored_revision(engine), schema.head_revision()
        if current == head:
            print(f"{current} (head)")
        else:
            print(f"{schema.describe(current)}; this release's head is {head}: {schema.UPGRADE_HINT}")
        return 0
    before, after = schema.downgrade_one(engine)
    print(f"database downgraded from {before} to {after}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stockbot", description="Warns in Slack before SKUs run out of stock.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="serve Slack (HTTP on $PORT, or Socket Mode) and run the scheduler")
    sub.add_parser("worker", help="run the scheduled checks only (split deployments)")
    check = sub.add_parser("check", help="run one check now, then exit (for cron)")
    check.add_argument("--dry-run", action="store_true",
                       help="read the stock sources and print what would be posted; no Slack token needed, "
                            "nothing is sent or stored")
    check.add_argument("--force", action="store_true",
                       help="check even while a running scheduler holds the lease (it skips otherwise)")
    sales = sub.add_parser("import-sales", help="import daily sales history from a CSV/XLSX export")
    sales.add_argument("file", help="columns sku, date, units[, warehouse] (STOCK_COLUMNS maps other headers)")
    demo = sub.add_parser("demo", help="no Slack needed: sample catalogue, checks, alerts printed here")
    demo.add_argument("--lang", choices=["en", "zh"], default=None, help="message language (default STOCKBOT_LANG)")
    demo.add_argument("--dir", default=None, help="folder for the demo database and stock file")
    db = sub.add_parser("db", help="database schema: upgrade | current | downgrade -1 (README: 'Upgrading')")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="upgrade the database to this release's schema (back it up first)")
    db_sub.add_parser("current", help="print the database's schema revision and whether it is this release's")
    downgrade = db_sub.add_parser("downgrade", help="undo the last schema revision (`-1`); refused at the baseline")
    downgrade.add_argument("steps", type=int, help="-1: one revision back")
    backtest_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "backtest":  # no settings, Slack or database needed
        return backtest_cli.run(args)
    from storage.schema import DowngradeRefused, SchemaMismatch

    logs.configure()  # plain, until the settings say otherwise
    try:
        settings = load_settings()
        # LOG_FORMAT, and the configured secrets masked in every line (bot/logs.py).
        logs.configure(settings.log_format, logs.configured_secrets(settings))
        if args.command == "demo":
            from bot.demo import run_demo

            logging.getLogger().setLevel(logging.ERROR)  # the demo's output is the messages themselves
            run_demo(sys.stdout, args.lang or settings.language, args.dir)
            return 0
        if args.command == "run":
            cmd_run(settings)
        elif args.command == "worker":
            cmd_worker(settings)
        elif args.command == "check":
            return cmd_check(settings, args.dry_run, args.force)
        elif args.command == "import-sales":
            return cmd_import_sales(settings, args.file)
        elif args.command == "db":
            return cmd_db(settings, args.db_command, getattr(args, "steps", -1))
    except (ConfigError, SchemaMismatch, DowngradeRefused) as exc:
        print(f"stockbot: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
