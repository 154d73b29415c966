"""/threshold set | get | list | remove | history | help, driven through signed Slack requests.

Results are read from the replies the loopback Slack received and from the real database.
"""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from storage import repo
from storage.db import Session
from storage.models import Alert, Threshold, ThresholdChange
from tests.conftest import ALERT_CHANNEL, write_stock


def thresholds(bot) -> dict[str, Threshold]:
    with Session(bot.ctx.engine) as session:
        return {row.sku: row for row in session.exec(select(Threshold)).all()}


def changes(bot, sku: str) -> list[ThresholdChange]:
    with Session(bot.ctx.engine) as session:
        return list(session.exec(select(ThresholdChange).where(ThresholdChange.sku == sku)
                                 .order_by(col(ThresholdChange.id))).all())


def bullet_lines(reply: str) -> list[str]:
    return [line for line in reply.splitlines() if line.startswith("• ")]


# ---- set ---------------------------------------------------------------------------------

@pytest.mark.parametrize("warning, critical, shown_warning, shown_critical", [
    (1500, 750, "1,500", "750"),
    (1501, 750, "1,501", "750"),  # half, rounded down
    (3, 1, "3", "1"),
    (1, 0, "1", "0"),
])
def test_set_defaults_critical_to_half_rounded_down(bot, warning, critical, shown_warning, shown_critical):
    reply = bot.ask("/threshold", f"set SKU123 {warning}")

    assert reply == (f"✅ *SKU123*: warning at {shown_warning}, critical at {shown_critical}, "
                     "alerts to the default alert channel.")
    stored = thresholds(bot)["SKU123"]
    assert (stored.warning_level, stored.critical_level, stored.channel) == (warning, critical, None)
    assert stored.updated_by == "U0BUYER"
    [change] = changes(bot, "SKU123")
    assert (change.action, change.changed_by, change.old_warning, change.new_warning, change.new_critical) == \
        ("set", "U0BUYER", None, warning, critical)


def test_set_accepts_thousands_separator(bot):
    reply = bot.ask("/threshold", "set SKU123 1,500")
    assert "1,500" in reply and "750" in reply
    assert thresholds(bot)["SKU123"].warning_level == 1500


def test_set_with_critical_and_escaped_channel_sends_alerts_there(bot, slack, stock_file):
    reply = bot.ask("/threshold", "set SKU123 1500 critical 300 channel <#C0123ABC|stock-alerts>")

    assert reply == "✅ *SKU123*: warning at 1,500, critical at 300, alerts to <#C0123ABC>."
    stored = thresholds(bot)["SKU123"]
    assert (stored.warning_level, stored.critical_level, stored.channel) == (1500, 300, "C0123ABC")

    write_stock(stock_file, {"SKU123": 1400, "OTHER": 10})
    bot.checker.run_check()
    [alert] = slack.posts("C0123ABC", top_level=True)
    assert "WARNING" in alert["text"] and "SKU123" in alert["text"] and "1,400" in alert["text"]
    assert slack.posts(ALERT_CHANNEL, top_level=True) == []  # OTHER has no threshold, SKU123 went elsewhere


def test_critical_equal_to_warning_is_allowed(bot):
    bot.ask("/threshold", "set SKU123 500 critical 500")
    stored = thresholds(bot)["SKU123"]
    assert (stored.warning_level, stored.critical_level) == (500, 500)


def test_changing_levels_keeps_the_channel_and_shows_the_old_values(bot):
    bot.ask("/threshold", "set SKU123 1500 channel <#C0123ABC|stock-alerts>")
    reply = bot.ask("/threshold", "set SKU123 2000 critical 400", user="U0OTHER")

    assert reply == ("✅ *SKU123*: warning at 2,000, critical at 400, alerts to <#C0123ABC>.\n"
                     "Before: warning 1,500, critical 750.")
    stored = thresholds(bot)["SKU123"]
    assert (stored.warning_level, stored.critical_level, stored.channel, stored.updated_by) == \
        (2000, 400, "C0123ABC", "U0OTHER")
    assert len(thresholds(bot)) == 1


def test_set_alerts_at_once_when_stock_is_already_below(bot, slack, stock_file):
    write_stock(stock_file, {"SKU123": 100})
    bot.checker.run_check()  # loads the stock; no threshold yet, so no alert
    assert slack.posts(ALERT_CHANNEL) == []

    bot.ask("/threshold", "set SKU123 1500")

    [post] = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == ALERT_CHANNEL)
    assert "CRITICAL" in post["text"] and "SKU123" in post["text"] and "100" in post["text"]


# ---- SKUs: unicode, case, length ---------------------------------------------------------

def test_skus_are_case_preserving_and_unicode(bot):
    bot.ask("/threshold", "set SKU123 200")
    bot.ask("/threshold", "set sku123 100")
    reply = bot.ask("/threshold", "set 连衣裙-红-XL 300")

    assert reply == "✅ *连衣裙-红-XL*: warning at 300, critical at 150, alerts to the default alert channel."
    stored = thresholds(bot)
    assert {sku: row.warning_level for sku, row in stored.items()} == \
        {"SKU123": 200, "sku123": 100, "连衣裙-红-XL": 300}
    assert bot.ask("/threshold", "get sku123").startswith("*sku123*: warning at 100, critical at 50")
    assert bot.ask("/threshold", "get SKU123").startswith("*SKU123*: warning at 200, critical at 100")
    assert bot.ask("/threshold", "get 连衣裙-红-XL").startswith("*连衣裙-红-XL*: warning at 300, critical at 150")
    assert bot.ask("/threshold", "get Sku123") == \
        "No threshold is set for *Sku123*. Set one with `/threshold set Sku123 1500`."


@pytest.mark.parametrize("sku", ["A" * 64, "库" * 64], ids=["ascii-64", "unicode-64"])
def test_sku_of_64_characters_is_accepted(bot, sku):
    bot.ask("/threshold", f"set {sku} 10")
    assert list(thresholds(bot)) == [sku]
    assert thresholds(bot)[sku].warning_level == 10


# ---- get ---------------------------------------------------------------------------------

def test_get_shows_levels_channel_and_who_changed_it(bot):
    bot.ask("/threshold", "set SKU123 1500 critical 600 channel <#C0123ABC|stock-alerts>", user="U0ALICE")
    reply = bot.ask("/threshold", "get SKU123", user="U0BOB")

    first, second, third = reply.split("\n")
    assert first == "*SKU123*: warning at 1,500, critical at 600, alerts to <#C0123ABC>."
    assert second.startswith("Last changed by <@U0ALICE> <!date^")
    assert third == "✍️ Set by hand (`/threshold calc SKU123` shows what sales suggest)"


def test_get_unknown_sku_is_a_friendly_reply(bot):
    assert bot.ask("/threshold", "get NOPE-1") == \
        "No threshold is set for *NOPE-1*. Set one with `/threshold set NOPE-1 1500`."


# ---- list --------------------------------------------------------------------------------

def insert_thresholds(bot, skus) -> None:
    now = repo.utcnow()
    with Session(bot.ctx.engine) as session:
        session.add_all([Threshold(sku=sku, warning_level=1000 + i, critical_level=500, updated_by="U0SEED",
                                   updated_at=now) for i, sku in enumerate(skus)])
        session.commit()


def test_list_pages_through_thousands_of_skus(bot):
    skus = [f"SKU-{n:04d}" for n in range(3000)]
    insert_thresholds(bot, skus)

    first = bot.ask("/threshold", "list")
    lines = first.splitlines()
    assert lines[0] == "*Thresholds* — 3,000 SKUs, page 1 of 120"
    rows = bullet_lines(first)
    assert len(rows) == 25
    assert rows[0] == "• *SKU-0000*: warning 1,000, critical 500"
    assert rows[24] == "• *SKU-0024*: warning 1,024, critical 500"
    assert lines[-1] == "Next page: `/threshold list page 2`"

    second = bot.ask("/threshold", "list page 2")
    assert second.splitlines()[0] == "*Thresholds* — 3,000 SKUs, page 2 of 120"
    assert bullet_lines(second)[0].startswith("• *SKU-0025*:")

    last = bot.ask("/threshold", "list page 120")
    assert last.splitlines()[0] == "*Thresholds* — 3,000 SKUs, page 120 of 120"
    rows = bullet_lines(last)
    assert [row.split("*")[1] for row in rows] == skus[-25:]
    assert "Next page" not in last

    assert bot.ask("/threshold", "list page 121") == "There is no page 121: the list has 120 page(s)."
    assert bot.ask("/threshold", "list page 100000") == "There is no page 100000: the list has 120 page(s)."


def test_list_with_prefix_filters_and_pages(bot):
    insert_thresholds(bot, [f"SKU-{n:04d}" for n in range(3000)] + ["OTHER-1", "SKU_0100"])

    first = bot.ask("/threshold", "list SKU-01")
    assert first.splitlines()[0] == "*Thresholds starting with `SKU-01`* — 100 SKUs, page 1 of 4"
    assert [row.split("*")[1] for row in bullet_lines(first)] == [f"SKU-{n:04d}" for n in range(100, 125)]
    assert first.splitlines()[-1] == "Next page: `/threshold list SKU-01 page 2`"

    last = bot.ask("/threshold", "list SKU-01 page 4")
    assert [row.split("*")[1] for row in bullet_lines(last)] == [f"SKU-{n:04d}" for n in range(175, 200)]
    assert "Next page" not in last

    # `_` and `-` are literal characters in a prefix, not LIKE wildcards.
    underscore = bot.ask("/threshold", "list SKU_")
    assert underscore.splitlines()[0] == "*Thresholds starting with `SKU_`* — 1 SKUs, page 1 of 1"
    assert bullet_lines(underscore) == ["• *SKU_0100*: warning 4,001, critical 500"]

    assert bot.ask("/threshold", "list NOPE") == \
        "No thresholds starting with `NOPE` yet. Set one with `/threshold set SKU123 1500`."


def test_list_prefix_is_case_sensitive(bot):
    insert_thresholds(bot, ["SKU-A1", "sku-b1", "Sku-c1"])

    upper = bot.ask("/threshold", "list SKU")
    assert [row.split("*")[1] for row in bullet_lines(upper)] == ["SKU-A1"]
    assert "— 1 SKUs" in upper.splitlines()[0]
    lower = bot.ask("/threshold", "list sku")
    assert [row.split("*")[1] for row in bullet_lines(lower)] == ["sku-b1"]


def test_list_shows_the_channel_and_empty_list(bot):
    assert bot.ask("/threshold", "list") == "No thresholds yet. Set one with `/threshold set SKU123 1500`."
    bot.ask("/threshold", "set SKU123 1500 channel <#C0123ABC|stock-alerts>")
    assert bullet_lines(bot.ask("/threshold", "list")) == ["• *SKU123*: warning 1,500, critical 750 → <#C0123ABC>"]


# ---- remove ------------------------------------------------------------------------------

def test_remove_deletes_and_stops_alerts(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    reply = bot.ask("/threshold", "remove SKU123")

    assert reply == ("🗑️ Threshold for *SKU123* removed (was warning 1,500, critical 750). "
                     "No more alerts for it.")
    assert thresholds(bot) == {}
    removal = changes(bot, "SKU123")[-1]
    assert (removal.action, removal.old_warning, removal.old_critical, removal.new_warning) == \
        ("remove", 1500, 750, None)

    write_stock(stock_file, {"SKU123": 0})
    bot.checker.run_check()
    assert slack.posts(ALERT_CHANNEL) == []

    assert bot.ask("/threshold", "remove SKU123") == \
        "No threshold is set for *SKU123*. Set one with `/threshold set SKU123 1500`."
    assert len(changes(bot, "SKU123")) == 2  # a no-op remove records nothing


def test_remove_closes_an_open_alert_episode_without_posting(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check()
    assert len(slack.posts(ALERT_CHANNEL, top_level=True)) == 1

    bot.ask("/threshold", "remove SKU123")
    posts_before = len(slack.of("chat.postMessage"))
    bot.ask("/threshold", "set SKU123 1500")  # re-added: a new episode starts, so one new alert
    slack.wait_for("chat.postMessage", count=posts_before + 1)
    with Session(bot.ctx.engine) as session:
        assert len(session.exec(select(Alert).where(Alert.sku == "SKU123")).all()) == 2


# ---- history -----------------------------------------------------------------------------

def test_history_lists_who_changed_what_newest_first(bot):
    bot.ask("/threshold", "set SKU123 1500", user="U0ALICE")
    bot.ask("/threshold", "set SKU123 2000 critical 500 channel <#C0123ABC|stock-alerts>", user="U0BOB")
    bot.ask("/threshold", "remove SKU123", user="U0CAROL")
    bot.ask("/threshold", "set OTHER 10", user="U0ALICE")

    reply = bot.ask("/threshold", "history SKU123", user="U0DAVE")
    lines = reply.splitlines()

    assert lines[0] == "*History of SKU123* (newest first)"
    assert len(lines) == 4
    # Each line: "• <!date^…|2026-… UTC> <@user>: …"
    assert all(line.startswith("• <!date^") for line in lines[1:])
    assert lines[1].endswith("<@U0CAROL>: removed (was warning 2,000, critical 500)")
    assert lines[2].endswith("<@U0BOB>: warning 1,500 → 2,000, critical 750 → 500, "
                             "channel the default alert channel → <#C0123ABC>")
    assert lines[3].endswith("<@U0ALICE>: warning – → 1,500, critical – → 750")


def test_history_of_an_unknown_sku(bot):
    assert bot.ask("/threshold", "history NOPE") == "No changes recorded for *NOPE*."


# ---- help --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "help", "HELP", "   "])
def test_help_is_answered_in_the_ack(bot, text):
    result = bot.command("/threshold", text)
    assert result.status == 200
    body = result.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("*Usage:*\n`/threshold set SKU123 1500`")
    assert "`/threshold remove SKU123` · `/threshold history SKU123`" in body["text"]
    assert thresholds(bot) == {}


# ---- permissions -------------------------------------------------------------------------

REFUSAL = "Sorry, only threshold admins can do that here. Ask one of: <@U0ADMIN>."


@pytest.fixture
def admin_bot(start_bot):
    return start_bot(threshold_admins=frozenset({"U0ADMIN"}))


def test_admins_can_set_and_remove(admin_bot):
    assert admin_bot.ask("/threshold", "set SKU123 1500", user="U0ADMIN").startswith("✅ *SKU123*")
    assert thresholds(admin_bot)["SKU123"].updated_by == "U0ADMIN"
    assert admin_bot.ask("/threshold", "remove SKU123", user="U0ADMIN").startswith("🗑️")
    assert thresholds(admin_bot) == {}


@pytest.mark.parametrize("text", ["set SKU123 99", "set SKU123 99 critical 1 channel <#C0OTHER1|x>",
                                  "set NEW-SKU 10", "remove SKU123"])
def test_non_admins_are_refused_and_nothing_changes(admin_bot, slack, text):
    admin_bot.ask("/threshold", "set SKU123 1500", user="U0ADMIN")
    before = {sku: row.model_dump() for sku, row in thresholds(admin_bot).items()}

    result = admin_bot.command("/threshold", text, user="U0BUYER")

    assert result.status == 200
    assert result.json() == {"response_type": "ephemeral", "text": REFUSAL}
    assert {sku: row.model_dump() for sku, row in thresholds(admin_bot).items()} == before
    assert len(changes(admin_bot, "SKU123")) == 1 and changes(admin_bot, "NEW-SKU") == []
    assert slack.responses(result.response_key) == []


@pytest.mark.parametrize("text, expected", [
    ("get SKU123", "*SKU123*: warning at 1,500, critical at 750"),
    ("list", "*Thresholds* — 1 SKUs, page 1 of 1"),
    ("list SKU", "*Thresholds starting with `SKU`* — 1 SKUs, page 1 of 1"),
    ("history SKU123", "*History of SKU123* (newest first)"),
    ("help", "*Usage:*"),
])
def test_reading_is_open_to_everyone(admin_bot, text, expected):
    admin_bot.ask("/threshold", "set SKU123 1500", user="U0ADMIN")
    assert admin_bot.ask("/threshold", text, user="U0BUYER").startswith(expected)


def test_without_admins_everyone_may_change_thresholds(bot):
    assert bot.settings.threshold_admins == frozenset()
    bot.ask("/threshold", "set SKU123 1500", user="U0RANDOM")
    assert thresholds(bot)["SKU123"].updated_by == "U0RANDOM"
    bot.ask("/threshold", "remove SKU123", user="U0SOMEONE")
    assert thresholds(bot) == {}


def test_successful_set_is_acked_empty_then_answered_on_response_url(bot, slack):
    result = bot.command("/threshold", "set SKU123 1500")
    assert result.status == 200 and result.body == ""
    reply = slack.wait_for_response(result.response_key)
    assert reply["text"].startswith("✅ *SKU123*: warning at 1,500, critical at 750")
