"""Nothing from outside can ping, link, break or oversize a Stockbot message.

Hostile text (mentions, disguised links, `&`, 5,000-character names, NUL, bidi overrides,
line breaks) goes through every message builder (bot/messages.py, bot/replies.py) and, end
to end, through a stock export, a reorder note, a command's echo and an uploaded file to the
loopback Slack. What arrives may only contain the mentions and date tokens Stockbot wrote
itself, and must keep to Block Kit's limits (the loopback Slack refuses what Slack refuses).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from bot import messages, notices, replies
from bot.core.commands import CommandError
from bot.core.demand import SkuLevels
from bot.core.forecast import AdGuidance, Outlook, ReorderPoint
from bot.core.tiers import Tier
from bot.imports import ImportOutcome
from bot.notifier import plain_message_text
from bot.slack_text import SECTION_TEXT_MAX, TEXT_MAX, clip, fit_lines, outside
from storage import repo
from storage.db import session as open_session
from storage.models import Reorder, SourceState, Stock, Threshold, ThresholdChange
from tests.conftest import ALERT_CHANNEL, wait_until
from tests.slack_server import blocks_problem

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
PING = "<!channel>"
LINK = "<https://evil.example/login|Reorder portal>"
HOSTILE = [
    PING,
    LINK,
    "<!here> <!everyone> <@U0EVIL> <#C0EVIL> <!subteam^S0EVIL>",
    "Tom & Jerry &amp; &lt;b&gt;",
    "x" * 5000,
    "<" * 3000,
    "line one\nline two\r\n*bold?*\nthird",
    "nul\x00byte\x07bell\x1b[31m",
    "rtl \u202eevil\u202c mark\u200f \u2066iso\u2069",
    "visit https://evil.example/login now",
    PING + "\n" + LINK + "\u202e" + "&" * 2000,
]
# What Stockbot itself writes inside < >: user and channel references and date tokens.
STOCKBOT_TOKEN = re.compile(r"<(?:@U[A-Z0-9]+|#C[A-Z0-9]+|!date\^\d+\^[^|<>]*\|[^<>]*)>")


DATA_KEYS = {"value", "private_metadata", "action_id", "block_id", "callback_id"}  # round-tripped, never shown


def strings(payload):
    """Every string a reader could see anywhere in a payload."""
    if isinstance(payload, str):
        yield payload
    elif isinstance(payload, dict):
        for key, value in payload.items():
            if key not in DATA_KEYS:
                yield from strings(value)
    elif isinstance(payload, (list, tuple)):
        for value in payload:
            yield from strings(value)


def assert_safe(payload) -> None:
    for text in strings(payload):
        rest = STOCKBOT_TOKEN.sub("", text)
        assert "<" not in rest and ">" not in rest, f"unescaped angle bracket in {text[:300]!r}"
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), f"raw & in {text[:300]!r}"
        assert "https://evil" not in text and "http://evil" not in text  # a bare URL would be linked
        assert "\x00" not in text and "\x1b" not in text and "\u202e" not in text and "\u2066" not in text
        assert len(text) <= TEXT_MAX
        for line in text.split("\n"):  # a *bold* never wraps across a line break
            plain = re.sub(r"`[^`]*`", "", line)  # an asterisk in `code` is not formatting
            assert plain.count("*") % 2 == 0 or "bold?" in line, f"unbalanced * in {line[:200]!r}"
    if isinstance(payload, dict) and "blocks" in payload:
        assert blocks_problem(payload["blocks"]) is None, blocks_problem(payload["blocks"])


# ---- the helper itself --------------------------------------------------------------------

def test_outside_escapes_and_flattens():
    assert outside(PING) == "&lt;!channel&gt;"
    assert outside(LINK) == "&lt;https:\u2060//evil.example/login|Reorder portal&gt;"
    assert outside("Tom & Jerry") == "Tom &amp; Jerry"
    assert outside("a\nb\r\n\tc\x00d") == "a b c d"
    assert outside("ab\u202ecd\u2066ef\u2069") == "abcdef"
    assert outside("مرحبا\u200f") == "مرحبا\u200f"  # plain direction marks stay
    assert outside("连衣裙-红-XL") == "连衣裙-红-XL"


def test_outside_shortens_after_escaping_and_never_cuts_an_entity():
    assert len(outside("x" * 5000)) == 500 and outside("x" * 5000).endswith("…")
    for count in range(95, 105):
        cut = outside("<" * count, 100)
        assert len(cut) <= 100 and re.fullmatch(r"(&lt;)*…?", cut), cut
    assert outside("&" * 30, 21) == "&amp;" * 4 + "…"


def test_fit_lines_keeps_whole_lines_and_counts_the_rest():
    lines = [f"line {n} " + "y" * 90 for n in range(100)]
    text = fit_lines(lines, 3000, lambda count: f"…and {count} more")
    assert len(text) <= 3000
    kept = text.split("\n")
    assert kept[-1] == f"…and {100 - (len(kept) - 1)} more"
    assert kept[:-1] == lines[:len(kept) - 1]
    assert fit_lines(["short"], 3000, str) == "short"
    assert len(fit_lines(["z" * 5000], 100, lambda n: f"+{n}")) <= 100
    assert clip("abc", 2) == "a…"


# ---- every builder -----------------------------------------------------------------------

def outlook(campaigns: str = "") -> Outlook:
    method = f"basis=p90;days=30;service=0.98;lead=7;campaigns={campaigns}" if campaigns else None
    return Outlook(daily=10.0, days_of_cover=40.0, stockout_date=date(2026, 4, 11), suggested_qty=300,
                   guidance=AdGuidance("scale"), lead_days=7, method=method)


def alert_views(bad: str):
    reorders = tuple(messages.ReorderView(100 + n, date(2026, 3, 1), "U0BUYER", late=n % 2 == 0, note=bad)
                     for n in range(40))
    base = dict(alert_id=7, sku=bad[:64], tier=Tier.OUT_OF_STOCK, available=0, warning_level=1500,
                critical_level=750, read_at=NOW, name=bad, warehouse=bad, stale_source=bad)
    yield messages.AlertView(**base)
    yield messages.AlertView(**base, reorders=reorders, acked_by="U0BUYER", acked_at=NOW, outlook=outlook(bad))
    yield messages.AlertView(**base, reorders=reorders, recovered_available=1600, recovered_at=NOW)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("bad", HOSTILE)
def test_every_message_builder_escapes_and_keeps_limits(lang, bad):
    for view in alert_views(bad):
        assert_safe(messages.alert_message(lang, view))
        assert_safe(messages.reminder_text(lang, view))
        assert_safe(plain_message_text("x", messages.alert_message(lang, view)["blocks"]))
    reorder = messages.ReorderView(5, date(2026, 3, 9), "U0BUYER", note=bad)
    assert_safe(messages.recovery_text(lang, bad, 10, 5))
    assert_safe(messages.reorder_reply_text(lang, bad, reorder))
    assert_safe(notices.source_failed_text(lang, bad, bad))
    assert_safe(notices.source_recovered_text(lang, bad, 3))
    assert_safe(notices.channel_refused_text(lang, bad, bad))
    assert_safe(notices.channel_refused_text(lang, "C0ALERTS", "not_in_channel"))
    assert_safe(notices.channel_works_again_text(lang, bad))
    assert_safe(messages.channel_text(lang, bad))
    assert_safe(messages.command_error_text(lang, "threshold", CommandError("sku_bad_chars", sku=bad)))
    assert_safe(messages.command_error_text(lang, "stock", CommandError("unexpected_words", words=bad)))
    assert_safe(messages.reorder_modal(lang, 7, bad))
    assert_safe(messages.import_modal(lang, "sales"))
    rows = [messages.HomeRow(bad[:64] + str(n), Tier.CRITICAL, n, 100, n % 2 == 0) for n in range(20)]
    assert_safe(messages.home_view(lang, 500, 1000, NOW, rows))
    point = ReorderPoint(daily=10, lead_days=7, lead_demand=90, safety_units=30, warning_level=120,
                         critical_level=90, campaign_units=20, campaigns=(bad, bad))
    assert_safe(messages.calc_message(lang, bad[:64], point, messages.DemandBasis(typed=True), outlook(bad), 50))
    assert_safe(messages.method_text(lang, f"basis=avg;days={bad};campaigns={bad}"))
    assert_safe(messages.method_text(lang, f"basis=class;class=lumpy;stretch={bad};days=9;trend=1.2;campaigns={bad}"))
    for klass in ("lumpy", "smooth", "new"):
        levels = SkuLevels(klass=klass, reorder_point=120, critical_level=90, stretch_days=14, worst_stretch=100,
                           trend=1.2, adi=2.5, cv2=0.8, one_off_days=3, one_off_min=200, spikes="keep",
                           campaign_units=20, launch="first_days" if klass == "new" else None)
        assert_safe(messages.class_calc_message(lang, bad[:64], levels, 10, 7, 60, 3.0, 2.054, 0.98, outlook(bad), 50))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("bad", HOSTILE)
def test_every_reply_builder_escapes_and_keeps_limits(lang, bad):
    threshold = Threshold(sku=bad[:64], warning_level=10, critical_level=5, channel="C0X", updated_by=bad[:32],
                          updated_at=NOW, warehouse=bad[:64])
    assert_safe(replies.who(lang, bad))
    assert_safe(replies.not_admin(lang, [bad, "U0ADMIN"]))
    assert_safe(replies.threshold_saved(lang, threshold, threshold))
    assert_safe(replies.threshold_shown(lang, threshold))
    assert_safe(replies.no_threshold(lang, bad))
    assert_safe(replies.threshold_removed(lang, threshold))
    assert_safe(replies.threshold_page(lang, [threshold] * 25, 1000, bad, 2, 25, frozenset({threshold.sku})))
    changes = [ThresholdChange(sku=bad[:64], changed_by=bad[:32], changed_at=NOW, action="set", old_warning=1,
                               new_warning=2, old_critical=0, new_critical=1, old_channel=bad, new_channel="C0Y")] * 200
    assert_safe(replies.threshold_history(lang, bad, changes))
    states = [SourceState(name=bad, failing=True, last_error=bad, last_error_at=NOW, rows_read=3)] * 100
    assert_safe(replies.source_status(lang, states, NOW))
    outcome = ImportOutcome(file_name=bad, kind="stock", rows_read=500, stored=10, skus=3,
                            rejected=[(n, f"available {bad!r} is not a whole number") for n in range(300)],
                            unknown_headers=[bad] * 30)
    assert_safe(replies.import_summary(lang, outcome))
    assert_safe(replies.import_summary(lang, ImportOutcome(file_name=bad, kind="sales", error=bad)))
    stock = [Stock(sku=bad[:64], warehouse=f"{bad[:60]}{n}", available=n, name=bad, source=bad, read_at=NOW)
             for n in range(60)]
    assert_safe(replies.stock_shown(lang, bad, stock, threshold, Tier.CRITICAL, NOW, bad, 5))
    assert_safe(replies.reorder_saved(lang, bad, 5, date(2026, 3, 9)))
    reorders = [Reorder(sku=bad[:64], quantity=5, eta=date(2026, 3, 1), note=bad, created_by=bad[:32],
                        created_at=NOW)] * 50
    assert_safe(replies.reorder_list(lang, bad, reorders, date(2026, 3, 2)))


def test_many_reorders_are_shortened_with_and_n_more_in_both_languages():
    reorders = tuple(messages.ReorderView(100, date(2026, 3, 20), "U0BUYER", note="n" * 200) for _ in range(40))
    view = messages.AlertView(alert_id=1, sku="SKU1", tier=Tier.CRITICAL, available=5, warning_level=100,
                              critical_level=50, read_at=NOW, reorders=reorders)
    for lang, more in (("en", "…and 35 more reorders"), ("zh", "…还有 35 个补货单")):
        message = messages.alert_message(lang, view)
        assert blocks_problem(message["blocks"]) is None
        assert more in message["blocks"][2]["text"]["text"]
        assert all(len(block.get("text", {}).get("text", "")) <= SECTION_TEXT_MAX for block in message["blocks"])


# ---- end to end: what reaches the loopback Slack ----------------------------------------

def test_hostile_product_name_in_a_stock_export_reaches_slack_escaped(bot, slack, stock_file):
    name = f'"{PING} {LINK} & friends\u202e"'
    stock_file.write_text(f"sku,name,warehouse,available\nSKU123,{name},<!here>,40\n", encoding="utf-8")
    bot.ask("/threshold", "set SKU123 1500")
    bot.checker.run_check()
    [post] = slack.posts(ALERT_CHANNEL, top_level=True)
    assert_safe(post)
    shown = post["blocks"][0]["text"]["text"]
    assert shown == ("*🔴 CRITICAL · SKU123*\n"
                     "&lt;!channel&gt; &lt;https:\u2060//evil.example/login|Reorder portal&gt; &amp; friends")
    assert post["text"] == "CRITICAL: SKU123 available 40 (critical level 750)"
    reply = bot.ask("/stock", "SKU123")  # /stock shows the same name and the warehouse, escaped
    assert_safe(reply)
    assert "&lt;!channel&gt;" in reply and "(&lt;!here&gt;: 40)" in reply and PING not in reply


def test_hostile_reorder_note_and_command_echo_are_escaped(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    stock_file.write_text("sku,available\nSKU123,400\n", encoding="utf-8")
    bot.checker.run_check()
    reply = bot.ask("/reorder", f"SKU123 200 note {PING} see {LINK}")
    assert_safe(reply)
    [update] = slack.wait_for("chat.update")
    assert_safe(update)
    assert "&lt;!channel&gt; see &lt;https:\u2060//evil.example" in update["blocks"][2]["text"]["text"]
    assert "mark_reordered" not in str(update["blocks"])  # the reorder's facts replaced the button
    echo = bot.command("/stock", f"set {PING} 5")  # a bad SKU is echoed back in the error, escaped
    assert echo.status == 200
    assert_safe(echo.json()["text"])
    assert "&lt;!channel&gt;" in echo.json()["text"]


def test_hostile_uploaded_file_name_and_rows_are_escaped(bot, slack):
    content = f"sku,available\nSKU1,5\nSKU2,{PING}\nSKU3,{LINK}\n".encode()
    file_id = slack.add_file(f"{PING}.csv", content)
    assert bot.event({"type": "message", "channel_type": "im", "channel": "D0BUYER", "user": "U0BUYER",
                      "text": "", "ts": "1764000000.000100", "files": [{"id": file_id}]}).status == 200
    bot.settle()
    [summary] = wait_until(lambda: [p for p in slack.posts("D0BUYER") if "SKU" in p.get("text", "")
                                    or "csv" in p.get("text", "")])
    assert_safe(summary)
    assert "&lt;!channel&gt;.csv" in summary["text"]


def test_hostile_text_within_limits_on_the_app_home(bot, slack, stock_file):
    skus = {f"SKU{n:03d}": 1 for n in range(30)}
    stock_file.write_text("sku,name,available\n" + "".join(f"{sku},{PING},{qty}\n" for sku, qty in skus.items()),
                          encoding="utf-8")
    with open_session(bot.ctx.engine) as session:  # 30 thresholds at once; the commands are tested elsewhere
        for sku in skus:
            repo.save_threshold(session, sku, 100, 50, repo.KEEP, "U0ADMIN", NOW, repo.KEEP)
        session.commit()
    bot.checker.run_check(now=NOW + timedelta(minutes=1))
    bot.event({"type": "app_home_opened", "user": "U0BUYER", "tab": "home"})
    [publish] = slack.wait_for("views.publish")
    assert_safe(publish["view"])
    assert blocks_problem(publish["view"]["blocks"]) is None


def test_hostile_text_echoed_by_listeners_is_escaped(bot, slack, stock_file):
    """The replies listeners word themselves: /stock set's warehouse, the which-warehouse question,
    /campaign add and list with a hostile campaign name."""
    stock_file.write_text("sku,warehouse,available\nSKU123,<!here>,40\nSKU123,B&Q,50\n", encoding="utf-8")
    bot.ask("/threshold", "set SKU123 10")
    bot.checker.run_check()
    question = bot.ask("/stock", "set SKU123 5")  # two warehouses: which one?
    assert_safe(question)
    assert "&lt;!here&gt;" in question and "B&amp;Q" in question
    refused = bot.ask("/stock", "set SKU123 5 warehouse <!here>")  # a warehouse name follows the SKU rules
    assert_safe(refused)
    assert "`&lt;!here&gt;`" in refused
    start = repo.utcnow().date() + timedelta(days=3)
    added = bot.ask("/campaign", f"add SKU123 {start} {start + timedelta(days=1)} x2 {PING} & {LINK}")
    assert_safe(added)
    assert "&lt;!channel&gt; &amp; &lt;https:\u2060//evil.example" in added
    listed = bot.ask("/campaign", "list")
    assert_safe(listed)
    assert "&lt;!channel&gt;" in listed
