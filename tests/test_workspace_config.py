"""`/stockbot config` (a workspace's own settings, admins only), per-workspace push tokens, and what
an uninstall or a token revocation deletes: over real HTTP, signed like Slack, on the real database."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from storage import models
from tests.conftest import http
from tests.workspaces import SECRET_KEY, install_workspace


def push(bot, token: str):
    return http("POST", bot.url + "/api/stock", json.dumps({"items": [{"sku": "SKU1", "available": 5}]}),
                {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})


def new_push_token(bot, team_id: str, admin: str) -> str:
    reply = bot.ask("/stockbot", "config push-token new", user=admin, team_id=team_id)
    return re.search(r"`(sbp_[\w-]+)`", reply).group(1)


def stored(bot, team: str) -> dict[str, models.WorkspaceSetting]:
    with bot.ctx.engine.connect() as conn:
        rows = conn.execute(select(models.WorkspaceSetting).where(models.WorkspaceSetting.team_id == team)).all()
    return {row.key: row for row in rows}


def test_the_installer_is_the_first_admin_and_settings_are_per_workspace(oauth_bot):
    bot = oauth_bot()
    install_workspace(bot, "T1", installer="U0ANA")
    install_workspace(bot, "T2", installer="U0BEN")
    refused = bot.ask("/stockbot", "config alert-channel <#C0T1ALERT|alerts>", user="U0BEN", team_id="T1")
    assert "only this workspace's Stockbot admins" in refused and "<@U0ANA>" in refused
    assert stored(bot, "T1") == {}
    assert "Alert channel: <#C0T1ALERT>" in bot.ask("/stockbot", "config alert-channel <#C0T1ALERT|alerts>",
                                                    user="U0ANA", team_id="T1")
    bot.ask("/stockbot", "config lead-days 5", user="U0ANA", team_id="T1")
    bot.ask("/stockbot", "config overseas-lead-days 30", user="U0ANA", team_id="T1")
    bot.ask("/stockbot", "config admins <@U0CAT|cat> U0DAN12", user="U0ANA", team_id="T1")
    t1 = bot.ctx.workspaces.settings_for("T1")
    assert (t1.alert_channel, t1.lead_days_domestic, t1.lead_days_overseas) == ("C0T1ALERT", 5, 30)
    assert t1.threshold_admins == {"U0CAT", "U0DAN12"}
    t2 = bot.ctx.workspaces.settings_for("T2")
    # The operator's ALERT_CHANNEL / OPS_CHANNEL are channels of another workspace: T2 has none until set
    assert bot.settings.alert_channel and (t2.alert_channel, t2.ops_channel) == ("", "")
    assert t2.threshold_admins == {"U0BEN"}
    # Admins set: the installer is no longer one, the new admins are.
    assert "only this workspace" in bot.ask("/stockbot", "config language zh", user="U0ANA", team_id="T1")
    assert "语言" in bot.ask("/stockbot", "config language zh", user="U0CAT", team_id="T1")
    shown = bot.ask("/stockbot", "config", user="U0CAT", team_id="T1")
    assert "<#C0T1ALERT>" in shown and "5" in shown and "30" in shown and "<@U0DAN12>" in shown
    assert bot.ctx.workspaces.settings_for("T2").language == "en"


@pytest.mark.parametrize("text", ["config alert-channel", "config alert-channel general", "config language fr",
                                  "config lead-days 0", "config lead-days 999", "config lead-days soon",
                                  "config admins bob", "config push-token", "config tiktok app-key",
                                  "config tiktok colour red", "config frobnicate", "help", "config admins"])
def test_bad_input_gets_a_usage_hint_and_changes_nothing(oauth_bot, text):
    bot = oauth_bot()
    install_workspace(bot, "T1", installer="U0ANA")
    before = bot.ctx.workspaces.settings_for("T1")
    reply = bot.ask("/stockbot", text, user="U0ANA", team_id="T1")
    assert "/stockbot config" in reply and "⚠️" in reply, reply
    assert stored(bot, "T1") == {} and bot.ctx.workspaces.settings_for("T1") == before


def test_a_push_token_is_shown_once_stored_encrypted_and_works_for_its_workspace_only(oauth_bot):
    bot = oauth_bot(stock_push_token="env-push-token-nobody-owns")
    install_workspace(bot, "T1", installer="U0ANA")
    install_workspace(bot, "T2", installer="U0BEN")
    t1_token, t2_token = new_push_token(bot, "T1", "U0ANA"), new_push_token(bot, "T2", "U0BEN")
    row = stored(bot, "T1")["push_token"]
    assert row.secret and t1_token not in row.value and row.value_hash and t1_token not in row.value_hash
    assert bot.ctx.workspaces.team_for_push_token(t1_token) == "T1"
    assert bot.ctx.workspaces.team_for_push_token(t2_token) == "T2"
    assert push(bot, t1_token).status == 200 and push(bot, t2_token).status == 200
    assert push(bot, "sbp_made-up").status == 401
    # A new token replaces the old one.
    newer = new_push_token(bot, "T1", "U0ANA")
    assert push(bot, t1_token).status == 401 and push(bot, newer).status == 200
    # Shown masked afterwards, never in full.
    shown = bot.ask("/stockbot", "config", user="U0ANA", team_id="T1")
    assert newer not in shown and newer[-4:] in shown
    # The environment's STOCK_PUSH_TOKEN is nobody's in OAuth mode.
    assert push(bot, "env-push-token-nobody-owns").status == 401


def test_tiktok_credentials_are_stored_encrypted_and_reach_the_workspace_settings(oauth_bot):
    bot = oauth_bot()
    install_workspace(bot, "T1", installer="U0ANA")
    reply = bot.ask("/stockbot", "config tiktok app-key KEY123 app-secret SECRET-abcdef-987", user="U0ANA",
                    team_id="T1")
    assert "SECRET-abcdef-987" not in reply and "access-token" in reply
    bot.ask("/stockbot", "config tiktok shop-cipher CIPHER1 access-token ACCESS-xyz-0001 refresh-token REFRESH-q-2",
            user="U0ANA", team_id="T1")
    rows = stored(bot, "T1")
    assert rows["tiktok.TIKTOK_APP_SECRET"].secret and "SECRET-abcdef-987" not in rows["tiktok.TIKTOK_APP_SECRET"].value
    assert not rows["tiktok.TIKTOK_APP_KEY"].secret
    env = dict(bot.ctx.workspaces.settings_for("T1").tiktok_env)
    assert env == {"TIKTOK_APP_KEY": "KEY123", "TIKTOK_APP_SECRET": "SECRET-abcdef-987",
                   "TIKTOK_SHOP_CIPHER": "CIPHER1", "TIKTOK_ACCESS_TOKEN": "ACCESS-xyz-0001",
                   "TIKTOK_REFRESH_TOKEN": "REFRESH-q-2"}
    from bot.sources.tiktok import load_tiktok_config

    config = load_tiktok_config(env)
    assert config.app_key == "KEY123" and config.shops[0].shop_cipher == "CIPHER1"
    assert bot.ctx.workspaces.settings_for("T2").tiktok_env == ()
    bot.ask("/stockbot", "config tiktok app-key APPKEY-12345<!x>", user="U0ANA", team_id="T1")
    shown = bot.ask("/stockbot", "config", user="U0ANA", team_id="T1")
    assert "<!x>" not in shown and "&lt;!x&gt;" in shown  # the seller's text, escaped
    assert "removed" in bot.ask("/stockbot", "config tiktok off", user="U0ANA", team_id="T1")
    assert bot.ctx.workspaces.settings_for("T1").tiktok_env == ()


def uninstall_event(bot, team_id, kind: str, enterprise_id=None, org_wide=False):
    event = {"type": kind}
    if kind == "tokens_revoked":
        event["tokens"] = {"bot": ["U0BOT"]}
    result = bot.event(event, team_id=team_id, enterprise_id=enterprise_id, org_wide=org_wide)
    assert result.status == 200
    bot.settle()


@pytest.mark.parametrize("kind", ["app_uninstalled", "tokens_revoked"])
def test_uninstall_or_revocation_deletes_that_workspaces_tokens_and_secrets_only(oauth_bot, kind):
    bot = oauth_bot()
    t1 = install_workspace(bot, "T1", installer="U0ANA")
    install_workspace(bot, "T2", installer="U0BEN")
    org = install_workspace(bot, "T9", enterprise_id="E1", installer="U0EVE", org_wide=True)
    bot.ask("/stockbot", "config alert-channel <#C0T1ALERT|alerts>", user="U0ANA", team_id="T1")
    t1_push, t2_push = new_push_token(bot, "T1", "U0ANA"), new_push_token(bot, "T2", "U0BEN")
    assert push(bot, t1_push).status == 200

    bot.slack.revoke(t1.token)
    uninstall_event(bot, "T1", kind)
    assert set(bot.ctx.workspaces.teams()) == {"T2", "E1"}
    assert bot.ctx.workspaces.bot_token("T1") is None
    with pytest.raises(LookupError):
        bot.ctx.workspaces.client_for("T1")
    assert push(bot, t1_push).status == 401 and push(bot, t2_push).status == 200
    assert set(stored(bot, "T1")) == {"alert_channel"}, "plain settings stay for a re-install; secrets go"
    with bot.ctx.engine.connect() as conn:
        teams = {row.team_id for row in conn.execute(select(models.slack_installations))}
    assert "T1" not in teams and "T2" in teams
    # A command from the uninstalled workspace is told to reinstall, never answered with another's token.
    result = bot.command("/stock", "SKU1", team_id="T1")
    assert result.status == 200 and t1.token not in bot.slack.tokens_used("auth.test")[-1:]

    # The org-wide install goes the same way, keyed by its enterprise.
    bot.slack.revoke(org.token)
    uninstall_event(bot, "T7", kind, enterprise_id="E1", org_wide=True)
    assert bot.ctx.workspaces.teams() == ["T2"]

    # A re-install finds its settings again.
    install_workspace(bot, "T1", installer="U0ANA")
    assert bot.ctx.workspaces.settings_for("T1").alert_channel == "C0T1ALERT"


def test_single_workspace_config_shows_the_environment_and_changes_nothing(start_bot):
    bot = start_bot(stock_push_token="env-push-token-1234", threshold_admins=frozenset({"U0ADMIN"}))
    reply = bot.ask("/stockbot", "config", user="U0ADMIN")
    assert "environment" in reply and "<#C0ALERTS>" in reply and "env-push-token-1234" not in reply
    assert "1234" in reply  # masked, but recognisable
    reply = bot.ask("/stockbot", "config alert-channel <#C0OTHER|x>", user="U0ADMIN")
    assert "environment" in reply and bot.ctx.workspaces.settings_for().alert_channel == "C0ALERTS"
    assert "admins" in bot.ask("/stockbot", "config", user="U0SOMEONE")
    with bot.ctx.engine.connect() as conn:
        assert conn.execute(select(models.WorkspaceSetting)).all() == []
    assert SECRET_KEY
