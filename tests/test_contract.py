"""The operating contract other deployments rely on: manifest, env names, Procfile."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.digests import ACTION_ACK_DIGEST
from bot.messages import (
    ACTION_ACK,
    ACTION_APPLY_THRESHOLD,
    ACTION_PURCHASE_REQUEST,
    ACTION_REORDERED,
    ACTION_SNOOZE,
    REORDER_MODAL_CALLBACK,
)
from bot.purchase_messages import ACTION_APPROVE_PURCHASE, ACTION_REJECT_PURCHASE

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_ENV = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "DATABASE_URL",
                "ALERT_CHANNEL", "STOCK_SOURCE", "CHECK_INTERVAL_SECONDS", "REMIND_AFTER_HOURS",
                "THRESHOLD_ADMINS", "PORT", "RUN_SCHEDULER", "STOCKBOT_LANG", "OPS_CHANNEL", "STOCK_PUSH_TOKEN",
                "STOCK_SQL_URL", "STOCK_SQL_QUERY", "STOCK_COLUMNS", "OVERSEAS_WAREHOUSES", "AUTO_RECOMPUTE_HOUR",
                "STOCK_EDITORS", "DIGEST_AFTER", "SLACK_CHANNEL_PACE_SECONDS", "QUIET_HOURS", "TZ", "SMTP_URL", "SMTP_FROM",
                "SMS_API_URL", "SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "SMS_FROM", "DINGTALK_API_URL", "WECOM_API_URL",
                "FEISHU_API_URL", "PURCHASE_CHANNEL", "PURCHASE_APPROVERS", "PURCHASE_WEBHOOK_URL", "SELLER_NAME",
                "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET", "STOCKBOT_SECRET_KEY"]
CONTRACT_ENV += ["LOG_FORMAT"]
CONTRACT_ENV += ["AUTO_MIGRATE"]
# Read by bot.sources.tiktok (config.py hands it every TIKTOK_* variable).
TIKTOK_ENV = ["TIKTOK_APP_KEY", "TIKTOK_APP_SECRET", "TIKTOK_SHOP_CIPHER", "TIKTOK_ACCESS_TOKEN",
              "TIKTOK_REFRESH_TOKEN", "TIKTOK_SHOPS", "TIKTOK_API_URL", "TIKTOK_AUTH_URL"]


def test_manifest_declares_what_the_app_listens_to(bot):
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/threshold", "/stock", "/reorder", "/campaign", "/notify", "/supplier", "/purchase",
                        "/stockbot"}
    assert all(c["should_escape"] for c in manifest["features"]["slash_commands"])  # channels arrive as IDs
    assert all(c["url"].endswith("/slack/events") for c in manifest["features"]["slash_commands"])
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened", "message.im", "app_uninstalled",
                                                              "tokens_revoked"]
    assert {"commands", "chat:write", "files:read", "files:write", "im:history", "channels:history",
            "groups:history"} <= set(manifest["oauth_config"]["scopes"]["bot"])  # files:write: stock charts
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # files are dropped in the DM
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True

    # every command the running Bolt app handles is in the manifest, and the reverse
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "listeners").glob("*.py"))
    assert set(re.findall(r'@app\.command\("(/[a-z]+)"\)', source)) == commands
    assert (ACTION_ACK, ACTION_REORDERED, REORDER_MODAL_CALLBACK) == ("ack_restock", "mark_reordered",
                                                                     "reorder_modal")
    assert ACTION_APPLY_THRESHOLD == "apply_threshold"
    assert ACTION_ACK_DIGEST == "ack_digest" and "@app.action(ACTION_ACK_DIGEST)" in source
    assert "@app.action(ACTION_APPLY_THRESHOLD)" in source
    assert ACTION_SNOOZE == "snooze" and "@app.action(ACTION_SNOOZE)" in source
    assert ACTION_PURCHASE_REQUEST == "purchase_request" and "@app.action(ACTION_PURCHASE_REQUEST)" in source
    assert (ACTION_APPROVE_PURCHASE, ACTION_REJECT_PURCHASE) == ("approve_purchase", "reject_purchase")
    assert "@app.action(pm.ACTION_APPROVE_PURCHASE)" in source and "@app.action(pm.ACTION_REJECT_PURCHASE)" in source


def test_env_example_and_readme_document_every_setting():
    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    config_source = (ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    read_by_code = set(re.findall(r'"([A-Z][A-Z_]*[A-Z])"', config_source)) - {"GET"}
    assert read_by_code == set(CONTRACT_ENV)
    tiktok_source = (ROOT / "bot" / "sources" / "tiktok.py").read_text(encoding="utf-8")
    for name in TIKTOK_ENV:
        assert name in tiktok_source or f'{{prefix}}{name[len("TIKTOK_"):]}' in tiktok_source, name
    for name in CONTRACT_ENV + TIKTOK_ENV:
        assert re.search(rf"^{name}=", env_example, re.M), f"{name} missing from .env.example"
        assert f"`{name}`" in readme, f"{name} missing from README"


def test_procfile_runs_web_and_worker():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().strip().splitlines())
    assert lines["web"].strip() == "stockbot run" and lines["worker"].strip() == "stockbot worker"
