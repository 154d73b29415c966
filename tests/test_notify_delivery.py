"""Alerts reach e-mail, DingTalk, WeCom, Feishu, SMS and webhooks through the outbox: the real
check writes them, the real sender delivers them to loopback peers that verify signatures and
limits as the services document them; retries, refusals and the OPS_CHANNEL report."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from urllib.parse import unquote_plus

from sqlmodel import col, select

from bot.sources import SalesRow
from storage import repo
from storage.db import Session
from storage.models import Alert, ChannelProblem, NotifyRule, OutboxEntry
from tests.conftest import ALERT_CHANNEL, write_stock
from tests.notify_servers import OPS, servers_fixture, sms_segments, smtp_fixture, start, text_and_html  # noqa: F401


def threshold(bot, sku: str, warning: int, critical: int) -> None:
    with Session(bot.ctx.engine) as session:
        repo.save_threshold(session, sku, warning, critical, None, "U0ADMIN", repo.utcnow())
        session.commit()


def stock(path, rows: dict) -> None:
    """An export with product names (some long, some Chinese)."""
    lines = ["sku,name,available"] + [f"{sku},{name},{available}" for sku, (name, available) in rows.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def deliver_until(bot, condition, timeout: float = 10.0):
    """Run the sender until `condition()` holds (the test's stand-in for the sender thread)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "not delivered in time"
        bot.checker.sender.deliver_due()
        time.sleep(0.05)
    return value


def due_now(bot) -> None:
    """Fast-forward stored backoffs: every waiting entry and held-back target is due now."""
    past = repo.utcnow() - timedelta(seconds=1)
    with Session(bot.ctx.engine) as session:
        for entry in session.exec(select(OutboxEntry).where(col(OutboxEntry.done).is_(False))):
            entry.next_try_at = past
            session.add(entry)
        for problem in session.exec(select(ChannelProblem)):
            problem.next_try_at = past
            session.add(problem)
        session.commit()


def add_rules(bot, servers, *texts: str) -> None:
    for text in texts:
        assert "Rule #" in bot.ask("/notify", text.format(url=servers.url)), text


def test_an_alert_and_its_escalation_reach_every_channel_natively(start_bot, servers, smtp, stock_file, slack):
    bot = start(start_bot, servers, smtp)
    servers.known.dingtalk["dt-token-1234567"] = "SECdingtalk-secret-1"
    servers.known.wecom.add("wc-key-1234567")
    servers.known.feishu["fs-hook-1234567"] = "feishu-secret-1"
    servers.known.webhooks["/hooks/erp"] = "whsec-erp-1"
    add_rules(bot, servers, "add all email buyer@shop.example",
              "add all dingtalk {url}/robot/send?access_token=dt-token-1234567 secret SECdingtalk-secret-1",
              "add all wecom {url}/cgi-bin/webhook/send?key=wc-key-1234567 lang zh",
              "add all feishu {url}/open-apis/bot/v2/hook/fs-hook-1234567 secret feishu-secret-1",
              "add critical sms +8613800000000 lang zh", "add all sms +14155550100",
              "add all webhook {url}/hooks/erp secret whsec-erp-1")
    threshold(bot, "DRESS-RED-XL", 1000, 500)
    end = repo.utcnow().date() - timedelta(days=1)
    bot.checker.write_sales("import", [SalesRow("DRESS-RED-XL", end - timedelta(days=d), 100) for d in range(60)])
    name = "碎花连衣裙 红色 XL 加长款 夏季新品 雪纺 收腰 显瘦"
    stock(stock_file, {"DRESS-RED-XL": (name, 300)})
    assert bot.checker.run_check().posted == ["DRESS-RED-XL:CRITICAL"]
    assert servers.refused == []
    with Session(bot.ctx.engine) as session:
        alert = session.exec(select(Alert)).one()
    link = f"https://slack.com/archives/{ALERT_CHANNEL}/p{alert.ts.replace('.', '')}"

    [mail] = smtp.messages
    assert (mail["From"], mail["To"]) == ("stockbot@shop.example", "buyer@shop.example")
    assert re.fullmatch(r"\[CRITICAL\] DRESS-RED-XL — \d+(\.\d)? days of cover", mail["Subject"]), mail["Subject"]
    text, html = text_and_html(mail)
    assert "Available: 300 (level 500)" in text and link in text and name in text
    assert f'<a href="{link}">' in html and "<h2" in html and "Available: 300 (level 500)" in html

    [ding] = servers.of("dingtalk")  # signed: the server recomputed timestamp + sign from the secret
    assert {"timestamp", "sign"} <= set(ding.query)
    markdown = ding.json()["markdown"]
    assert "Stockbot" in markdown["title"] and "DRESS-RED-XL" in markdown["text"] and f"]({link})" in markdown["text"]
    [wecom] = servers.of("wecom")
    assert "库存告急" in wecom.json()["markdown"]["content"] and "可用：300（线 500）" in wecom.json()["markdown"]["content"]
    [feishu] = servers.of("feishu")
    post = feishu.json()["content"]["post"]["en_us"]
    assert post["title"] == "Stockbot · CRITICAL: DRESS-RED-XL" and {"tag": "a", "text": "Open in Slack to acknowledge",
                                                                    "href": link} in post["content"][-1]
    [sms_zh] = servers.of("sms")  # the all-tiers SMS rule waits for OUT OF STOCK
    body = dict(p.split("=", 1) for p in sms_zh.body.decode().split("&"))
    sms_text = unquote_plus(body["Body"])
    assert sms_segments(sms_text) == 1 and "DRESS-RED-XL" in sms_text and "库存告急" in sms_text
    [hook] = servers.of("webhook")
    facts = hook.json()
    assert {k: facts[k] for k in ("event", "sku", "name", "tier", "available", "warning_level", "critical_level",
                                  "on_order", "warehouse", "slack_link")} == {
        "event": "alert", "sku": "DRESS-RED-XL", "name": name, "tier": "CRITICAL", "available": 300,
        "warning_level": 1000, "critical_level": 500, "on_order": 0, "warehouse": None, "slack_link": link}
    assert facts["days_of_cover"] > 0 and facts["delivery_id"] == hook.headers["X-Stockbot-Delivery"]
    with Session(bot.ctx.engine) as session:
        entry = session.get(OutboxEntry, int(facts["delivery_id"]))
        assert entry.kind == "notify_webhook" and entry.done and entry.error is None

    # sold out: an escalation, now also for the OUT OF STOCK-only SMS rule
    stock(stock_file, {"DRESS-RED-XL": (name, 0)})
    assert bot.checker.run_check().posted == ["DRESS-RED-XL:OUT OF STOCK"]
    assert len(smtp.messages) == 2 and smtp.messages[1]["Subject"] == "[OUT OF STOCK] DRESS-RED-XL — 0 left"
    hook = servers.of("webhook")[-1].json()
    assert (hook["event"], hook["tier"], hook["previous_tier"]) == ("escalation", "OUT_OF_STOCK", "CRITICAL")
    texts = [unquote_plus(dict(p.split("=", 1) for p in r.body.decode().split("&"))["Body"]) for r in servers.of("sms")]
    assert len(texts) == 3 and all(sms_segments(t) == 1 for t in texts)
    assert texts[1].startswith("Stockbot 已断货：DRESS-RED-XL")
    assert texts[2].startswith("Stockbot OUT OF STOCK: DRESS-RED-XL")
    assert servers.refused == [] and not slack.posts(OPS)


def test_a_digest_is_one_message_per_rule_within_limits_and_recoveries_are_summed_up(start_bot, servers, stock_file):
    bot = start(start_bot, servers)
    servers.known.wecom.add("wc-key")
    servers.known.webhooks["/hooks/all"] = None
    servers.known.webhooks["/hooks/mugs"] = None
    add_rules(bot, servers, "add all wecom {url}/cgi-bin/webhook/send?key=wc-key lang zh",
              "add all webhook {url}/hooks/all", "add warning webhook {url}/hooks/mugs sku MUG-*")
    long_name = "超长商品名称" * 40  # 240 characters, 720 bytes: twelve rows would not fit in 4096 bytes
    skus = {f"MUG-{n:02d}": (long_name, 900 - 50 * n) for n in range(8)}
    skus.update({f"CUP-{n:02d}": (long_name, 900 - 50 * n) for n in range(4)})
    for sku in skus:
        threshold(bot, sku, 1000, 100)
    stock(stock_file, skus)
    assert bot.checker.run_check().digests == 1
    [wecom] = servers.of("wecom")  # one message, accepted: within WeCom's 4096 bytes
    content = wecom.json()["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096 and "12 个 SKU" in content and "MUG-07" in content
    [everything] = [r.json() for r in servers.of("webhook") if r.path == "/hooks/all"]
    [mugs] = [r.json() for r in servers.of("webhook") if r.path == "/hooks/mugs"]
    assert everything["event"] == "digest" and everything["count"] == 12 and len(everything["items"]) == 12
    assert everything["items"][0]["sku"] == "MUG-07"  # the most urgent first
    assert mugs["count"] == 8 and {i["sku"] for i in mugs["items"]} == {f"MUG-{n:02d}" for n in range(8)}

    stock(stock_file, {sku: (long_name, 5000) for sku in skus})
    assert bot.checker.run_check().recovered == 12
    recovered = [r.json() for r in servers.of("webhook")[2:]]
    assert sorted((r["event"], r["count"]) for r in recovered) == [("recovery_summary", 8), ("recovery_summary", 12)]
    assert len(servers.of("wecom")) == 2 and "12 个 SKU 已恢复" in servers.of("wecom")[1].json()["markdown"]["content"]


def test_reminders_and_recoveries_follow_the_alert(start_bot, servers, stock_file):
    bot = start(start_bot, servers)
    servers.known.webhooks["/hooks/erp"] = None
    add_rules(bot, servers, "add all webhook {url}/hooks/erp")
    threshold(bot, "SKU123", 1000, 100)
    write_stock(stock_file, {"SKU123": 800})
    bot.checker.run_check()
    bot.checker.run_check(now=repo.utcnow() + timedelta(hours=25))
    write_stock(stock_file, {"SKU123": 5000})
    bot.checker.run_check(now=repo.utcnow() + timedelta(hours=26))
    events = [(r.json()["event"], r.json()["available"]) for r in servers.of("webhook")]
    assert events == [("alert", 800), ("reminder", 800), ("recovery", 5000)]


def test_a_failing_target_is_retried_not_duplicated_and_reported_once(start_bot, servers, stock_file, slack):
    bot = start(start_bot, servers)
    token = "hook-token-0123456789"
    servers.known.webhooks[f"/hooks/{token}"] = "s3cret"
    add_rules(bot, servers, "add all webhook {url}/hooks/" + token + " secret s3cret")
    threshold(bot, "SKU1", 1000, 100)
    servers.fail_next = [500]
    write_stock(stock_file, {"SKU1": 800})
    bot.checker.run_check()
    assert len(servers.attempts) == 1 and servers.of("webhook") == []
    deliver_until(bot, lambda: servers.of("webhook"))  # after its backoff (2 s)
    assert len(servers.of("webhook")) == 1 and len(servers.attempts) == 2
    assert len({a.headers["X-Stockbot-Delivery"] for a in servers.attempts}) == 1  # one idempotency key
    assert not slack.posts(OPS)  # one failure is not worth a report

    servers.fail_next = [503, 500, 502, 500]
    write_stock(stock_file, {"SKU1": 50})
    bot.checker.run_check()
    for _ in range(3):
        due_now(bot)
        bot.checker.sender.deliver_due()
    [report] = slack.posts(OPS)
    assert "notification rule #1" in report["text"] and "http_50" in report["text"]
    assert token not in report["text"] and "s3cret" not in report["text"] and "ho…89" in report["text"]
    due_now(bot)
    deliver_until(bot, lambda: len(servers.of("webhook")) == 2)
    assert servers.of("webhook")[1].json()["event"] == "escalation"
    deliver_until(bot, lambda: len(slack.posts(OPS)) == 2)
    assert "works again" in slack.posts(OPS)[1]["text"]
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(ChannelProblem)).all() == []


def test_a_target_that_refuses_for_good_ends_the_message_and_is_reported_once(start_bot, servers, stock_file, slack,
                                                                              caplog):
    caplog.set_level(logging.DEBUG)
    bot = start(start_bot, servers)
    servers.known.dingtalk["dt-token-abcdef"] = "SECthe-real-secret"
    add_rules(bot, servers, "add all dingtalk {url}/robot/send?access_token=dt-token-abcdef secret SECa-wrong-one")
    for sku in ("SKU1", "SKU2"):
        threshold(bot, sku, 1000, 100)
    write_stock(stock_file, {"SKU1": 800, "SKU2": 700})
    bot.checker.run_check()
    assert [r.answer["errcode"] for r in servers.refused] == [310000, 310000]  # the server checked the signature
    with Session(bot.ctx.engine) as session:
        entries = session.exec(select(OutboxEntry).where(OutboxEntry.kind == "notify_dingtalk")).all()
        assert [(e.done, e.attempts, e.error) for e in entries] == [(True, 1, "final_dingtalk_310000")] * 2
        assert session.exec(select(NotifyRule)).one().secret == "SECa-wrong-one"
    [report] = slack.posts(OPS)
    assert "refused a stock alert for good" in report["text"] and "310000" in report["text"]
    assert "dt-token-abcdef" not in report["text"] and "SECa-wrong-one" not in report["text"]
    assert "dt-token-abcdef" not in caplog.text and "SECa-wrong-one" not in caplog.text  # never logged
    assert "final_dingtalk_310000" in caplog.text
