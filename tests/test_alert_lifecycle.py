"""The alert loop end to end: stock file -> check -> Slack messages -> buttons -> recovery.

Checks are run by calling the real checker with an explicit `now`, so reminder and ETA
timing is exact; everything else goes through HTTP as Slack would send it.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from storage import repo
from storage.db import Session
from storage.models import Alert, ChannelProblem, Episode, Reorder
from tests.conftest import ALERT_CHANNEL, write_stock


def top_posts(slack):
    return slack.posts(ALERT_CHANNEL, top_level=True)


def thread_replies(slack, ts):
    return [p for p in slack.posts(ALERT_CHANNEL, top_level=False) if p.get("thread_ts") == ts]


def block_text(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def test_warning_alert_content_and_buttons(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 1400, "SKU999": 5000})
    report = bot.checker.run_check()
    assert report.posted == ["SKU123:WARNING"]
    [post] = top_posts(slack)
    assert post["channel"] == ALERT_CHANNEL
    # plain-text fallback: SKU, tier word, available and the level
    for part in ("SKU123", "WARNING", "1,400", "1,500"):
        assert part in post["text"]
    blocks = block_text(post)
    for part in ("SKU123 name", "1,400", "1,500", "750", "Stock read", "<!date^"):
        assert part in blocks
    actions = [b for b in post["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [a["action_id"] for a in actions] == ["ack_restock", "mark_reordered", "purchase_request", "snooze"]
    assert "SKU999" not in json.dumps(slack.posts())


def test_one_alert_per_tier_per_episode_then_escalation(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500 critical 500")
    now = repo.utcnow()
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check(now=now)
    bot.checker.run_check(now=now + timedelta(minutes=15))
    write_stock(stock_file, {"SKU123": 1300})  # lower, same tier: still no repeat
    bot.checker.run_check(now=now + timedelta(minutes=30))
    assert [p["text"].split(":")[0] for p in top_posts(slack)] == ["WARNING"]

    write_stock(stock_file, {"SKU123": 400})
    assert bot.checker.run_check(now=now + timedelta(minutes=45)).posted == ["SKU123:CRITICAL"]
    write_stock(stock_file, {"SKU123": 1200})  # improves to WARNING: nothing new
    assert bot.checker.run_check(now=now + timedelta(minutes=60)).posted == []
    write_stock(stock_file, {"SKU123": 450})  # CRITICAL again within the same episode: already told
    assert bot.checker.run_check(now=now + timedelta(minutes=75)).posted == []
    write_stock(stock_file, {"SKU123": 0})
    assert bot.checker.run_check(now=now + timedelta(minutes=90)).posted == ["SKU123:OUT OF STOCK"]
    texts = [p["text"] for p in top_posts(slack)]
    assert [t.split(":")[0] for t in texts] == ["WARNING", "CRITICAL", "OUT OF STOCK"]
    assert "critical level 500" in texts[1]


def test_straight_to_out_of_stock_posts_only_that_tier(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": -3})  # oversold
    assert bot.checker.run_check().posted == ["SKU123:OUT OF STOCK"]
    assert len(top_posts(slack)) == 1


def test_reminders_until_acknowledged(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    now = repo.utcnow()
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check(now=now)
    alert_ts = _alert(bot, "SKU123").ts
    assert alert_ts

    assert bot.checker.run_check(now=now + timedelta(hours=23)).reminded == 0
    assert bot.checker.run_check(now=now + timedelta(hours=24, minutes=1)).reminded == 1
    assert bot.checker.run_check(now=now + timedelta(hours=30)).reminded == 0  # counted from the reminder
    assert bot.checker.run_check(now=now + timedelta(hours=48, minutes=2)).reminded == 1
    reminders = thread_replies(slack, alert_ts)
    assert len(reminders) == 2 and all("SKU123" in r["text"] and "Reminder" in r["text"] for r in reminders)

    assert bot.action("ack_restock", str(_alert(bot, "SKU123").id), user="U0WAREHOUSE").status == 200
    slack.wait_for("chat.update")
    assert bot.checker.run_check(now=now + timedelta(hours=100)).reminded == 0
    assert len(thread_replies(slack, alert_ts)) == 2
    assert len(top_posts(slack)) == 1


def test_remind_after_hours_setting(start_bot, slack, stock_file):
    bot = start_bot(remind_after_hours=2)
    bot.ask("/threshold", "set SKU123 1500")
    now = repo.utcnow()
    write_stock(stock_file, {"SKU123": 10})
    bot.checker.run_check(now=now)
    assert bot.checker.run_check(now=now + timedelta(hours=1, minutes=59)).reminded == 0
    assert bot.checker.run_check(now=now + timedelta(hours=2)).reminded == 1


def test_acknowledge_updates_original_message(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check()
    alert = _alert(bot, "SKU123")
    result = bot.action("ack_restock", str(alert.id), user="U0WAREHOUSE", message_ts=alert.ts)
    assert result.status == 200
    [update] = slack.wait_for("chat.update")
    assert update["channel"] == ALERT_CHANNEL and update["ts"] == alert.ts
    assert "Acknowledged by <@U0WAREHOUSE>" in block_text(update)
    assert "ack_restock" not in block_text(update)  # the button is gone
    assert "mark_reordered" in block_text(update)
    stored = _alert(bot, "SKU123")
    assert stored.acked_by == "U0WAREHOUSE" and stored.acked_at is not None
    # a second press by someone else keeps the first acknowledgement
    bot.action("ack_restock", str(alert.id), user="U0OTHER")
    slack.wait_for("chat.update", count=2)
    assert _alert(bot, "SKU123").acked_by == "U0WAREHOUSE"


def test_recovery_closes_episode_and_a_new_dip_starts_another(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    now = repo.utcnow()
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check(now=now)
    write_stock(stock_file, {"SKU123": 600})
    bot.checker.run_check(now=now + timedelta(minutes=15))
    first_ts, second_ts = [p["ts"] for p in _alerts(bot, "SKU123")]

    write_stock(stock_file, {"SKU123": 1500})  # at the level is still WARNING territory
    assert bot.checker.run_check(now=now + timedelta(minutes=30)).recovered == 0
    write_stock(stock_file, {"SKU123": 1501})
    assert bot.checker.run_check(now=now + timedelta(minutes=45)).recovered == 1
    updates = {call.params["ts"]: call.params for call in slack.of("chat.update")}
    assert set(updates) == {first_ts, second_ts}
    assert all("Recovered" in block_text(u) and "mark_reordered" not in block_text(u) for u in updates.values())
    # each message looks resolved: ✅ header, the stock it recovered to, no buttons, no "reorder now"
    for update in updates.values():
        heading = update["blocks"][0]
        assert heading["text"]["text"].startswith("*✅ Recovered · SKU123 · was ")
        assert heading["fields"][0]["text"] == "*Available*\n1,501"
        assert update["text"] == "Recovered: SKU123 available 1,501 (warning level 1,500)"
        assert not any(block["type"] == "actions" for block in update["blocks"])
        assert "Reorder now" not in block_text(update) and "Reorder soon" not in block_text(update)
    [note] = thread_replies(slack, first_ts)
    assert "recovered" in note["text"] and "1,501" in note["text"]
    with Session(bot.ctx.engine) as session:
        episodes = session.exec(select(Episode).where(Episode.sku == "SKU123")).all()
        assert len(episodes) == 1 and episodes[0].closed_at is not None and episodes[0].open_sku is None

    assert bot.checker.run_check(now=now + timedelta(hours=1)).recovered == 0  # closed stays closed
    write_stock(stock_file, {"SKU123": 1000})
    assert bot.checker.run_check(now=now + timedelta(hours=2)).posted == ["SKU123:WARNING"]
    assert len(top_posts(slack)) == 3


def test_reorder_counts_toward_position_and_late_flag(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500 critical 500")
    now = repo.utcnow()
    reply = bot.ask("/reorder", "SKU123 2000 eta 3d note PO-77")
    assert "2,000" in reply
    write_stock(stock_file, {"SKU123": 1400})  # 1400 + 2000 on order > 1500: no WARNING
    assert bot.checker.run_check(now=now).posted == []
    assert top_posts(slack) == []
    write_stock(stock_file, {"SKU123": 450})  # CRITICAL alerts even with stock on order
    later = now + timedelta(days=5)  # past the ETA: the reorder is late
    assert bot.checker.run_check(now=later).posted == ["SKU123:CRITICAL"]
    [post] = top_posts(slack)
    blocks = block_text(post)
    assert "Reorder placed: 2,000" in blocks and "LATE" in blocks and "2,000" in blocks
    # the stock arrives: recovery marks the reorder received
    write_stock(stock_file, {"SKU123": 2450})
    bot.checker.run_check(now=later + timedelta(hours=1))
    with Session(bot.ctx.engine) as session:
        [reorder] = session.exec(select(Reorder)).all()
        assert reorder.status == "received" and reorder.note == "PO-77"
    write_stock(stock_file, {"SKU123": 1400})  # no reorder open any more: WARNING again
    assert bot.checker.run_check(now=later + timedelta(hours=2)).posted == ["SKU123:WARNING"]


def test_reorder_while_alert_open_updates_message_and_thread(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check()
    alert = _alert(bot, "SKU123")
    bot.ask("/reorder", "SKU123 2000 eta 2026-12-24")
    [update] = slack.wait_for("chat.update")
    assert update["ts"] == alert.ts and "Reorder placed: 2,000 by <@U0BUYER>, ETA 2026-12-24" in block_text(update)
    [note] = slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") == alert.ts)
    assert "2,000" in note["text"] and "SKU123" in note["text"]


def test_mark_reordered_button_opens_modal_and_submission_records(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 100})
    bot.checker.run_check()
    alert = _alert(bot, "SKU123")
    assert bot.action("mark_reordered", str(alert.id), message_ts=alert.ts).status == 200
    [opened] = slack.wait_for("views.open")
    assert opened["trigger_id"].startswith("trigger-")
    view = opened["view"]
    assert view["callback_id"] == "reorder_modal" and view["private_metadata"] == str(alert.id)
    assert {b["block_id"] for b in view["blocks"] if b["type"] == "input"} == {"quantity", "eta", "note"}

    eta = (repo.utcnow() + timedelta(days=10)).date().isoformat()
    values = {"quantity": {"value": {"type": "number_input", "value": "3000"}},
              "eta": {"value": {"type": "datepicker", "selected_date": eta}},
              "note": {"value": {"type": "plain_text_input", "value": "air freight"}}}
    result = bot.view_submission("reorder_modal", str(alert.id), values)
    assert result.status == 200 and "errors" not in result.body
    update = slack.wait_for("chat.update")[0]
    assert "3,000" in block_text(update) and eta in block_text(update)
    with Session(bot.ctx.engine) as session:
        [reorder] = session.exec(select(Reorder)).all()
    assert (reorder.sku, reorder.quantity, reorder.eta.isoformat(), reorder.note, reorder.created_by) == \
        ("SKU123", 3000, eta, "air freight", "U0BUYER")


def test_modal_rejects_bad_quantity_and_past_eta(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 100})
    bot.checker.run_check()
    alert = _alert(bot, "SKU123")
    values = {"quantity": {"value": {"value": "0"}}, "eta": {"value": {"selected_date": "2020-01-01"}},
              "note": {"value": {"value": None}}}
    result = bot.view_submission("reorder_modal", str(alert.id), values)
    assert result.status == 200
    answer = result.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"quantity", "eta"} and "past" in answer["errors"]["eta"]
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(Reorder)).all() == []


def test_restart_posts_nothing_twice_and_state_survives(start_bot, slack, stock_file):
    first = start_bot()
    first.ask("/threshold", "set SKU123 1500")
    first.ask("/threshold", "set SKU456 800")
    now = repo.utcnow()
    write_stock(stock_file, {"SKU123": 1400, "SKU456": 10})
    first.checker.run_check(now=now)
    first.ask("/reorder", "SKU456 1000 eta 5d")
    first.stop()
    posted_before = len(slack.posts())

    second = start_bot()  # same database, new process state
    second.checker.run_check(now=now + timedelta(minutes=15))
    second.checker.run_check(now=now + timedelta(minutes=30))
    assert len(slack.posts()) == posted_before
    # an acknowledgement on a message posted before the restart still works
    alert = _alert(second, "SKU123")
    second.action("ack_restock", str(alert.id), message_ts=alert.ts)
    slack.wait_for("chat.update", lambda p: p["ts"] == alert.ts)
    assert _alert(second, "SKU123").acked_by == "U0BUYER"
    reply = second.ask("/stock", "SKU456")
    assert "1,000" in reply  # on order survived too


def test_stock_set_is_checked_at_once(bot, slack):
    bot.ask("/threshold", "set SKU123 1500")
    bot.ask("/stock", "set SKU123 20")
    [post] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""))
    assert post["text"].startswith("CRITICAL")
    reply = bot.ask("/stock", "SKU123")
    assert "20" in reply and "CRITICAL" in reply and "1,500" in reply


def test_threshold_set_alerts_at_once_when_already_below(bot, slack, stock_file):
    write_stock(stock_file, {"SKU123": 900})
    bot.checker.run_check()  # stock known, no threshold yet: nothing to say
    assert slack.posts() == []
    bot.ask("/threshold", "set SKU123 1000")
    [post] = slack.wait_for("chat.postMessage")
    assert post["text"].startswith("WARNING") and "900" in post["text"]


def test_alerts_go_to_the_skus_channel(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500 channel <#C0DRESSES|dresses>")
    write_stock(stock_file, {"SKU123": 10})
    bot.checker.run_check()
    assert [p["channel"] for p in slack.posts()] == ["C0DRESSES"]


def test_slack_refusal_keeps_the_alert_owed_until_the_channel_works(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 10})
    slack.failing_channels.add(ALERT_CHANNEL)
    assert bot.checker.run_check().posted == ["SKU123:CRITICAL"]  # owed: in the outbox
    assert len(slack.posts(ALERT_CHANNEL)) == 1 and not slack.messages  # tried once, refused
    assert _alert(bot, "SKU123").ts is None
    assert bot.checker.run_check().posted == []  # never owed twice
    slack.failing_channels.clear()
    with Session(bot.ctx.engine) as session:  # the channel's backoff has passed
        problem = session.get(ChannelProblem, ALERT_CHANNEL)
        problem.next_try_at = repo.utcnow()
        session.add(problem)
        session.commit()
    assert bot.checker.sender.drain()
    [(channel, ts)] = slack.messages
    assert channel == ALERT_CHANNEL and slack.messages[(channel, ts)]["text"].startswith("CRITICAL")
    assert _alert(bot, "SKU123").ts == ts


def test_missing_or_broken_stock_file_raises_no_alerts(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    bot.ask("/threshold", "set SKU456 800")
    write_stock(stock_file, {"SKU123": 5000, "SKU456": 5000})
    bot.checker.run_check()
    stock_file.unlink()
    assert bot.checker.run_check().posted == []
    assert bot.checker.run_check().posted == []
    notices = slack.posts(ALERT_CHANNEL)
    assert len(notices) == 1 and "file not found" in notices[0]["text"]

    # half-written export: a bad number and a missing row must not become OUT OF STOCK
    stock_file.write_text("sku,available\nSKU123,0\nSKU456,12O0\n", encoding="utf-8")
    assert bot.checker.run_check().posted == []
    with Session(bot.ctx.engine) as session:
        assert sum(r.available for r in repo.stock_rows(session, "SKU123")) == 5000  # last good value kept

    write_stock(stock_file, {"SKU123": 5000, "SKU456": 5000})
    bot.checker.run_check()
    texts = [p["text"] for p in slack.posts(ALERT_CHANNEL)]
    assert len(texts) == 2 and "readable again" in texts[1]
    bot.checker.run_check()
    assert len(slack.posts(ALERT_CHANNEL)) == 2  # recovery said once


def test_app_home_lists_open_alerts(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 0})
    bot.checker.run_check()
    assert bot.event({"type": "app_home_opened", "user": "U0BUYER", "channel": "D0BOT", "tab": "home"}).status == 200
    [published] = slack.wait_for("views.publish")
    assert published["user_id"] == "U0BUYER"
    text = block_text(published["view"])
    assert "SKU123" in text and "OUT OF STOCK" in text


def test_healthz_reports_database_and_last_check(bot):
    from tests.conftest import http

    before = http("GET", bot.url + "/healthz").json()
    assert before == {"ok": True, "database": "ok", "last_check_at": None, "leader": False, "lease_holder": None,
                      "lease_expires_at": None, "outbox": {"backlog": 0, "oldest_age_seconds": 0.0}}
    bot.checker.run_check()
    after = http("GET", bot.url + "/healthz")
    assert after.status == 200 and after.json()["last_check_at"] is not None
    # with a scheduler (bot.leader), it says whether this process leads and who holds the lease
    from bot.leader import Leadership

    bot.ctx.leadership = Leadership(bot.ctx.engine, holder_id="web-1:77:abc")
    assert bot.ctx.leadership.try_acquire_or_renew()
    led = http("GET", bot.url + "/healthz").json()
    assert (led["leader"], led["lease_holder"]) == (True, "web-1:77:abc") and led["lease_expires_at"]
    bot.ctx.leadership.release()
    assert http("GET", bot.url + "/healthz").json()["leader"] is False


def _alerts(bot, sku):
    with Session(bot.ctx.engine) as session:
        return [dict(ts=a.ts, id=a.id, tier=a.tier)
                for a in session.exec(select(Alert).where(Alert.sku == sku).order_by(Alert.id)).all()]


def _alert(bot, sku) -> Alert:
    with Session(bot.ctx.engine) as session:
        return session.exec(select(Alert).where(Alert.sku == sku).order_by(Alert.tier.desc())).first()


def test_reminder_calls_out_a_late_reorder(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    now = repo.utcnow()
    write_stock(stock_file, {"SKU123": 100})
    bot.checker.run_check(now=now)
    bot.ask("/reorder", "SKU123 2000 eta 2d")
    alert_ts = _alert(bot, "SKU123").ts
    assert bot.checker.run_check(now=now + timedelta(days=1, hours=1)).reminded == 1
    assert bot.checker.run_check(now=now + timedelta(days=3)).reminded == 1
    on_time, late = [r["text"] for r in thread_replies(slack, alert_ts) if "Reminder" in r["text"]]
    assert "LATE" not in on_time
    assert "Reorder of 2,000 is LATE" in late
