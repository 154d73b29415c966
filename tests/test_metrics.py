"""GET /metrics: what the real app did (signed Slack requests, pushes, a check that posts alerts, a
Slack method that fails) shows up in the scrape by exactly that much.

Counters are per process and tests share a process, so every assertion is on the difference
between a scrape before and a scrape after."""

from __future__ import annotations

import json
import time
from collections import Counter
from urllib.parse import urlencode

from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, func, select

from bot.config import Settings
from bot.metrics import Scraper
from storage.db import Session, make_engine
from storage.models import Alert, OutboxEntry
from tests.conftest import ALERT_CHANNEL, SIGNING_SECRET, http, sign, write_stock
from tests.slack_server import BOT_TOKEN

PUSH_TOKEN = "push-token-planted-7c1e"
BROKEN_CHANNEL = "C0BROKEN"

Samples = dict[tuple[str, frozenset], float]


def scrape(url: str) -> Samples:
    result = http("GET", url + "/metrics")
    assert result.status == 200, result.body
    for secret in (BOT_TOKEN, SIGNING_SECRET, PUSH_TOKEN):
        assert secret not in result.body
    samples: Samples = {}
    for family in text_string_to_metric_families(result.body):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def deltas(before: Samples, after: Samples, name: str, *label_names: str) -> dict[tuple, float]:
    """The samples of `name` that changed, by the values of `label_names`."""
    changed = {}
    for (sample, labels), now in after.items():
        if sample == name and now != before.get((sample, labels), 0.0):
            found = dict(labels)
            changed[tuple(found.get(label, "") for label in label_names)] = now - before.get((sample, labels), 0.0)
    return changed


def api_calls(slack) -> Counter:
    """The Web API calls the loopback Slack received (not response_url posts or file bytes)."""
    return Counter(call.method for call in list(slack.calls) if call.path.startswith("/api/"))


def push(url: str, payload: dict, token: str) -> int:
    return http("POST", url + "/api/stock", json.dumps(payload),
                {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}).status


def command_body(bot, command: str, text: str) -> str:
    return urlencode({"token": "legacy", "team_id": "T0TEST", "channel_id": "C0WORK", "user_id": "U0BUYER",
                      "command": command, "text": text, "api_app_id": "A0STOCK",
                      "response_url": bot.slack.response_url(f"replay-{time.monotonic_ns()}"),
                      "trigger_id": "trigger-replay"})


def test_metrics_count_requests_checks_alerts_and_slack_calls(start_bot, slack, stock_file):
    bot = start_bot(stock_push_token=PUSH_TOKEN)
    before, calls_before = scrape(bot.url), api_calls(slack)

    # Slash commands (one of them checks a channel, and Slack fails that call)
    bot.ask("/threshold", "set WARN-1 1500")
    bot.ask("/threshold", "set GONE-1 1500")
    slack.failures["conversations.info"] = "internal_error"
    bot.ask("/threshold", f"set BROKEN-1 1500 channel <#{BROKEN_CHANNEL}|broken>")
    del slack.failures["conversations.info"]
    # The same signed request twice: the second is a replay, answered and ignored
    body = command_body(bot, "/threshold", "help")
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    assert http("POST", bot.url + "/slack/events", body, headers).status == 200
    assert http("POST", bot.url + "/slack/events", body, headers).status == 200
    # A bad signature
    wrong = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret="not-the-secret")}
    assert http("POST", bot.url + "/slack/events", body, wrong).status == 401
    # An event
    assert bot.event({"type": "app_home_opened", "user": "U0BUYER", "tab": "home"}).status == 200
    # Pushes: one accepted, one with the wrong token
    assert push(bot.url, {"items": [{"sku": "PUSHED-1", "available": 5}]}, PUSH_TOKEN) == 200
    assert push(bot.url, {"items": [{"sku": "PUSHED-1", "available": 5}]}, "wrong-token") == 401
    bot.settle()

    # A full check posting a WARNING and an OUT OF STOCK alert; the CRITICAL one's channel refuses it
    slack.failing_channels.add(BROKEN_CHANNEL)
    write_stock(stock_file, {"WARN-1": 1400, "GONE-1": 0, "BROKEN-1": 10})
    report = bot.checker.run_check()
    assert sorted(report.posted) == ["BROKEN-1:CRITICAL", "GONE-1:OUT OF STOCK", "WARN-1:WARNING"]
    # A button press on the WARNING alert
    with Session(bot.ctx.engine) as session:
        alert = session.exec(select(Alert).where(Alert.sku == "WARN-1")).one()
    assert bot.action("ack_restock", str(alert.id), message_ts=alert.ts).status == 200
    slack.wait_for("chat.update")
    bot.settle()
    assert bot.checker.charts is None or bot.checker.charts.wait_idle(30)

    after, calls_after = scrape(bot.url), api_calls(slack)

    assert deltas(before, after, "stockbot_requests_total", "surface", "outcome") == {
        ("command", "ok"): 4, ("command", "duplicate"): 1, ("slack", "rejected"): 1, ("event", "ok"): 1,
        ("push", "ok"): 1, ("push", "rejected"): 1, ("action", "ok"): 1}
    # Every signed Slack request was timed to its ack, all well under Slack's 3 s
    acks = {"command": 5, "event": 1, "action": 1}
    assert deltas(before, after, "stockbot_slack_ack_seconds_count", "surface") == \
        {(surface,): count for surface, count in acks.items()}
    for surface, count in acks.items():
        assert value(after, "stockbot_slack_ack_seconds_bucket", surface=surface, le="3.0") - \
            value(before, "stockbot_slack_ack_seconds_bucket", surface=surface, le="3.0") == count

    # Alerts delivered, by tier: the refused CRITICAL one is not (it waits in the outbox)
    assert deltas(before, after, "stockbot_alerts_posted_total", "tier", "kind") == {
        ("warning", "alert"): 1, ("out_of_stock", "alert"): 1}

    # Every Web API call the loopback Slack received was counted under its method, and only those
    made = calls_after - calls_before
    assert deltas(before, after, "stockbot_slack_api_calls_total", "method") == \
        {(method,): count for method, count in made.items()}
    assert deltas(before, after, "stockbot_slack_api_errors_total", "method", "error") == {
        ("conversations.info", "internal_error"): 1, ("chat.postMessage", "channel_not_found"): 1}

    # The check: one full check, timed, and the SKUs it evaluated
    assert value(after, "stockbot_checks_total", kind="full", outcome="ok") - \
        value(before, "stockbot_checks_total", kind="full", outcome="ok") == 1
    assert value(after, "stockbot_check_duration_seconds_count", kind="full") - \
        value(before, "stockbot_check_duration_seconds_count", kind="full") == 1
    assert value(after, "stockbot_check_skus_evaluated_total", kind="full") - \
        value(before, "stockbot_check_skus_evaluated_total", kind="full") == report.evaluated == 3
    assert value(after, "stockbot_last_full_check_skus_evaluated") == 3
    assert 0 <= value(after, "stockbot_last_full_check_age_seconds") < 60

    # What the database says: the refused alert waits; both sources were read just now
    with Session(bot.ctx.engine) as session:
        pending = session.exec(select(func.count()).select_from(OutboxEntry)
                               .where(col(OutboxEntry.done).is_(False))).one()
    assert pending >= 1 and value(after, "stockbot_outbox_backlog") == pending
    assert 0 < value(after, "stockbot_outbox_oldest_age_seconds") < 60
    sources = {dict(labels)["source"]: sample for (name, labels), sample in after.items()
               if name == "stockbot_source_last_success_age_seconds"}
    assert sorted(sources) == sorted([next(s for s in sources if s.endswith("stock.csv")), "push"])
    assert all(0 <= age < 60 for age in sources.values())
    assert all(len(label) <= 64 for label in sources)
    assert value(after, "stockbot_source_failing", source="push") == 0
    assert value(after, "stockbot_metrics_database_up") == 1


def test_a_failed_check_is_counted(start_bot, stock_file):
    bot = start_bot()
    stock_file.write_text("sku,available\nBAD,not-a-number\n", encoding="utf-8")
    before = scrape(bot.url)
    report = bot.checker.run_check()
    assert report.source_errors
    after = scrape(bot.url)
    assert deltas(before, after, "stockbot_checks_total", "kind", "outcome") == {("full", "source_error"): 1}
    source = next(labels for (name, labels), _ in after.items() if name == "stockbot_source_failing")
    assert value(after, "stockbot_source_failing", **dict(source)) == 1


def test_scrape_without_the_database_still_answers_with_the_process_counters(tmp_path):
    """A database that cannot be read leaves its gauges out (database_up 0); the rest is served."""
    settings = Settings(database_url=f"sqlite:///{tmp_path}/missing-dir/stockbot.db")
    scraper = Scraper(make_engine(settings.database_url), settings)
    started = time.perf_counter()
    families = {family.name: family for family in text_string_to_metric_families(scraper.scrape().decode())}
    assert time.perf_counter() - started < 2
    assert families["stockbot_metrics_database_up"].samples[0].value == 0
    assert "stockbot_outbox_backlog" not in families and "stockbot_requests" in families


def test_metrics_is_served_beside_healthz(bot):
    result = http("GET", bot.url + "/metrics")
    assert result.status == 200
    names = {family.name for family in text_string_to_metric_families(result.body)}
    assert {"stockbot_requests", "stockbot_slack_ack_seconds", "stockbot_check_duration_seconds",
            "stockbot_alerts_posted", "stockbot_slack_api_calls", "stockbot_outbox_backlog",
            "stockbot_outbox_oldest_age_seconds", "process_cpu_seconds"} <= names
    assert ALERT_CHANNEL not in result.body  # nothing about the install's channels, tokens or URLs


def test_oauth_mode_reports_each_workspaces_own_sources(oauth_bot):
    """Installed workspaces: each one's sources (its push token) by workspace; the operator's
    environment sources belong to none of them and are not reported."""
    from tests.test_workspace_config import new_push_token
    from tests.workspaces import install_workspace

    bot = oauth_bot()
    install_workspace(bot, "T1", installer="U0ANA")
    install_workspace(bot, "T2", installer="U0BEN")
    token = new_push_token(bot, "T1", "U0ANA")
    assert push(bot.url, {"items": [{"sku": "SKU1", "available": 5}]}, token) == 200
    samples = scrape(bot.url)
    reported = {dict(labels).get("workspace"): dict(labels)["source"] for name, labels in samples
                if name == "stockbot_source_last_success_age_seconds"}
    assert reported == {"T1": "push"}
    assert value(samples, "stockbot_source_failing", source="push", workspace="T1") == 0.0
