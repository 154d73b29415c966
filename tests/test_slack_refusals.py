"""What Slack refuses: blocks (sent once as plain text), channels (reported once, backed off,
never holding up other alerts, remembered across restarts) and `/threshold set … channel`."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.sender import channel_retry_delay
from storage import repo
from storage.db import Session
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


def _backoff_passes(engine, channel: str) -> None:
    """The channel's backoff is over (its time comes on the wall clock; a test cannot wait hours)."""
    with Session(engine) as session:
        problem = session.get(ChannelProblem, channel)
        problem.next_try_at = repo.utcnow()
        session.add(problem)
        session.commit()


def test_refused_channel_is_reported_once_backed_off_and_never_holds_up_other_alerts(start_bot, slack, stock_file):
    bot = start_bot()
    bot.ask("/threshold", f"set SKU1 1500 channel <#{GONE}|gone>")
    bot.ask("/threshold", f"set SKU3 1500 channel <#{GONE}|gone>")
    bot.ask("/threshold", "set SKU2 1500")
    slack.archived_channels.add(GONE)
    write_stock(stock_file, {"SKU1": 40, "SKU2": 40, "SKU3": 40})
    start = repo.utcnow()

    assert sorted(bot.checker.run_check(now=start).posted) == ["SKU1:CRITICAL", "SKU2:CRITICAL", "SKU3:CRITICAL"]
    assert [p["text"][:8] for p in posts_to(slack, ALERT_CHANNEL) if "can't post" not in p["text"]] == ["CRITICAL"]
    assert len(posts_to(slack, GONE)) == 1  # one try, then the channel waits: not one try per SKU
    [notice] = [p for p in posts_to(slack, ALERT_CHANNEL) if "can't post" in p["text"]]
    assert f"<#{GONE}>" in notice["text"] and "archived" in notice["text"] and "/invite @Stockbot" in notice["text"]
    with Session(bot.ctx.engine) as session:
        [problem] = session.exec(select(ChannelProblem)).all()
        assert (problem.channel, problem.error, problem.failures) == (GONE, "is_archived", 1)
        assert problem.reported_at is not None and problem.next_try_at >= start + timedelta(minutes=1)

    bot.checker.run_check(now=start + timedelta(seconds=1))  # later checks owe nothing new, try nothing
    assert len(posts_to(slack, GONE)) == 1

    _backoff_passes(bot.ctx.engine, GONE)
    assert bot.checker.sender.drain()  # tried again once, still refused: a longer wait
    assert len(posts_to(slack, GONE)) == 2
    with Session(bot.ctx.engine) as session:
        problem = session.get(ChannelProblem, GONE)
        assert problem.failures == 2 and problem.next_try_at >= repo.utcnow() + timedelta(minutes=14)

    restarted = start_bot()  # the state is in the database: no second report, same backoff
    restarted.checker.run_check(now=start + timedelta(seconds=3))
    assert len(posts_to(slack, GONE)) == 2
    assert len([p for p in posts_to(slack, ALERT_CHANNEL) if "can't post" in p["text"]]) == 1

    slack.archived_channels.clear()  # someone unarchived it
    _backoff_passes(bot.ctx.engine, GONE)
    assert restarted.checker.sender.drain()
    assert sorted(p["text"][:14] for p in posts_to(slack, GONE)[2:]) == ["CRITICAL: SKU1", "CRITICAL: SKU3"]
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
