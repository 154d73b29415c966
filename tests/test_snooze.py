"""The Snooze menu end to end: a signed block_actions with the select's choice -> the stored snooze ->
checks (explicit `now`) that hold reminders and WARNING repeats, while a worse tier still posts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.i18n import t
from storage import repo
from storage.models import SkuSnooze
from tests.conftest import write_stock
from tests.test_alert_lifecycle import _alert, block_text, thread_replies, top_posts


def choose(bot, slack, alert_id, choice: str, user: str = "U0BUYER") -> str:
    """Pick a Snooze option on an alert; returns the private reply."""
    result = bot.action("snooze", f"{alert_id}:{choice}" if alert_id is not None else choice, user=user, select=True)
    assert result.status == 200 and result.body == ""
    reply = slack.wait_for_response(result.response_key)
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    bot.settle()
    return reply["text"]


def stored_snooze(bot, sku: str = "SKU123"):
    with Session(bot.ctx.engine) as session:
        return session.get(SkuSnooze, sku)


def menu(message: dict) -> dict:
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    return next(e for e in actions[0]["elements"] if e["action_id"] == "snooze") if actions else {}


@pytest.fixture
def warned(bot, slack, stock_file):
    """SKU123 (warning 1500, critical 500) at 1,400: its WARNING alert is posted."""
    bot.ask("/threshold", "set SKU123 1500 critical 500")
    now = repo.utcnow()
    write_stock(stock_file, {"SKU123": 1400})
    assert bot.checker.run_check(now=now).posted == ["SKU123:WARNING"]
    return bot, now


def test_the_menu_offers_three_choices_with_the_alert_id(warned, slack):
    bot, _ = warned
    alert = _alert(bot, "SKU123")
    [post] = top_posts(slack)
    select = menu(post)
    assert select["type"] == "static_select" and select["placeholder"]["text"] == "💤 Snooze"
    assert [(o["text"]["text"], o["value"]) for o in select["options"]] == [
        ("1 day", f"{alert.id}:1d"), ("1 week", f"{alert.id}:1w"), ("Until it gets worse", f"{alert.id}:worse")]


def test_snooze_a_day_holds_the_warning_repeat_and_a_critical_still_posts(warned, slack, stock_file):
    bot, now = warned
    alert = _alert(bot, "SKU123")
    reply = choose(bot, slack, alert.id, "1d")
    assert reply.startswith("💤 *SKU123* snoozed until <!date^") and "CRITICAL and OUT OF STOCK still alert" in reply
    snooze = stored_snooze(bot)
    assert snooze.snoozed_by == "U0BUYER" and snooze.tier == 1 and snooze.until is not None
    assert timedelta(hours=23, minutes=59) < snooze.until - now < timedelta(days=1, minutes=1)
    # the alert says so, and still offers the menu (to choose again)
    [update] = slack.wait_for("chat.update")
    assert update["ts"] == alert.ts and "Snoozed by <@U0BUYER> until <!date^" in block_text(update)
    assert menu(update)["options"]

    write_stock(stock_file, {"SKU123": 1600})  # recovers: the episode closes, the snooze stays
    assert bot.checker.run_check(now=now + timedelta(hours=1)).recovered == 1
    assert stored_snooze(bot) is not None
    write_stock(stock_file, {"SKU123": 1300})  # drops to WARNING again: held
    assert bot.checker.run_check(now=now + timedelta(hours=2)).posted == []
    assert bot.checker.run_check(now=now + timedelta(hours=3)).posted == []
    assert len(top_posts(slack)) == 1
    shown = bot.ask("/stock", "SKU123")
    assert "its WARNING alert waits" in shown and "Snoozed by <@U0BUYER> until <!date^" in shown

    write_stock(stock_file, {"SKU123": 400})  # worse than snoozed: posts, and the snooze is over
    assert bot.checker.run_check(now=now + timedelta(hours=4)).posted == ["SKU123:CRITICAL"]
    assert stored_snooze(bot) is None
    critical = top_posts(slack)[-1]
    assert critical["text"].startswith("CRITICAL") and "Snoozed" not in block_text(critical)


def test_snooze_a_week_holds_reminders_until_it_ends(warned, slack, stock_file):
    bot, now = warned
    alert = _alert(bot, "SKU123")
    choose(bot, slack, alert.id, "1w")
    assert bot.checker.run_check(now=now + timedelta(hours=25)).reminded == 0
    assert bot.checker.run_check(now=now + timedelta(days=6, hours=23)).reminded == 0
    assert thread_replies(slack, alert.ts) == []
    updates = len(slack.of("chat.update"))
    # the week is over and the SKU is still low: the reminder goes out, the snooze line goes away
    report = bot.checker.run_check(now=now + timedelta(days=7, minutes=5))
    assert report.reminded == 1 and report.posted == []
    assert stored_snooze(bot) is None
    [reminder] = thread_replies(slack, alert.ts)
    assert "Reminder" in reminder["text"]
    later = slack.wait_for("chat.update", count=updates + 1)[-1]
    assert later["ts"] == alert.ts and "Snoozed" not in block_text(later)


def test_a_warning_held_by_a_snooze_posts_when_the_snooze_ends(warned, slack, stock_file):
    bot, now = warned
    choose(bot, slack, _alert(bot, "SKU123").id, "1d")
    write_stock(stock_file, {"SKU123": 1600})
    bot.checker.run_check(now=now + timedelta(hours=1))
    write_stock(stock_file, {"SKU123": 1400})
    assert bot.checker.run_check(now=now + timedelta(hours=2)).posted == []
    write_stock(stock_file, {"SKU123": 1234})
    # a day later, still low: the seller hears about it again, with the numbers as of then
    assert bot.checker.run_check(now=now + timedelta(days=1, minutes=5)).posted == ["SKU123:WARNING"]
    assert "1,234" in top_posts(slack)[-1]["text"] and stored_snooze(bot) is None


def test_until_it_gets_worse_lasts_until_a_worse_tier(warned, slack, stock_file):
    bot, now = warned
    alert = _alert(bot, "SKU123")
    assert "until it gets worse" in choose(bot, slack, alert.id, "worse")
    assert stored_snooze(bot).until is None
    assert "Snoozed by <@U0BUYER> until it gets worse" in block_text(slack.wait_for("chat.update")[0])
    assert bot.ask("/stock", "SKU123").count("Snoozed by <@U0BUYER> until it gets worse") == 1
    assert bot.checker.run_check(now=now + timedelta(days=30)).reminded == 0
    write_stock(stock_file, {"SKU123": 1600})
    bot.checker.run_check(now=now + timedelta(days=31))
    write_stock(stock_file, {"SKU123": 1500})
    assert bot.checker.run_check(now=now + timedelta(days=60)).posted == []
    write_stock(stock_file, {"SKU123": 0})
    assert bot.checker.run_check(now=now + timedelta(days=61)).posted == ["SKU123:OUT OF STOCK"]
    assert stored_snooze(bot) is None
    assert "Snoozed" not in bot.ask("/stock", "SKU123")
    # the new alert's reminders follow as usual
    assert bot.checker.run_check(now=now + timedelta(days=62, minutes=1)).reminded == 1


def test_snoozing_an_older_alert_takes_the_worst_tier_seen(warned, slack, stock_file):
    bot, now = warned
    warning = _alert(bot, "SKU123")
    write_stock(stock_file, {"SKU123": 300})
    assert bot.checker.run_check(now=now + timedelta(minutes=15)).posted == ["SKU123:CRITICAL"]
    choose(bot, slack, warning.id, "worse")  # from the WARNING message
    assert stored_snooze(bot).tier == 2
    # both open alerts show it
    updated = {u["ts"] for u in slack.wait_for("chat.update", count=2)}
    assert updated == {warning.ts, _alert(bot, "SKU123").ts}
    assert bot.checker.run_check(now=now + timedelta(hours=30)).reminded == 0  # the CRITICAL is not reminded
    assert stored_snooze(bot) is not None  # CRITICAL is not worse than CRITICAL


def test_choosing_again_replaces_the_snooze(warned, slack):
    bot, _ = warned
    alert = _alert(bot, "SKU123")
    choose(bot, slack, alert.id, "worse")
    choose(bot, slack, alert.id, "1d", user="U0OTHER")
    snooze = stored_snooze(bot)
    assert snooze.until is not None and snooze.snoozed_by == "U0OTHER"


@pytest.mark.parametrize("value", ["abc", "{id}:2d", "{id}:forever", "{id}", ":1d", "{id}:1d:1d", "-{id}:1d",
                                   "<!channel>:1d", ""])
def test_a_bad_choice_gets_a_friendly_reply_and_changes_nothing(warned, slack, value):
    bot, _ = warned
    alert = _alert(bot, "SKU123")
    reply = choose(bot, slack, None, value.format(id=alert.id))
    assert reply == t("en", "reply.snooze_bad")
    assert stored_snooze(bot) is None and slack.of("chat.update") == []


def test_a_select_without_a_chosen_option_changes_nothing(warned, slack):
    bot, _ = warned
    result = bot.action("snooze", "", select=True)
    assert result.status == 200
    assert slack.wait_for_response(result.response_key)["text"] == t("en", "reply.snooze_bad")
    assert stored_snooze(bot) is None


def test_an_unknown_or_recovered_alert_is_not_snoozed(warned, slack, stock_file):
    bot, now = warned
    assert choose(bot, slack, 999_999, "1d") == t("en", "reply.alert_gone")
    alert = _alert(bot, "SKU123")
    write_stock(stock_file, {"SKU123": 1600})
    bot.checker.run_check(now=now + timedelta(minutes=15))
    [resolved] = slack.wait_for("chat.update")
    assert menu(resolved) == {}  # a recovered alert has no menu
    assert choose(bot, slack, alert.id, "1w") == "*SKU123* has recovered: there is nothing to snooze. Nothing was changed."
    assert stored_snooze(bot) is None and len(slack.of("chat.update")) == 1


def test_only_admins_may_snooze(start_bot, slack, stock_file):
    bot = start_bot(threshold_admins=frozenset({"U0ADMIN"}))
    bot.ask("/threshold", "set SKU123 1500", user="U0ADMIN")
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check()
    alert = _alert(bot, "SKU123")
    assert choose(bot, slack, alert.id, "1w", user="U0BUYER").startswith("Sorry")
    assert stored_snooze(bot) is None
    assert choose(bot, slack, alert.id, "1w", user="U0ADMIN").startswith("💤")
    assert stored_snooze(bot).snoozed_by == "U0ADMIN"


def test_snooze_in_chinese(start_bot, slack, stock_file):
    bot = start_bot(language="zh")
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check()
    alert = _alert(bot, "SKU123")
    [post] = top_posts(slack)
    assert [o["text"]["text"] for o in menu(post)["options"]] == ["1 天", "1 周", "直到情况恶化"]
    assert menu(post)["placeholder"]["text"] == "💤 暂停提醒"
    assert choose(bot, slack, alert.id, "worse").startswith("💤 *SKU123* 已暂停提醒，直到情况恶化")
    assert "<@U0BUYER> 已暂停提醒，直到情况恶化" in block_text(slack.wait_for("chat.update")[0])
    assert choose(bot, slack, alert.id, "nope") == t("zh", "reply.snooze_bad")


def test_an_existing_database_gains_the_snooze_table(database_url):
    from sqlalchemy import inspect, text

    from storage.db import init_db, make_engine

    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text('DROP TABLE "snooze"'))  # as before this version
        conn.execute(text("DROP TABLE alembic_version"))  # that version had no migrations: the baseline adopts it
    init_db(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("snooze")}
    assert columns == {"sku", "until", "tier", "snoozed_by", "snoozed_at"}
    engine.dispose()
