"""The outbox and its sender: digests, one recovery summary, pacing per channel, Slack outages,
/healthz, and the message-metadata check that keeps a cut-off call from posting twice."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta

from sqlmodel import col, select

from bot.notifier import outbox_metadata
from storage import repo
from storage.db import Session
from storage.models import Alert, Digest, OutboxEntry
from tests.conftest import ALERT_CHANNEL, http, wait_until, write_stock


def _thresholds(bot, levels: dict, channel=None) -> None:
    with Session(bot.ctx.engine) as session:
        for sku, level in levels.items():
            repo.save_threshold(session, sku, level, level // 10, channel, "U0ADMIN", repo.utcnow())
        session.commit()


def _text(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


def test_many_skus_entering_one_tier_become_one_digest_with_list_csv_and_ack_all(bot, slack, stock_file):
    skus = {f"MUG-{n:02d}": 1000 for n in range(12)}
    _thresholds(bot, skus)
    # available 900 down to 350: MUG-11 has the least against its level, so it comes first
    write_stock(stock_file, {sku: 900 - 50 * n for n, sku in enumerate(skus)})
    report = bot.checker.run_check()
    assert report.digests == 1 and len(report.posted) == 12

    tops = slack.posts(ALERT_CHANNEL, top_level=True)
    assert len(tops) == 1, [p["text"] for p in tops]
    [digest] = tops  # one message, not twelve
    text = _text(digest)
    assert "WARNING · 12 SKUs" in text and "…and 2 more" in text and "ack_digest" in text
    assert text.index("MUG-11") < text.index("MUG-10") < text.index("MUG-02")
    assert "MUG-01" not in json.dumps(digest["blocks"][0]) and "MUG-00" not in json.dumps(digest["blocks"][0])
    with Session(bot.ctx.engine) as session:
        stored = session.exec(select(Digest)).one()
        assert stored.ts is not None and stored.count == 12
        alerts = session.exec(select(Alert)).all()
        assert len(alerts) == 12 and {a.digest_id for a in alerts} == {stored.id} and {a.ts for a in alerts} == {None}

    [listing] = [p for p in slack.posts(ALERT_CHANNEL, top_level=False) if p["thread_ts"] == stored.ts]
    assert all(f"MUG-{n:02d}" in listing["text"] for n in range(12)) and "1–12 of 12" in listing["text"]
    [upload] = slack.wait_for_upload(lambda u: u.thread_ts == stored.ts)
    rows = list(csv.DictReader(io.StringIO(upload.content.decode("utf-8-sig"))))
    assert [r["sku"] for r in rows][:2] == ["MUG-11", "MUG-10"] and len(rows) == 12
    assert rows[0] == {"sku": "MUG-11", "name": "MUG-11 name", "available": "350", "level": "1000",
                       "days_of_cover": ""}

    assert bot.action("ack_digest", str(stored.id), user="U0LEAD").status == 200
    bot.settle()
    [update] = slack.wait_for("chat.update", lambda p: p["ts"] == stored.ts)
    assert "Acknowledged by <@U0LEAD>" in _text(update) and "ack_digest" not in _text(update)
    with Session(bot.ctx.engine) as session:
        assert {a.acked_by for a in session.exec(select(Alert))} == {"U0LEAD"}

    # one SKU of the digest gets worse: its own message (its episode goes on)
    write_stock(stock_file, {"MUG-11": 50})
    assert bot.checker.run_check().posted == ["MUG-11:CRITICAL"]
    assert [p["text"][:16] for p in slack.posts(ALERT_CHANNEL, top_level=True)][1:] == ["CRITICAL: MUG-11"]

    # eight recover in one check: one summary message, and the digest shows it
    write_stock(stock_file, {f"MUG-{n:02d}": 5000 for n in range(8)})
    assert bot.checker.run_check().recovered == 8
    summaries = [p for p in slack.posts(ALERT_CHANNEL, top_level=True) if "recovered" in p["text"]]
    assert len(summaries) == 1 and "8 SKUs recovered" in summaries[0]["text"]
    assert not [p for p in slack.posts(ALERT_CHANNEL, top_level=False) if "recovered" in p["text"]]
    last = slack.of("chat.update")[-1].params
    assert last["ts"] == stored.ts and "8 of 12 are back above their level" in _text(last)


def test_a_few_skus_still_get_their_own_alerts(bot, slack, stock_file):
    _thresholds(bot, {f"LAMP-{n}": 100 for n in range(5)})  # DIGEST_AFTER is 5: five is not "more than"
    write_stock(stock_file, {f"LAMP-{n}": 50 for n in range(5)})
    report = bot.checker.run_check()
    assert report.digests == 0 and len(slack.posts(ALERT_CHANNEL, top_level=True)) == 5


def test_digest_reminder_is_one_reply_in_its_thread(bot, slack, stock_file):
    _thresholds(bot, {f"CUP-{n}": 100 for n in range(7)})
    write_stock(stock_file, {f"CUP-{n}": 80 for n in range(7)})
    now = repo.utcnow()
    bot.checker.run_check(now=now)
    assert bot.checker.run_check(now=now + timedelta(hours=25)).reminded == 7
    with Session(bot.ctx.engine) as session:
        ts = session.exec(select(Digest)).one().ts
    reminders = [p for p in slack.posts(ALERT_CHANNEL, top_level=False) if "Reminder" in p["text"]]
    assert len(reminders) == 1 and reminders[0]["thread_ts"] == ts and "7 of 7" in reminders[0]["text"]


def test_posting_keeps_to_about_one_message_a_second_per_channel(start_bot, slack, stock_file):
    bot = start_bot(channel_pace_seconds=1.0)
    _thresholds(bot, {f"A-{n}": 100 for n in range(3)}, channel="C0AAA")
    _thresholds(bot, {f"B-{n}": 100 for n in range(3)}, channel="C0BBB")
    write_stock(stock_file, {**{f"A-{n}": 10 for n in range(3)}, **{f"B-{n}": 10 for n in range(3)}})
    bot.checker.run_check()
    for channel in ("C0AAA", "C0BBB"):
        times = [c.at for c in slack.of("chat.postMessage") if c.params["channel"] == channel]
        assert len(times) == 3
        assert all(later - earlier >= 0.9 for earlier, later in zip(times, times[1:])), times
    a_times = [c.at for c in slack.of("chat.postMessage") if c.params["channel"] == "C0AAA"]
    b_times = [c.at for c in slack.of("chat.postMessage") if c.params["channel"] == "C0BBB"]
    assert abs(a_times[0] - b_times[0]) < 0.5  # one channel's pace never holds up another's


def test_a_slack_outage_loses_nothing_and_posts_nothing_twice(start_bot, slack, stock_file):
    bot = start_bot()
    _thresholds(bot, {f"SKU-{n}": 100 for n in range(4)})
    bot.checker.sender.start()  # as `stockbot run` does
    slack.outage()  # every Web API call answers HTTP 500
    write_stock(stock_file, {f"SKU-{n}": 10 for n in range(4)})
    assert len(bot.checker.run_check().posted) == 4
    slack.wait_for("chat.postMessage", count=4)  # tried
    health = http("GET", bot.url + "/healthz").json()
    assert health["ok"] and health["outbox"]["backlog"] == 4
    time.sleep(1)
    slack.outage(False)  # the retries (2 s, 4 s, … at most 2 minutes apart) get through
    wait_until(lambda: len(slack.messages) == 4, timeout=20)
    assert bot.checker.sender.wait_idle()
    delivered = [ts for (channel, ts) in slack.messages if channel == ALERT_CHANNEL]
    assert len(delivered) == 4
    with Session(bot.ctx.engine) as session:
        assert sorted(a.ts for a in session.exec(select(Alert))) == sorted(delivered)
        assert session.exec(select(OutboxEntry).where(col(OutboxEntry.done).is_(False))).all() == []
    bot.checker.sender.stop()


def test_healthz_answers_503_when_messages_wait_over_ten_minutes(bot, slack, stock_file):
    _thresholds(bot, {"SKU1": 100})
    slack.failing_channels.add(ALERT_CHANNEL)
    write_stock(stock_file, {"SKU1": 10})
    bot.checker.run_check()
    with Session(bot.ctx.engine) as session:
        for entry in session.exec(select(OutboxEntry)):
            entry.created_at = repo.utcnow() - timedelta(minutes=11)
            session.add(entry)
        session.commit()
    result = http("GET", bot.url + "/healthz")
    assert result.status == 503
    body = result.json()
    assert body["outbox"]["backlog"] >= 1 and body["outbox"]["oldest_age_seconds"] > 600 and "waiting" in body["problem"]


def test_a_call_cut_off_after_slack_posted_is_found_by_its_metadata_not_posted_again(bot, slack, stock_file):
    """The process died inside chat.postMessage: Slack has the message, Stockbot has no ts."""
    _thresholds(bot, {"SKU1": 100})
    write_stock(stock_file, {"SKU1": 10})
    slack.failing_channels.add(ALERT_CHANNEL)  # hold the post back to stage the cut-off
    bot.checker.run_check()
    slack.failing_channels.clear()
    with Session(bot.ctx.engine) as session:
        entry = session.exec(select(OutboxEntry).where(OutboxEntry.kind == "post_alert")).one()
        # What a dead process leaves: the entry in flight, claimed by a pid that no longer runs,
        # and its message in the channel.
        entry.in_flight_at, entry.claimed_by = repo.utcnow(), f"{bot.checker.sender.me.rsplit(':', 1)[0]}:999999999"
        session.add(entry)
        session.commit()
        entry_id = entry.id
    posted = bot.checker.notifier.post(ALERT_CHANNEL, "CRITICAL: SKU1", metadata=outbox_metadata(entry_id))
    repo_problem_cleared(bot)
    calls_before = len(slack.of("chat.postMessage"))
    assert bot.checker.sender.drain()
    assert len(slack.of("chat.postMessage")) == calls_before  # found by conversations.history, not re-posted
    assert slack.of("conversations.history")
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(Alert)).one().ts == posted
        assert session.get(OutboxEntry, entry_id).done


def repo_problem_cleared(bot) -> None:
    with Session(bot.ctx.engine) as session:
        repo.clear_channel_problem(session, ALERT_CHANNEL)
        session.commit()
