"""Two installed workspaces, over real HTTP: T2 tries every command, button, view and push against
T1's SKUs, alert ids, rule numbers and purchase requests, and never sees or changes any of it; the
same SKU lives in both with its own levels; a check posts each workspace's alerts to its own channel
with its own token; uninstalling T2 leaves T1 untouched. (OAuth mode: tests/workspaces.py installs
the workspaces through /slack/install.)"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from bot import scheduler
from bot.i18n import t
from bot.tenancy import using_team
from storage import repo
from storage.db import Session
from storage.models import (
    Alert,
    Campaign,
    NotifyRule,
    PurchaseRequest,
    Reorder,
    SkuSnooze,
    Stock,
    Supplier,
    SupplierSku,
    Threshold,
    ThresholdChange,
)
from tests.conftest import http, write_stock
from tests.test_workspace_config import new_push_token
from tests.workspaces import install_workspace

ANA, BEN = "U0ANA", "U0BEN"  # the installers: each workspace's first admin


@pytest.fixture
def two(oauth_bot):
    bot = oauth_bot(smtp_url="smtp://127.0.0.1:9", smtp_from="stock@shop.example")
    t1 = install_workspace(bot, "T1", installer=ANA)
    t2 = install_workspace(bot, "T2", installer=BEN)
    bot.ask("/stockbot", "config alert-channel <#C0T1ALERT|alerts>", user=ANA, team_id="T1")
    bot.ask("/stockbot", "config alert-channel <#C0T2ALERT|alerts>", user=BEN, team_id="T2")
    return bot, t1, t2


def rows(bot, team: str, model) -> list:
    with using_team(team), Session(bot.ctx.engine) as session:
        return list(session.exec(select(model)).all())


def t1_state(bot) -> dict:
    """Everything of T1's a cross-workspace attempt could touch, compared before and after (once the
    outbox is delivered: a post stores its message's ts)."""
    assert bot.checker.sender.wait_idle(30)
    return {model.__name__: sorted(json.dumps(row.model_dump(), default=str, sort_keys=True)
                                   for row in rows(bot, "T1", model))
            for model in (Threshold, ThresholdChange, Stock, Alert, Reorder, SkuSnooze, Campaign, NotifyRule,
                          Supplier, SupplierSku, PurchaseRequest)}


def ask1(bot, command, text):
    return bot.ask(command, text, user=ANA, team_id="T1")


def ask2(bot, command, text):
    return bot.ask(command, text, user=BEN, team_id="T2")


def test_a_workspace_never_sees_or_changes_anothers_data(two):
    bot, t1, t2 = two
    # T1: a SKU below its level (alerted), one only T1 has, a reorder, a campaign, a rule, a supplier, a request
    ask1(bot, "/threshold", "set SKU1 100 critical 20")
    ask1(bot, "/stock", "set SKU1 5")
    ask1(bot, "/threshold", "set ONLY-T1 50")
    ask1(bot, "/stock", "set ONLY-T1 500")
    ask1(bot, "/reorder", "ONLY-T1 40 note from T1")
    start = repo.utcnow().date() + timedelta(days=30)
    assert "#" in ask1(bot, "/campaign", f"add ONLY-T1 {start} {start + timedelta(days=2)} x2 launch")
    assert "Rule #" in ask1(bot, "/notify", "add all email buyer@t1.example")
    ask1(bot, "/supplier", 'add "Zeta Trading" email buyer@acme.example lead 14')
    ask1(bot, "/supplier", 'assign "Zeta Trading" SKU1 cost 2.5')
    assert "PO" in ask1(bot, "/purchase", "batch") or rows(bot, "T1", PurchaseRequest)
    [alert] = rows(bot, "T1", Alert)
    [campaign] = rows(bot, "T1", Campaign)
    [rule] = rows(bot, "T1", NotifyRule)
    [request] = rows(bot, "T1", PurchaseRequest)
    assert alert.channel == "C0T1ALERT"
    before = t1_state(bot)

    # T2: the same SKU, its own levels and stock, nothing below them
    ask2(bot, "/threshold", "set SKU1 7 critical 3")
    ask2(bot, "/stock", "set SKU1 900")
    assert rows(bot, "T2", Alert) == []
    assert "*7*" in ask2(bot, "/threshold", "get SKU1") or "7" in ask2(bot, "/threshold", "get SKU1")
    assert "100" in ask1(bot, "/threshold", "get SKU1")

    # Every command from T2 against T1's things: not found, nothing listed, nothing changed
    assert ask2(bot, "/threshold", "get ONLY-T1") == t("en", "reply.no_threshold", sku="ONLY-T1")
    listed = ask2(bot, "/threshold", "list")
    assert "SKU1" in listed and "ONLY-T1" not in listed and "100" not in listed
    assert "ONLY-T1" not in ask2(bot, "/threshold", "history ONLY-T1").replace("*ONLY-T1*", "")
    assert "100" not in ask2(bot, "/threshold", "history SKU1")
    ask2(bot, "/threshold", "remove ONLY-T1")
    ask2(bot, "/threshold", "auto ONLY-T1")
    ask2(bot, "/threshold", "lead ONLY-T1 21")
    assert "500" not in ask2(bot, "/stock", "ONLY-T1")
    # T1's 5 units nowhere in T2's answer (its "as of" time, e.g. 03:35, is a Slack date token: left out)
    shown = re.sub(r"<!date[^>]*>", "", ask2(bot, "/stock", "SKU1"))
    assert "900" in shown and not re.search(r"(?<![\d.])5(?![\d.])", shown)
    assert "ONLY-T1" not in ask2(bot, "/reorder", "list")
    ask2(bot, "/reorder", "cancel ONLY-T1")
    assert ask2(bot, "/campaign", f"remove {campaign.id}") == t("en", "reply.campaign_not_found", id=campaign.id)
    assert "launch" not in ask2(bot, "/campaign", "list")
    assert ask2(bot, "/notify", "list") == t("en", "reply.notify_none")
    assert f"#{rule.id}" in ask2(bot, "/notify", f"remove {rule.id}") and "no rule" in ask2(bot, "/notify",
                                                                                             f"test {rule.id}")
    assert "Zeta" not in ask2(bot, "/supplier", "list")
    ask2(bot, "/supplier", 'remove "Zeta Trading"')
    assert "No supplier called `Zeta Trading`" in ask2(bot, "/supplier", 'assign "Zeta Trading" SKU1')
    assert "Nothing to order" in ask2(bot, "/purchase", "batch") or rows(bot, "T2", PurchaseRequest) == []
    assert "C0T1ALERT" not in ask2(bot, "/stockbot", "config")

    # Every button and view from T2 with T1's ids
    def press(action_id, value, select=False):
        assert bot.action(action_id, value, user=BEN, team_id="T2", channel="C0T2ALERT",
                          select=select).status == 200
        bot.settle()

    press("ack_restock", str(alert.id))
    press("mark_reordered", str(alert.id))
    press("snooze", f"{alert.id}:1w", select=True)
    press("purchase_request", str(alert.id))
    press("approve_purchase", str(request.id))
    press("reject_purchase", str(request.id))
    press("ack_digest", "1")
    press("apply_threshold", json.dumps({"sku": "ONLY-T1", "warning": 1, "critical": 0}))
    for callback, metadata, values in [
        ("reorder_modal", str(alert.id), {"quantity": {"value": {"value": "5"}}}),
        ("purchase_reject", str(request.id), {"reason": {"value": {"value": "from T2"}}}),
        ("purchase_modal", str(alert.id), {"quantity": {"value": {"value": "5"}},
                                           "supplier": {"value": {"value": "Zeta Trading"}}}),
    ]:
        assert bot.view_submission(callback, metadata, values, user=BEN, team_id="T2").status == 200
        bot.settle()
    assert bot.slack.of("views.open") == []  # no modal opened for another workspace's alert or request

    # A push with T2's token writes T2's stock only
    token = new_push_token(bot, "T2", BEN)
    pushed = http("POST", bot.url + "/api/stock", json.dumps({"items": [{"sku": "ONLY-T1", "available": 1}]}),
                  {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert pushed.status == 200
    bot.settle()

    assert t1_state(bot) == before
    assert [(s.sku, s.available) for s in rows(bot, "T2", Stock) if s.sku == "ONLY-T1"] == [("ONLY-T1", 1)]
    # The apply button set T2's own level for ONLY-T1 and the push went under it: T2's alert, in T2's channel
    assert [(a.sku, a.channel) for a in rows(bot, "T2", Alert)] == [("ONLY-T1", "C0T2ALERT")]
    # ... and T1 still works as before
    assert "100" in ask1(bot, "/threshold", "get SKU1") and "ONLY-T1" in ask1(bot, "/threshold", "list")


def test_a_check_posts_each_workspaces_alerts_to_its_channel_with_its_token(two):
    bot, t1, t2 = two
    for ask, level, stock in ((ask1, 100, 50), (ask2, 10, 4)):
        ask(bot, "/threshold", f"set SKU1 {level}")
        ask(bot, "/stock", f"set SKU1 {stock}")
    bot.slack.calls.clear()
    with using_team("T1"), Session(bot.ctx.engine) as session:  # a new reading: a worse tier in each
        repo.upsert_stock(session.connection(), [{"sku": "SKU1", "warehouse": "", "available": 0, "source": "test",
                                                 "read_at": repo.utcnow()}])
        session.commit()
    with using_team("T2"), Session(bot.ctx.engine) as session:
        repo.upsert_stock(session.connection(), [{"sku": "SKU1", "warehouse": "", "available": 0, "source": "test",
                                                 "read_at": repo.utcnow()}])
        session.commit()
    scheduler._safe_check(bot.checker)  # the scheduled job: every installed workspace, each as its own
    bot.checker.sender.drain()
    posts = [(call.params.get("channel"), call.token) for call in bot.slack.of("chat.postMessage")
             if not call.params.get("thread_ts")]
    assert ("C0T1ALERT", t1.token) in posts and ("C0T2ALERT", t2.token) in posts
    assert all((channel == "C0T1ALERT") == (token == t1.token) for channel, token in posts)
    assert {a.channel for a in rows(bot, "T1", Alert)} == {"C0T1ALERT"}
    assert {a.channel for a in rows(bot, "T2", Alert)} == {"C0T2ALERT"}


def test_uninstalling_one_workspace_leaves_the_other_untouched(two):
    bot, t1, t2 = two
    for ask in (ask1, ask2):
        ask(bot, "/threshold", "set SKU1 100")
        ask(bot, "/stock", "set SKU1 5")
    before = t1_state(bot)
    bot.slack.revoke(t2.token)
    assert bot.event({"type": "app_uninstalled"}, team_id="T2").status == 200
    bot.settle()
    assert bot.ctx.workspaces.teams() == ["T1"]
    assert t1_state(bot) == before
    assert "100" in ask1(bot, "/threshold", "get SKU1")
    scheduler._safe_check(bot.checker)  # the check goes on for T1 (T2 is no longer installed)
    assert t1_state(bot)["Alert"] == before["Alert"]


def test_the_operators_stock_file_never_reaches_an_installed_workspace(two, stock_file):
    """STOCK_SOURCE (a file or ERP query on the server) is the operator's: an installed workspace's
    stock comes from its own pushes, TikTok shop and shared files, never from the server's file."""
    bot, _, _ = two
    write_stock(stock_file, {"FILE-1": 1})
    ask1(bot, "/threshold", "set FILE-1 100")
    bot.slack.calls.clear()
    scheduler._safe_check(bot.checker)
    bot.checker.sender.drain()
    assert rows(bot, "T1", Stock) == [] and rows(bot, "T2", Stock) == []
    assert not [call for call in bot.slack.of("chat.postMessage") if "FILE-1" in call.params.get("text", "")]
    assert bot.ctx.workspaces.settings_for("T1").stock_source == ""


def test_a_workspace_without_its_alert_channel_waits_for_one_and_never_uses_the_operators(oauth_bot):
    """The environment's ALERT_CHANNEL is a channel of the operator's workspace: a newly installed
    workspace's alert waits until its admin names a channel, then posts there with its own token."""
    bot = oauth_bot()
    t3 = install_workspace(bot, "T3", installer="U0CAT")
    bot.ask("/threshold", "set SKU1 100", user="U0CAT", team_id="T3")
    bot.ask("/stock", "set SKU1 5", user="U0CAT", team_id="T3")
    scheduler._safe_check(bot.checker)
    bot.checker.sender.drain()
    assert not bot.slack.of("chat.postMessage") and rows(bot, "T3", Alert) == []
    bot.ask("/stockbot", "config alert-channel <#C0T3ALERT|alerts>", user="U0CAT", team_id="T3")
    scheduler._safe_check(bot.checker)
    bot.checker.sender.drain()
    posts = [(call.params.get("channel"), call.token) for call in bot.slack.of("chat.postMessage")]
    assert posts == [("C0T3ALERT", t3.token)]
