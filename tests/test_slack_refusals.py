"""What Slack refuses: blocks (sent once as plain text), channels (reported once, backed off,
never holding up other alerts, remembered across restarts) and `/threshold set … channel`."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.checker import channel_retry_delay
from storage import repo
from storage.models import ChannelProblem, Reorder, Threshold
from tests.conftest import ALERT_CHANNEL, write_stock

GONE = "C0GONE"


def posts_to(slack, channel: str) -> list[dict]:
    return slack.posts(channel)


def test_refused_blocks_go_out_once_as_plain_text(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 40})
    slack.refuse_blocks = True
    assert bot.checker.run_check().posted == ["SKU123:CRITICAL"]
    refused, plain = posts_to(slack, ALERT_CHANNEL)
    assert refused.get("blocks") and not plain.get("blocks")
    assert "*🔴 CRITICAL · SKU123*" in plain["text"] and "*Available*: 40" in plain["text"]
    assert "Reorder now" in plain["text"]
    # stored as posted: the next checks do not try again
    assert bot.checker.run_check().posted == [] and bot.checker.run_check().posted == []
    assert len(posts_to(slack, ALERT_CHANNEL)) == 2


def test_an_alert_with_many_reorders_keeps_within_slacks_limits(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    now = repo.utcnow()
    with Session(bot.ctx.engine) as session:
        for n in range(60):
            session.add(Reorder(sku="SKU123", quantity=100 + n, note="PO " + "x" * 300, created_by="U0BUYER",
                                created_at=now))
        session.commit()
    write_stock(stock_file, {"SKU123": 40})
    assert bot.checker.run_check().posted == ["SKU123:CRITICAL"]
    [post] = posts_to(slack, ALERT_CHANNEL)  # accepted with its blocks: the loopback enforces Block Kit's limits
    status = post["blocks"][2]["text"]["text"]
    assert len(status) <= 3000 and "…and 55 more reorders" in status
    assert "mark_reordered" not in str(post["blocks"])


def test_channel_retry_delay_backs_off():
    interval = timedelta(minutes=15)
    assert [channel_retry_delay(n, interval) for n in (1, 2, 3, 4)] == [
        timedelta(0), interval, 3 * interval, 7 * interval]
    assert channel_retry_delay(30, interval) == timedelta(hours=6)


def test_refused_channel_is_reported_once_backed_off_and_never_holds_up_other_alerts(start_bot, slack, stock_file):
    bot = start_bot()
    bot.ask("/threshold", f"set SKU1 1500 channel <#{GONE}|gone>")
    bot.ask("/threshold", f"set SKU3 1500 channel <#{GONE}|gone>")
    bot.ask("/threshold", "set SKU2 1500")
    slack.archived_channels.add(GONE)
    write_stock(stock_file, {"SKU1": 40, "SKU2": 40, "SKU3": 40})
    start = repo.utcnow()

    assert bot.checker.run_check(now=start).posted == ["SKU2:CRITICAL"]  # the other channel's alert went out
    assert len(posts_to(slack, GONE)) == 1  # one try per check, not one per SKU
    [notice] = [p for p in posts_to(slack, ALERT_CHANNEL) if "can't post" in p["text"]]
    assert f"<#{GONE}>" in notice["text"] and "archived" in notice["text"] and "/invite @Stockbot" in notice["text"]
    with Session(bot.ctx.engine) as session:
        [problem] = session.exec(select(ChannelProblem)).all()
        assert (problem.channel, problem.error, problem.failures) == (GONE, "is_archived", 1)
        assert problem.reported_at is not None

    bot.checker.run_check(now=start + timedelta(seconds=1))  # the next check tries again, once
    assert len(posts_to(slack, GONE)) == 2
    bot.checker.run_check(now=start + timedelta(seconds=2))  # then it waits a check interval
    assert len(posts_to(slack, GONE)) == 2

    restarted = start_bot()  # the state is in the database: no second report, same backoff
    restarted.checker.run_check(now=start + timedelta(seconds=3))
    assert len(posts_to(slack, GONE)) == 2
    assert len([p for p in posts_to(slack, ALERT_CHANNEL) if "can't post" in p["text"]]) == 1

    slack.archived_channels.clear()  # someone unarchived it
    later = start + timedelta(seconds=1 + 900 + 1)
    assert sorted(restarted.checker.run_check(now=later).posted) == ["SKU1:CRITICAL", "SKU3:CRITICAL"]
    assert [p for p in posts_to(slack, ALERT_CHANNEL) if "again" in p["text"] and f"<#{GONE}>" in p["text"]]
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(ChannelProblem)).all() == []


def test_threshold_set_checks_that_stockbot_can_post_to_the_channel(bot, slack):
    slack.archived_channels.add("C0OLD")
    slack.private_channels.add("C0SECRET")
    slack.failing_channels.add("C0NONE")
    for channel, why in (("C0OLD", "archived"), ("C0SECRET", "not a member"), ("C0NONE", "doesn't exist")):
        reply = bot.ask("/threshold", f"set SKU123 1500 channel <#{channel}|x>")
        assert why in reply and "/invite @Stockbot" in reply and "Nothing was changed" in reply, reply
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(Threshold)).all() == []
    assert "alerts to <#C0OK>" in bot.ask("/threshold", "set SKU123 1500 channel <#C0OK|ok>")
    [info] = slack.of("conversations.info")[-1:]
    assert info.params["channel"] == "C0OK"
