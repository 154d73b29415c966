"""Thresholds from data end to end: /threshold calc|auto|lead, the Apply button, /campaign,
the nightly recompute and the outlook lines in alerts — through signed HTTP, a loopback
Slack and a real database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import func, select

from bot import messages
from bot.core import forecast as fc
from bot.core.tiers import Tier
from bot.i18n import t
from bot.scheduler import start_scheduler
from bot.sources import SalesRow
from storage import repo
from storage.db import Session
from storage.models import Campaign, SkuPlan, Threshold, ThresholdChange
from tests.conftest import ALERT_CHANNEL, write_stock


def today():
    return repo.utcnow().date()


def sell(bot, sku: str, per_day: list[int], last_day_ago: int = 1) -> None:
    """Daily sales ending `last_day_ago` days ago (1 = yesterday), oldest first, as an import stores them."""
    end = today() - timedelta(days=last_day_ago)
    rows = [SalesRow(sku, end - timedelta(days=len(per_day) - 1 - i), units) for i, units in enumerate(per_day)]
    bot.checker.write_sales("import", rows)


def calc(bot, slack, text: str, user: str = "U0BUYER") -> dict:
    """Run /threshold calc and return the reply (text and blocks) posted to response_url."""
    result = bot.command("/threshold", text, user=user)
    assert result.status == 200
    reply = slack.wait_for_response(result.response_key)
    bot.settle()
    return reply


def threshold(bot, sku: str):
    with Session(bot.ctx.engine) as session:
        return session.get(Threshold, sku)


def plan(bot, sku: str):
    with Session(bot.ctx.engine) as session:
        return session.get(SkuPlan, sku)


# ---- /threshold calc and Apply ------------------------------------------------------------------

def test_calc_seed_example_shows_working_and_apply_sets_it(bot, slack):
    reply = calc(bot, slack, "calc SKU123 daily 150 lead 7 safety 3d")
    text = reply["text"]
    assert "*SKU123* · reorder point *1,500* (critical 1,050)" in text
    assert "150/day × 7 days lead time = 1,050" in text
    assert "+ safety stock 450 (3 days of demand)" in text
    assert "= *1,500*" in text
    [button] = [b for b in reply["blocks"] if b["type"] == "actions"][0]["elements"]
    assert button["action_id"] == "apply_threshold"
    assert json.loads(button["value"]) == {"sku": "SKU123", "warning": 1500, "critical": 1050}
    assert threshold(bot, "SKU123") is None  # calc alone stores nothing

    assert "= *1,500*" in calc(bot, slack, "calc SKU123 daily 150 lead 7 safety 450")["text"]

    result = bot.action("apply_threshold", button["value"])
    assert result.status == 200
    applied = slack.wait_for("response_url", lambda p: "Applied" in p.get("text", ""))[0]
    assert applied["text"] == "✅ Applied: *SKU123* warning 1,500, critical 1,050."
    bot.settle()
    saved = threshold(bot, "SKU123")
    assert (saved.warning_level, saved.critical_level, saved.updated_by) == (1500, 1050, "U0BUYER")


def test_apply_is_refused_for_non_admins_and_for_a_tampered_value(start_bot, slack):
    bot = start_bot(threshold_admins=frozenset({"U0BOSS"}))
    value = json.dumps({"sku": "SKU123", "warning": 1500, "critical": 1050})
    bot.action("apply_threshold", value, user="U0INTERN")
    assert "only threshold admins can do that" in slack.wait_for("response_url")[0]["text"]
    bot.action("apply_threshold", json.dumps({"sku": "SKU123", "warning": 10, "critical": 99}), user="U0BOSS")
    bot.action("apply_threshold", "not json", user="U0BOSS")
    replies = slack.wait_for("response_url", count=3)
    bot.settle()
    assert all(reply["response_type"] == "ephemeral" for reply in replies)
    assert threshold(bot, "SKU123") is None


def test_calc_from_history_prices_the_service_level_and_a_new_sku_gets_a_launch_level(bot, slack, stock_file):
    # 24 selling days alternating 8 and 12 (mean 10, sample sigma sqrt(24 x 4 / 23) = 2.043), up to yesterday.
    sell(bot, "SKU123", [8, 12] * 12)
    bot.ask("/threshold", "lead SKU123 7")

    text = calc(bot, slack, "calc SKU123 basis avg service 95%")["text"]
    # 10 x 7 = 70 lead-time demand; 1.645 x 2.043 x sqrt(7) = 8.89 safety -> 78.89 -> 79
    assert "*SKU123* · reorder point *79* (critical 70)" in text
    assert "z 1.645 × σ 2.0 × √7" in text and "95% cycle service level" in text
    assert "average of 24 days of sales" in text

    # max basis: 12 a day -> 84 + 1.645 x 2.043 x 2.646 -> 92.9 -> 93
    assert "reorder point *93*" in calc(bot, slack, "calc SKU123 basis max service 95%")["text"]
    # the default, by demand class: 24 days since the first sale is a new SKU (under 28 days): a launch level,
    # its pace since the first sale (240 / 24 = 10 a day) over 2 x the lead time: 10 x 14 = 140, critical 70
    default = calc(bot, slack, "calc SKU123")["text"]
    assert "*SKU123* · reorder point *140* (critical 70)" in default
    assert "🆕 New SKU (24 days of sales): launch level from its first days" in default
    assert "Launch pace 10/day × 2 × lead 7 days = 140" in default


def test_calc_by_demand_class_reads_the_worst_stretch_and_leaves_one_off_orders_out_of_daily_demand(bot, slack):
    # 60 days: 6 units every third day, and one wholesale order of 60 on day 45 (a selling day).
    #   20 selling days in 60 -> 1 day in 3; sizes 19 x 6 and 60 (CV² 1.8): lumpy.
    #   Day 45 beats everything in the 90 days before it and 3x the median selling day (18): a one-off order.
    #   Pace, days capped at 3 x 6 = 18: (19 x 6 + 18) / 60 = 2.2 a day. The last 28 days (32..59) sold
    #   (8 x 6 + 18) / 28 = 2.357, 1.0714 x the pace, carried over (lead 7 + 7) / 28 = 0.5: trend 1.0351.
    #   Worst 14-day stretch (2 x lead 7): 5 selling days with the big one, 4 x 6 + 60 = 84.
    #   Reorder point ceil(84 x 1.0351) = 87; daily 2.2 x 1.0351 = 2.277, critical ceil(2.277 x 7) = 16.
    sell(bot, "MUG-1", [60 if i == 45 else (6 if i % 3 == 0 else 0) for i in range(60)])
    bot.ask("/threshold", "lead MUG-1 7")
    text = calc(bot, slack, "calc MUG-1")["text"]
    assert "*MUG-1* · reorder point *87* (critical 16)" in text
    assert "Demand: lumpy (sells about 1 day in 3), 60 days of sales" in text
    assert "Worst 14-day stretch (2 × lead 7) in the history: 84" in text
    assert "× 1.04: the last 4 weeks sold faster than the year" in text
    assert "Critical: 2.3/day × 7 days lead time = 16" in text
    assert "1 one-off order(s) of 60+ are left out of daily demand; the reorder point still covers a repeat" in text
    # spikes exclude: the wholesale day counts as the 6 it beat: worst stretch 5 x 6 = 30, below the pace's
    # 2.2 x 14 = 30.8: ceil(30.8 x 1.0351) = 32
    excluded = calc(bot, slack, "calc MUG-1 spikes exclude")["text"]
    assert "reorder point *32*" in excluded and "left out of daily demand and of the reorder point" in excluded
    assert "`sometimes` is not a spike setting: use `spikes keep` or `spikes exclude`" in bot.ask(
        "/threshold", "calc MUG-1 spikes sometimes")
    # auto mode stores the same level and says how it was computed
    reply = bot.ask("/threshold", "auto MUG-1")
    assert "*MUG-1*: warning 87, critical 16" in reply
    assert "worst 14-day stretch of the last 60 days of sales, lead 7 days, ×1.04 for the recent trend" in reply


def test_when_every_sales_feed_goes_quiet_the_silent_days_are_not_zero_demand(bot, slack, stock_file):
    write_stock(stock_file, {"SKU1": 500})
    bot.checker.run_check()
    sell(bot, "SKU1", [10] * 30, last_day_ago=6)  # no sales rows at all for the last 5 days, any SKU
    text = calc(bot, slack, "calc SKU1 basis avg lead 7 safety 0")["text"]
    assert "10/day × 7 days lead time = 70" in text  # not 300 / 35 = 8.6 a day
    assert "average of 30 days of sales" in text


def test_calc_without_history_or_for_an_unknown_sku_says_what_to_do(bot, slack):
    unknown = calc(bot, slack, "calc NOPE-1")
    assert unknown["text"] == t("en", "reply.unknown_sku", sku="NOPE-1") and "blocks" not in unknown
    # with demand typed, an unknown SKU is fine: its level can be set before its stock arrives
    assert "reorder point *1,500*" in calc(bot, slack, "calc NOPE-1 daily 150 lead 7 safety 3d")["text"]
    bot.ask("/threshold", "set SKU9 100")
    assert "has no sales history yet" in calc(bot, slack, "calc SKU9")["text"]
    assert "Use `safety 3d`" in calc(bot, slack, "calc SKU9 daily 10 lead 3 safety 95%")["text"]


# ---- /threshold auto, lead, and a manual set ------------------------------------------------------

def test_auto_mode_by_prefix_recomputes_and_a_manual_set_turns_it_off(bot, slack, stock_file):
    write_stock(stock_file, {"DRESS-RED": 900, "DRESS-BLUE": 900, "HAT-1": 900})
    bot.checker.run_check()
    sell(bot, "DRESS-RED", [20] * 30)
    sell(bot, "DRESS-BLUE", [5] * 30)

    reply = bot.ask("/threshold", "auto DRESS-* lead 7")
    assert "Auto thresholds on for 2 SKU(s)" in reply
    assert "*DRESS-RED*: warning 140, critical 140" in reply  # 20 x 7, sigma 0: no safety stock needed
    assert "*DRESS-BLUE*: warning 35, critical 35" in reply
    assert threshold(bot, "HAT-1") is None and plan(bot, "HAT-1") is None
    assert threshold(bot, "DRESS-RED").updated_by == "auto"
    shown = bot.ask("/threshold", "get DRESS-RED")
    assert "Last changed by Stockbot (auto)" in shown
    # 30 days at 20 a day: steady demand, so the normal formula (sigma 0: no safety stock)
    assert "🤖 Auto level: steady demand, 98% service, lead 7 days, recomputed" in shown

    listing = bot.ask("/threshold", "list DRESS-")
    assert "• *DRESS-BLUE*: warning 35, critical 35 🤖" in listing  # auto SKUs are marked in the list
    assert "• *DRESS-RED*: warning 140, critical 140 🤖" in listing

    reply = bot.ask("/threshold", "set DRESS-RED 500")
    assert "Auto mode is off for it now" in reply
    assert plan(bot, "DRESS-RED").auto is False
    assert "• *DRESS-RED*: warning 500, critical 250\n" in bot.ask("/threshold", "list DRESS-") + "\n"

    sell(bot, "DRESS-RED", [40] * 30)  # faster sales: auto would raise it, but it is manual now
    sell(bot, "DRESS-BLUE", [10] * 30)
    report = bot.checker.recompute_auto()
    assert report.changed == ["DRESS-BLUE"]
    assert threshold(bot, "DRESS-RED").warning_level == 500
    assert threshold(bot, "DRESS-BLUE").warning_level == 70

    assert "off for 1 SKU(s)" in bot.ask("/threshold", "auto off DRESS-BLUE")
    assert plan(bot, "DRESS-BLUE").auto is False


def test_auto_level_that_rises_above_stock_alerts_at_once(bot, slack, stock_file):
    write_stock(stock_file, {"SKU1": 100})
    bot.checker.run_check()
    sell(bot, "SKU1", [30] * 30)
    bot.ask("/threshold", "auto SKU1 lead 7")  # 30 x 7 = 210 > 100 available
    post = slack.wait_for("chat.postMessage", lambda p: "SKU1" in p.get("text", ""))[0]
    assert post["text"].startswith("CRITICAL") or post["text"].startswith("WARNING")
    assert "Auto level" in json.dumps(post["blocks"], ensure_ascii=False)


def test_auto_for_all_skus_and_skus_without_history_wait(bot, stock_file):
    write_stock(stock_file, {"A-1": 50, "B-1": 50})
    bot.checker.run_check()
    sell(bot, "A-1", [2] * 30)
    reply = bot.ask("/threshold", "auto all")
    assert "2 SKU(s)" in reply and "*B-1*: no sales history yet" in reply
    assert threshold(bot, "B-1") is None  # nothing to learn from: no level invented


# ---- campaigns -------------------------------------------------------------------------------

def test_campaign_inside_the_lead_window_raises_the_level_one_outside_does_not(bot, stock_file):
    write_stock(stock_file, {"SKU1": 1000})
    bot.checker.run_check()
    sell(bot, "SKU1", [10] * 30)
    bot.ask("/threshold", "auto SKU1 lead 7")
    assert threshold(bot, "SKU1").warning_level == 70

    far = today() + timedelta(days=30)
    reply = bot.ask("/campaign", f"add SKU1 {far} {far + timedelta(days=2)} x3 Year-end live")
    assert reply.startswith("📅 Campaign #") and "×3 “Year-end live”" in reply
    assert threshold(bot, "SKU1").warning_level == 70  # 30 days out: not in the 7-day lead window yet

    soon = today() + timedelta(days=3)
    bot.ask("/campaign", f"add SKU* {soon} {soon + timedelta(days=2)} x3")
    # 3 campaign days inside tomorrow..+7 at x3: +3 x 10 x 2 = 60 -> 130, before the campaign starts
    assert threshold(bot, "SKU1").warning_level == 130
    assert "campaigns: x3" in bot.ask("/threshold", "get SKU1")

    listing = bot.ask("/campaign", "list SKU1")
    assert listing.count("• #") == 2
    with Session(bot.ctx.engine) as session:
        soon_id = session.exec(select(Campaign.id).where(Campaign.target == "SKU*")).one()
    assert bot.ask("/campaign", f"remove {soon_id}").startswith("🗑️ Campaign #")
    assert threshold(bot, "SKU1").warning_level == 70  # back once the campaign is gone


# ---- the outlook in alerts ---------------------------------------------------------------------

def test_alert_shows_cover_stockout_date_suggested_reorder_and_ad_guidance(bot, slack, stock_file):
    sell(bot, "SKU123", [10] * 30)
    bot.ask("/threshold", "set SKU123 100")
    bot.ask("/threshold", "lead SKU123 7 pack 24")
    write_stock(stock_file, {"SKU123": 50})
    bot.checker.run_check()
    [post] = slack.posts(ALERT_CHANNEL, top_level=True)
    blocks = json.dumps(post["blocks"], ensure_ascii=False)
    stockout = (today() + timedelta(days=5)).isoformat()
    assert "~10/day · *5 days* of cover · runs out ≈ *" + stockout + "*" in blocks
    assert "Suggested reorder: *336*" in blocks  # 10 x (7 + 30) - 50 = 320 -> 14 cases of 24
    assert "*reorder now* — stock lasts 5 days, a reorder takes 7" in blocks

    # a reorder that lands in 10 days: the shelf is empty 5 days before it does
    bot.ask("/reorder", "SKU123 336 eta 10d")
    update = slack.wait_for("chat.update")[-1]
    assert "stock runs out 5 days before the reorder lands" in json.dumps(update["blocks"], ensure_ascii=False)


def test_stock_reply_shows_the_outlook_once_there_is_sales_history(bot, stock_file):
    write_stock(stock_file, {"SKU123": 600})
    bot.checker.run_check()
    assert "days* of cover" not in bot.ask("/stock", "SKU123")  # no sales yet: nothing to forecast
    sell(bot, "SKU123", [20] * 30)
    reply = bot.ask("/stock", "SKU123")
    stockout = (today() + timedelta(days=30)).isoformat()
    assert f"~20/day · *30 days* of cover · runs out ≈ *{stockout}*" in reply
    assert "stock supports scaling ads — 30 days of cover, over twice the 3-day lead time" in reply
    assert "Suggested reorder: *60*" in reply  # 20 x (3 + 30) - 600


def test_outlook_renders_in_chinese():
    outlook = fc.Outlook(daily=10, days_of_cover=5, stockout_date=today() + timedelta(days=5), suggested_qty=336,
                         guidance=fc.AdGuidance("slow_ads", 5), lead_days=7,
                         method="basis=avg;service=0.98;lead=7;days=30")
    view = messages.AlertView(alert_id=1, sku="SKU1", tier=Tier.WARNING, available=50, warning_level=100,
                              critical_level=50, read_at=repo.utcnow(), outlook=outlook)
    blocks = json.dumps(messages.alert_message("zh", view)["blocks"], ensure_ascii=False)
    assert "可售 *5 天*" in blocks and "建议补货：*336*" in blocks and "放缓投放" in blocks
    assert "服务水平 98%" in blocks


# ---- bad input changes nothing -------------------------------------------------------------------

@pytest.mark.parametrize("command, text, expected", [
    ("/threshold", "calc SKU1 daily 150 lead 0 safety 3d", "lead time must be at least 1 day"),
    ("/threshold", "calc SKU1 daily -5", "daily demand can't be negative"),
    ("/threshold", "calc SKU1 daily 1O0", "must be a number (e.g. `150` or `12.5`), not `1O0`"),
    ("/threshold", "calc SKU1 daily 150 safety 3x", "safety stock must be a whole number"),
    ("/threshold", "calc SKU1 service 120%", "is not a service level"),
    ("/threshold", "calc SKU1 basis median", "is not a demand basis"),
    ("/threshold", "auto", "The SKU is missing"),
    ("/threshold", "lead SKU1 0", "at least 1 day"),
    ("/campaign", "add SKU1 2020-01-01 2020-01-03 x3", "is in the past"),
    ("/campaign", "add SKU1 2099-01-01 2099-01-03 x3", "more than a year away"),
    ("/campaign", "add SKU1 {d2} {d1} x3", "ends"),
    ("/campaign", "add SKU1 {d1} {d2} x0", "x0 means no sales"),
    ("/campaign", "add SKU1 {d1} {d2} 3", "is not a multiplier"),
    ("/campaign", "add SKU1 {d1} {d2} x1", "is not a multiplier"),
    ("/campaign", "add SKU1 tomorrow {d2} x3", "is not a date"),
    ("/campaign", "remove abc", "not"),
    ("/campaign", "frob", "Unknown"),
])
def test_bad_input_gets_a_hint_and_changes_nothing(bot, command, text, expected):
    d1, d2 = today() + timedelta(days=2), today() + timedelta(days=4)
    reply = bot.ask(command, text.format(d1=d1, d2=d2))
    assert expected.lower() in reply.lower(), reply
    assert "Usage" in reply
    with Session(bot.ctx.engine) as session:
        for table in (Threshold, ThresholdChange, SkuPlan, Campaign):
            assert session.exec(select(func.count()).select_from(table)).one() == 0


def test_unknown_skus_and_campaigns_get_a_friendly_reply(bot):
    assert "No SKU matches `NOPE`" in bot.ask("/threshold", "auto NOPE")
    assert "No SKU matches `NOPE*`" in bot.ask("/threshold", "auto NOPE*")
    assert "NOPE" in bot.ask("/threshold", "lead NOPE 7")
    d1 = today() + timedelta(days=2)
    assert "No SKU matches `NOPE`" in bot.ask("/campaign", f"add NOPE {d1} {d1} x2")
    assert "There is no campaign #99" in bot.ask("/campaign", "remove 99")
    assert "No campaigns planned" in bot.ask("/campaign", "list")
    with Session(bot.ctx.engine) as session:
        for table in (SkuPlan, Campaign):
            assert session.exec(select(func.count()).select_from(table)).one() == 0


def test_campaign_and_auto_changes_are_for_admins(start_bot):
    bot = start_bot(threshold_admins=frozenset({"U0BOSS"}))
    d1 = today() + timedelta(days=2)
    assert "only threshold admins can do that" in bot.ask("/campaign", f"add all {d1} {d1} x2", user="U0INTERN")
    assert "only threshold admins can do that" in bot.ask("/threshold", "auto all", user="U0INTERN")
    assert "No campaigns planned" in bot.ask("/campaign", "list", user="U0INTERN")


def test_nightly_recompute_is_scheduled_at_the_configured_hour(start_bot):
    bot = start_bot(auto_recompute_hour=3)
    scheduler = start_scheduler(bot.checker, 900, run_now=False)
    try:
        job = scheduler.get_job("auto_thresholds")
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("3", "5")
    finally:
        scheduler.shutdown(wait=False)


# ---- demand classes and new products in alerts and /stock -------------------------------------------

def test_a_new_sku_gets_a_launch_level_and_its_alert_says_so(bot, slack, stock_file):
    write_stock(stock_file, {"CANDLE-NEW": 30, "LAMP-RED-S": 900, "LAMP-RED-M": 5})
    bot.checker.run_check()
    sell(bot, "CANDLE-NEW", [6] * 10)  # 10 days since its first sale: new, 60 / 10 = 6 a day
    bot.ask("/threshold", "lead CANDLE-NEW 5")
    reply = bot.ask("/threshold", "auto CANDLE-NEW")
    # launch level: 6 a day x 2 x lead 5 = 60, critical 6 x 5 = 30 -> 30 on hand is CRITICAL
    assert "*CANDLE-NEW*: warning 60, critical 30 — 🤖 Auto level: launch level for a new SKU (10 days of sales)" \
        in reply
    post = slack.wait_for("chat.postMessage", lambda p: "CANDLE-NEW" in p.get("text", ""))[0]
    assert "🆕 New SKU (10 days of sales): launch level from its first days" in json.dumps(post["blocks"],
                                                                                         ensure_ascii=False)

    # a new variant of a family that already sells: the family's pace when that is faster
    sell(bot, "LAMP-RED-S", [20] * 60)
    sell(bot, "LAMP-RED-M", [1] * 3)
    bot.ask("/threshold", "lead LAMP-RED-M 7")
    text = calc(bot, slack, "calc LAMP-RED-M")["text"]
    # 20 a day (the S size) x 2 x 7 = 280
    assert "*LAMP-RED-M* · reorder point *280* (critical 140)" in text
    assert "launch level from similar SKUs (same code family)" in text
    # set by hand, a new SKU's level is the person's: /stock says so
    bot.ask("/threshold", "set LAMP-RED-M 50")
    assert "🆕 New SKU (3 days of sales): level set by hand" in bot.ask("/stock", "LAMP-RED-M")


def test_stock_reply_shows_the_demand_class_and_one_off_orders(bot, stock_file):
    write_stock(stock_file, {"MUG-1": 400})
    bot.checker.run_check()
    sell(bot, "MUG-1", [60 if i == 45 else (6 if i % 3 == 0 else 0) for i in range(60)])
    reply = bot.ask("/stock", "MUG-1")
    assert "📊 Demand: lumpy, sells about 1 day in 3 · 1 one-off order(s) of 60+ left out of daily demand" in reply


def test_a_dead_sku_gets_no_reorder_point(bot, slack, stock_file):
    sell(bot, "OLD-1", [5] * 30, last_day_ago=120)  # nothing sold for 120 days
    sell(bot, "OTHER", [3] * 30)  # the sales feed itself is alive
    text = calc(bot, slack, "calc OLD-1")["text"]
    assert text == t("en", "reply.calc_dead", sku="OLD-1")
    write_stock(stock_file, {"OLD-1": 0})
    bot.checker.run_check()
    assert "💤 No sale in 90 days: reorder only if it is coming back" in bot.ask("/stock", "OLD-1")
