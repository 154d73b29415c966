"""`/notify add|list|remove|test` through signed slash commands: bad input answered and nothing
stored, admins only, targets and secrets masked, Slack's escaping of links undone."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.core.commands import CommandError
from bot.core.notify import parse_notify
from storage.db import Session
from storage.models import NotifyRule, OutboxEntry
from tests.notify_servers import servers_fixture, smtp_fixture, start  # noqa: F401  (fixtures)


def stored(bot) -> list[NotifyRule]:
    with Session(bot.ctx.engine) as session:
        return list(session.exec(select(NotifyRule)).all())


def test_bad_input_gets_a_clear_reply_and_nothing_is_stored(start_bot, servers, smtp):
    bot = start(start_bot, servers, smtp)
    cases = {
        "add all pager +8613800000000": "`pager` is not a kind I can send to",
        "add all email buyer(at)shop.example": "is not an e-mail address",
        "add all email <mailto:buyer@|buyer@>": "is not an e-mail address",
        "add all webhook ftp://erp.example/hook": "is not a web address",
        "add all webhook erp.example/hook": "is not a web address",
        "add all sms 13800000000": "is not a phone number in international form",
        "add all sms +86-abc": "is not a phone number in international form",
        "add urgent email buyer@shop.example": "`urgent` is not a tier",
        "add all email buyer@shop.example lang fr": "`fr` is not a language",
        "add all email buyer@shop.example secret abc": "has no signing secret",
        # a WeCom URL given as DingTalk, and a robot URL on a host Stockbot was not told about
        f"add all dingtalk {servers.url}/cgi-bin/webhook/send?key=abc": "is not a DingTalk robot webhook",
        "add all feishu https://evil.example/open-apis/bot/v2/hook/abc": "is not a Feishu/Lark custom bot webhook",
        "add all wecom": "Put the wecom target after the kind",
        "remove x": "Which rule?",
    }
    for text, expected in cases.items():
        reply = bot.ask("/notify", text)
        assert expected in reply, (text, reply)
        assert "*Usage:*" in reply  # and how to write it
    assert stored(bot) == []


def test_only_admins_may_use_notify(start_bot, servers, smtp):
    bot = start(start_bot, servers, smtp, threshold_admins=frozenset({"U0ADMIN"}))
    reply = bot.ask("/notify", "add all email buyer@shop.example", user="U0BUYER")
    assert "admin" in reply.lower() and stored(bot) == []
    assert "admin" in bot.ask("/notify", "list", user="U0BUYER").lower()
    assert "Rule #1" in bot.ask("/notify", "add all email buyer@shop.example", user="U0ADMIN")
    assert [r.created_by for r in stored(bot)] == ["U0ADMIN"]


def test_add_list_masks_targets_and_secrets_remove_ends_waiting_messages(start_bot, servers, smtp):
    bot = start(start_bot, servers, smtp)
    token, secret = "ab4f0c2d9e8b7a6f5e4d3c2b1a09f", "SEC0123456789abcdef0123456789abcdef"
    # Slack sends links escaped (should_escape): <url> with &amp; for &
    reply = bot.ask("/notify", f"add critical dingtalk <{servers.url}/robot/send?access_token={token}&amp;x=1> "
                               f"secret {secret} sku DRESS-* lang zh")
    assert "Rule #1" in reply and "CRITICAL and OUT OF STOCK" in reply and "(signed)" in reply
    assert token not in reply and secret not in reply and "ab…9f" in reply
    [rule] = stored(bot)
    assert (rule.target, rule.secret, rule.tier, rule.sku_prefix, rule.lang) == (
        f"{servers.url}/robot/send?access_token={token}&x=1", secret, "CRITICAL", "DRESS-*", "zh")

    reply = bot.ask("/notify", "add all sms +86 138-0000-0000".replace(" 138", "138"))
    assert "OUT OF STOCK only" in reply and "name a tier" in reply
    assert stored(bot)[1].tier == "OUT_OF_STOCK" and stored(bot)[1].target == "+8613800000000"
    assert stored(bot)[1].target not in reply
    bot.ask("/notify", "add warning sms +8613900000000")
    assert stored(bot)[2].tier == "WARNING"  # a tier named explicitly is kept
    bot.ask("/notify", f"add all webhook {servers.url}/hooks/erp/Zk3r9QmXv7Lp2 secret whsec-not-shown")
    bot.ask("/notify", "add all email <mailto:buyer@shop.example|buyer@shop.example>")

    listing = bot.ask("/notify", "list")
    for rule in stored(bot):
        assert f"#{rule.id}" in listing
        if rule.kind != "email":
            assert rule.target not in listing
        assert not rule.secret or rule.secret not in listing
    assert token not in listing and "Zk3r9QmXv7Lp2" not in listing and "whsec" not in listing
    assert "access_token=ab…9f" in listing and "buyer@shop.example" in listing and "+861…0000" in listing

    # a message waiting for rule 4 ends with it; the number is never reused
    with Session(bot.ctx.engine) as session:
        session.add(OutboxEntry(key="notify:4:SKU1", kind="notify_webhook", channel="notify:4", payload="{}",
                                created_at=rule.created_at, next_try_at=rule.created_at.replace(year=2100)))
        session.commit()
    assert "Rule #4 removed" in bot.ask("/notify", "remove 4")
    assert "no rule #4" in bot.ask("/notify", "remove 4")
    with Session(bot.ctx.engine) as session:
        entry = session.exec(select(OutboxEntry).where(OutboxEntry.channel == "notify:4")).one()
        assert entry.done and entry.error == "rule_removed"
    assert "Rule #6" in bot.ask("/notify", "add all email other@shop.example")
    assert {r.id for r in stored(bot)} == {1, 2, 3, 5, 6}


def test_email_and_sms_need_their_settings(start_bot, servers):
    bot = start(start_bot, servers, None, sms_account_sid="")
    assert "set `SMTP_URL` and `SMTP_FROM` first" in bot.ask("/notify", "add all email buyer@shop.example")
    assert "set `SMS_ACCOUNT_SID`" in bot.ask("/notify", "add all sms +8613800000000")
    assert stored(bot) == []


def test_notify_test_sends_to_that_target_and_says_what_it_answered(start_bot, servers):
    bot = start(start_bot, servers)
    servers.known.webhooks["/hooks/ok"] = "s3cret-value"
    servers.known.dingtalk["tok-good-000000"] = "SECright"
    bot.ask("/notify", f"add all webhook {servers.url}/hooks/ok secret s3cret-value")
    bot.ask("/notify", f"add all dingtalk {servers.url}/robot/send?access_token=tok-good-000000 secret SECwrong")
    assert "Test message sent to rule #1" in bot.ask("/notify", "test 1")
    [hook] = servers.of("webhook")
    assert hook.json()["event"] == "test" and hook.headers["X-Stockbot-Delivery"].startswith("test-1-")
    reply = bot.ask("/notify", "test 2")
    assert "refused the test: `final_dingtalk_310000`" in reply and "signature" in reply
    assert "SECwrong" not in reply and "tok-good-000000" not in reply
    assert "no rule #9" in bot.ask("/notify", "test 9")
    servers.stop()
    assert "couldn't reach rule #1" in bot.ask("/notify", "test 1")


def test_parsing_is_pure_and_unwraps_slack_links():
    hosts = {"dingtalk": ("https://oapi.dingtalk.com",), "wecom": ("https://qyapi.weixin.qq.com",),
             "feishu": ("https://open.feishu.cn",)}
    request = parse_notify("add oos wecom <https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K1> warehouse SZ-01",
                           hosts)
    assert (request.tier, request.kind, request.target, request.warehouse) == (
        "OUT_OF_STOCK", "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K1", "SZ-01")
    assert parse_notify("add 钉钉 https://oapi.dingtalk.com/robot/send?access_token=T", hosts).kind == "dingtalk"
    with pytest.raises(CommandError) as error:
        parse_notify("add all wecom https://qyapi.weixin.qq.com/cgi-bin/webhook/send", hosts)  # no key
    assert error.value.code == "notify_not_wecom"
