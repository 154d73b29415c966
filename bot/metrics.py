"""Prometheus metrics: GET /metrics on the app's HTTP server.

Two kinds, combined at scrape time:

- What happens in this process (requests, acks, checks, Slack calls, alerts delivered): counters
  and histograms in REGISTRY, one per process. Tests start many apps in one process, so these are
  registered once here and each app only adds to them (never a second registration).
- What the database says now (outbox backlog, the oldest waiting entry, each stock source's last
  good read, the last check): DatabaseCollector, one per app, read at each scrape with a few
  indexed queries that do not grow with the catalogue.

Label values are bounded and never carry secrets: surfaces and outcomes are fixed words, Slack
methods and error codes are clipped to a safe alphabet, source names are the configured ones
(file paths, `sql`, `tiktok:…`: never a URL or a token).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator, Optional
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot import logs
from bot.config import Settings

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry()
for _collector in (ProcessCollector, PlatformCollector, GCCollector):
    _collector(registry=REGISTRY)

# ---- requests --------------------------------------------------------------------------------

SLACK_SURFACES = ("command", "action", "view", "options", "shortcut", "event")
SURFACES = SLACK_SURFACES + ("slack", "push", "tiktok_webhook")  # "slack": refused before it was read
OUTCOMES = ("ok", "error", "rejected", "duplicate")

REQUESTS = Counter("stockbot_requests", "HTTP requests by surface and outcome (rejected: bad signature, "
                   "unauthorized, too large, bad input; duplicate: a replay or a Slack retry answered and ignored)",
                   ["surface", "outcome"], registry=REGISTRY)
# Slack wants its ack within 3 s; ours take tens of milliseconds: fine buckets below 300 ms.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0)
ACK_SECONDS = Histogram("stockbot_slack_ack_seconds", "Time from a Slack request's arrival to its ack response",
                        ["surface"], buckets=ACK_BUCKETS, registry=REGISTRY)

# ---- checks ----------------------------------------------------------------------------------

CHECK_KINDS = ("full", "immediate")
CHECK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
CHECK_SECONDS = Histogram("stockbot_check_duration_seconds", "Duration of a stock check (full: sources read and "
                          "every SKU evaluated; immediate: the SKUs a push, webhook or command changed)",
                          ["kind"], buckets=CHECK_BUCKETS, registry=REGISTRY)
CHECKS = Counter("stockbot_checks", "Checks by kind and outcome (ok; source_error: a stock source failed, the "
                 "others were checked; error: the check failed; busy: another check held the lock)",
                 ["kind", "outcome"], registry=REGISTRY)
SKUS_EVALUATED = Counter("stockbot_check_skus_evaluated", "SKUs a check evaluated (at or below a level, or with "
                         "an open episode)", ["kind"], registry=REGISTRY)
LAST_SKUS_EVALUATED = Gauge("stockbot_last_full_check_skus_evaluated", "SKUs the last full check in this process "
                            "evaluated", registry=REGISTRY)

# ---- Slack -----------------------------------------------------------------------------------

ALERTS_POSTED = Counter("stockbot_alerts_posted", "Alert messages delivered to Slack by the outbox sender, by "
                        "tier (kind alert: one SKU; digest: one message for many SKUs)", ["tier", "kind"],
                        registry=REGISTRY)
SLACK_CALLS = Counter("stockbot_slack_api_calls", "Slack Web API calls by method (every call, failed ones too)",
                      ["method"], registry=REGISTRY)
SLACK_ERRORS = Counter("stockbot_slack_api_errors", "Slack Web API calls that failed, by method and Slack error "
                       "code (http_NNN without one; the exception class when Slack did not answer)",
                       ["method", "error"], registry=REGISTRY)
SLACK_CALL_SECONDS = Histogram("stockbot_slack_api_call_duration_seconds", "Slack Web API call duration, "
                               "Retry-After waits included", ["method"],
                               buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0), registry=REGISTRY)

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")
LABEL_MAX = 64


def safe_label(value: str, limit: int = LABEL_MAX) -> str:
    """A label value from text Stockbot did not choose: a safe alphabet, a bounded length."""
    return _LABEL_UNSAFE.sub("_", value)[:limit] or "unknown"


def slack_call(method: str, seconds: float, error: Optional[str] = None) -> None:
    method = safe_label(method)
    SLACK_CALLS.labels(method).inc()
    SLACK_CALL_SECONDS.labels(method).observe(seconds)
    if error is not None:
        SLACK_ERRORS.labels(method, safe_label(error, 48)).inc()


def slack_error_label(exc: BaseException) -> str:
    """Slack's error code (`channel_not_found`), else the HTTP status, else the exception's class."""
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            code = response.get("error")
        except Exception:  # a body that is not JSON
            code = None
        if isinstance(code, str) and code:
            return code
        status = getattr(response, "status_code", None)
        if status:
            return f"http_{status}"
    return exc.__class__.__name__


def alert_posted(tier_word: str, kind: str) -> None:
    ALERTS_POSTED.labels(tier_word.lower().replace(" ", "_"), kind).inc()


# ---- requests: what the HTTP layer records -----------------------------------------------------

class RequestRecord:
    """One request on its way through bot.web: the surface once known, and an outcome forced by
    the handler when the status alone does not tell (a duplicate, a listener error answered 200)."""

    def __init__(self, surface: str) -> None:
        self.surface = surface
        self.outcome: Optional[str] = None
        self.status = 0


def slack_surface(body: bytes, content_type: str) -> str:
    """Which kind of Slack request a (verified) body is: a slash command, a button, a modal, ..."""
    try:
        if content_type.lower().startswith("application/json"):
            return "event"  # the Events API: event callbacks, url_verification
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=100)
        if "command" in form:
            return "command"
        payload = json.loads(form.get("payload", ["{}"])[0])
        kind = payload.get("type", "") if isinstance(payload, dict) else ""
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "slack"
    return {"block_actions": "action", "interactive_message": "action", "view_submission": "view",
            "view_closed": "view", "block_suggestion": "options", "shortcut": "shortcut",
            "message_action": "shortcut"}.get(kind, "slack")


# The request this thread is handling (bot.web), so a Bolt error handler can mark it failed.
current_request: contextvars.ContextVar[Optional[RequestRecord]] = contextvars.ContextVar(
    "stockbot_request_record", default=None)


def request_failed() -> None:
    """The request being handled failed in its listener (Bolt answered 200 with an apology)."""
    record = current_request.get()
    if record is not None:
        record.outcome = "error"


def outcome_of(record: RequestRecord) -> str:
    if record.outcome:
        return record.outcome
    if record.status >= 500 or record.status == 0:
        return "error"
    if record.status >= 400:
        return "rejected"
    return "ok"


def request_done(record: RequestRecord, started: float) -> None:
    REQUESTS.labels(record.surface, outcome_of(record)).inc()
    if record.surface in SLACK_SURFACES:  # signed, read and answered: the ack Slack waits for
        ACK_SECONDS.labels(record.surface).observe(time.perf_counter() - started)


# ---- checks --------------------------------------------------------------------------------------

@contextmanager
def timed_check(kind: str) -> Iterator[list]:
    """Time a check; the caller appends its report to the yielded list when it has one."""
    started, reports = time.perf_counter(), []
    outcome = "error"
    try:
        yield reports
        report = reports[0] if reports else None
        outcome = "source_error" if report is not None and report.source_errors else "ok"
        if report is not None:
            SKUS_EVALUATED.labels(kind).inc(report.evaluated)
            if kind == "full":
                LAST_SKUS_EVALUATED.set(report.evaluated)
    except Exception as exc:
        outcome = "busy" if exc.__class__.__name__ == "CheckBusy" else "error"
        raise
    finally:
        CHECK_SECONDS.labels(kind).observe(time.perf_counter() - started)
        CHECKS.labels(kind, outcome).inc()


# ---- what the database says, read at scrape time ---------------------------------------------------

SCRAPE_STATEMENT_TIMEOUT_MS = 1000


class DatabaseCollector:
    """The outbox backlog, the oldest waiting entry's age, each configured source's last good read
    and the last full check, read from the database at each scrape.

    Runs on the request guard's engine (its own pool, short waits: bot.slack_guard.guard_engine), so
    a scrape never queues behind a check or work after ack for a pooled connection; on Postgres the
    statements also get a statement_timeout. When the database is busy or down, the families it
    could not read are left out and stockbot_metrics_database_up is 0: a partial answer, not a hung
    scrape. Each query reads an index or a small table: the cost does not grow with SKUs.
    """

    def __init__(self, engine: Engine, settings: Settings, workspaces=None) -> None:
        """`workspaces` (bot.workspaces.Workspaces): in OAuth mode each installed workspace's sources are
        read, labelled with the workspace's team key; None or single-workspace mode: the environment's."""
        self.engine = engine
        self.settings = settings
        self.workspaces = workspaces if workspaces is not None and workspaces.oauth else None
        self._sources: Optional[list[str]] = None

    def describe(self):
        return []  # read on scrape only: registration must not touch the database

    def source_names(self) -> list[str]:
        """The sources this install is configured to read (and `push` when pushes are on)."""
        if self._sources is None:
            self._sources = configured_sources(self.settings)
        return self._sources

    def wanted_sources(self) -> dict[tuple[str, str], list[str]]:
        """(team, source name) -> the label values of each source to report. Single-workspace mode: the
        environment's sources, labelled by source; OAuth mode: each installed workspace's own (its push
        token, its TikTok shop), labelled by source and workspace. Workspace settings are cached
        (bot.workspaces.SETTINGS_FRESH_SECONDS), so a scrape reads them once per few seconds at most."""
        from bot.tenancy import SINGLE_TEAM

        if self.workspaces is None:
            return {(SINGLE_TEAM, name): [source_label(name)] for name in self.source_names()}
        wanted = {}
        for team in self.workspaces.teams():
            for name in configured_sources(self.workspaces.settings_for(team)):
                wanted[(team, name)] = [source_label(name), team]
        return wanted

    def collect(self):
        from sqlalchemy import func, select

        from bot.checker import LAST_CHECK_KEY
        from storage.models import Meta, OutboxEntry, SourceState
        from storage.scoping import ALL_TEAMS

        up = GaugeMetricFamily("stockbot_metrics_database_up", "1 when this scrape read every database-derived "
                               "metric; 0 when the database was busy or unreachable (those are left out)")
        families = []
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text(f"SET LOCAL statement_timeout = {SCRAPE_STATEMENT_TIMEOUT_MS}"))
                now = datetime.now(timezone.utc)
                # ix_outbox_pending (done, id): both read the pending entries' index range only.
                waiting = OutboxEntry.done.is_(False)
                # The process's backlog: every workspace's entries (storage.scoping.ALL_TEAMS).
                every_team = conn.execution_options(**ALL_TEAMS)
                backlog = every_team.execute(select(func.count()).select_from(OutboxEntry).where(waiting)).scalar()
                oldest = every_team.execute(select(OutboxEntry.created_at).where(waiting).order_by(OutboxEntry.id)
                                            .limit(1)).scalar()
                families.append(GaugeMetricFamily("stockbot_outbox_backlog", "Outbox entries waiting to be "
                                                  "delivered (Slack messages, e-mails, robot messages)",
                                                  value=int(backlog or 0)))
                families.append(GaugeMetricFamily("stockbot_outbox_oldest_age_seconds", "Age of the oldest entry "
                                                  "waiting in the outbox (0 when none waits)",
                                                  value=_age(now, oldest)))
                wanted = self.wanted_sources()
                labels = ["source"] if self.workspaces is None else ["source", "workspace"]
                sources = GaugeMetricFamily("stockbot_source_last_success_age_seconds", "Seconds since each "
                                            "configured stock source was last read successfully (absent: never)",
                                            labels=labels)
                failing = GaugeMetricFamily("stockbot_source_failing", "1 while a configured stock source's last "
                                            "read failed", labels=labels)
                if wanted:  # source_state has a row per source ever read, per workspace: a handful each
                    rows = every_team.execute(select(SourceState.team_id, SourceState.name,
                                                     SourceState.last_success_at, SourceState.failing)).all()
                    for team, name, last_success_at, is_failing in rows:
                        label = wanted.get((team, name))
                        if label is None:
                            continue
                        if last_success_at is not None:
                            sources.add_metric(label, _age(now, last_success_at))
                        failing.add_metric(label, 1.0 if is_failing else 0.0)
                families += [sources, failing]
                # The workspace checked longest ago (one value per workspace; ISO UTC times sort as text).
                last = every_team.execute(select(func.min(Meta.value)).where(Meta.key == LAST_CHECK_KEY)).scalar()
                if last:
                    families.append(GaugeMetricFamily("stockbot_last_full_check_age_seconds", "Seconds since the "
                                                      "last full check finished (any process on this database)",
                                                      value=_age(now, datetime.fromisoformat(last))))
            up.add_metric([], 1.0)
        except Exception as exc:  # busy, locked or down: answer with what this process knows
            log.warning("metrics: could not read the database (%s)", logs.brief(exc))
            up.add_metric([], 0.0)
        yield from families
        yield up


def configured_sources(settings: Settings) -> list[str]:
    """The stock sources `settings` read (and `push` when pushes are on)."""
    from bot.sources.registry import PUSH_SOURCE, plan_sources

    names = [source.name for source in plan_sources(settings).sources]
    if settings.stock_push_token:
        names.append(PUSH_SOURCE)
    return names


def _age(now: datetime, then: Optional[datetime]) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # stored as UTC
        then = then.replace(tzinfo=timezone.utc)
    return max((now - then).total_seconds(), 0.0)


SOURCE_LABEL_MAX = 64


def source_label(name: str) -> str:
    """A configured source's name as a label: short (a long path keeps its kind and its end)."""
    if len(name) <= SOURCE_LABEL_MAX:
        return name
    kind, _, rest = name.partition(":")
    return f"{kind}:…{rest[-(SOURCE_LABEL_MAX - len(kind) - 2):]}"


class _ProcessMetrics:
    """REGISTRY's families inside an app's registry (they are registered once per process)."""

    def describe(self):
        return []

    def collect(self):
        return REGISTRY.collect()


class Scraper:
    """One app's /metrics: this process's counters plus its database's gauges."""

    def __init__(self, engine: Engine, settings: Settings, workspaces=None) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_ProcessMetrics())
        self.registry.register(DatabaseCollector(engine, settings, workspaces))

    def scrape(self) -> bytes:
        return generate_latest(self.registry)
