"""Install to any workspace (OAuth): the real HTTP flow against the loopback Slack, installations in
the app's database, each workspace answered with its own token."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest
import yaml
from sqlalchemy import func, select

from bot.app import BOT_SCOPES
from bot.config import ConfigError, load_settings
from storage import models
from tests.conftest import http
from tests.slack_server import OAUTH_CLIENT_ID
from tests.workspaces import SECRET_KEY, finish_install, get, install_workspace, start_install


def _installed_rows(bot) -> int:
    with bot.ctx.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(models.slack_bots)).scalar_one()


def test_install_redirects_to_slack_with_signed_state_and_stores_the_installation(oauth_bot):
    bot = oauth_bot()
    start = start_install(bot)
    assert urlparse(start.authorize_url).netloc == "slack.com"
    assert urlparse(start.authorize_url).path == "/oauth/v2/authorize"
    assert start.query["client_id"] == OAUTH_CLIENT_ID
    assert set(start.query["scope"].split(",")) == set(BOT_SCOPES)
    code = bot.slack.approve_install("T1", installer="U0ALICE")
    page = finish_install(bot, code, start.state, start.cookie)
    assert page.status == 200, page.body[:300]
    assert bot.slack.of("oauth.v2.access"), "the code was traded on the loopback Slack (SLACK_API_URL)"
    assert bot.ctx.workspaces.teams() == ["T1"]
    assert bot.ctx.workspaces.installer("T1") == "U0ALICE"
    # The same state does not install twice.
    again = finish_install(bot, bot.slack.approve_install("T1"), start.state, start.cookie)
    assert again.status >= 400 and _installed_rows(bot) == 1


def test_bad_forged_or_expired_state_gets_a_friendly_page_and_stores_nothing(oauth_bot):
    bot = oauth_bot()
    start = start_install(bot)
    nonce, expires, signature = start.state.split(".")
    forged = f"{nonce}.{int(expires) + 3600}.{signature}"
    expired_store = bot.app.oauth_flow.settings.state_store
    old = expired_store.expiration_seconds
    expired_store.expiration_seconds = -1
    try:
        expired = start_install(bot)
    finally:
        expired_store.expiration_seconds = old
    for state, cookie in ((forged, f"slack-app-oauth-state={forged}"), ("nonsense", "slack-app-oauth-state=nonsense"),
                          (expired.state, expired.cookie), (start.state, "")):
        page = finish_install(bot, bot.slack.approve_install("T1"), state, cookie)
        assert 400 <= page.status < 500, (page.status, state)
        assert "<html" in page.body.lower() and "Traceback" not in page.body
    assert _installed_rows(bot) == 0 and bot.ctx.workspaces.teams() == []
    assert not bot.slack.of("oauth.v2.access"), "a refused state never reaches Slack"


def test_each_workspace_is_answered_with_its_own_token(oauth_bot):
    bot = oauth_bot()
    t1, t2 = install_workspace(bot, "T1"), install_workspace(bot, "T2")
    org = install_workspace(bot, "T9", enterprise_id="E1", org_wide=True)
    assert len({t1.token, t2.token, org.token}) == 3
    assert set(bot.ctx.workspaces.teams()) == {"T1", "T2", "E1"}
    for installed, where in ((t1, {"team_id": "T1"}), (t2, {"team_id": "T2"}),
                             (org, {"team_id": "T7", "enterprise_id": "E1"})):
        bot.slack.reset()
        channel = f"C0{(installed.team_id or installed.enterprise_id)}ALERTS"
        reply = bot.ask("/threshold", f"set SKU-{installed.key} 100 critical 50 channel <#{channel}|alerts>",
                        user=installed.installer, **where)
        assert f"SKU-{installed.key}" in reply
        assert bot.slack.tokens_used("conversations.info") == [installed.token]


def test_a_workspace_that_never_installed_is_told_to_install(oauth_bot):
    bot = oauth_bot()
    install_workspace(bot, "T1")
    result = bot.command("/stock", "SKU1", team_id="T5")
    assert result.status == 200
    assert "reinstall" in (result.body + str(bot.slack.responses(result.response_key))).lower()


def test_manifest_has_the_redirect_url_and_the_scopes_asked_for():
    with open("manifest.yml", encoding="utf-8") as handle:
        manifest = yaml.safe_load(handle)
    assert manifest["oauth_config"]["redirect_urls"] == ["https://stockbot.example.com/slack/oauth_redirect"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    assert "/stockbot" in {c["command"] for c in manifest["features"]["slash_commands"]}


OAUTH_ENV = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "client-secret-value",
             "SLACK_STATE_SECRET": "state-secret-value", "STOCKBOT_SECRET_KEY": SECRET_KEY}


@pytest.mark.parametrize("env, named", [
    ({"SLACK_CLIENT_ID": "1111.2222"}, "SLACK_CLIENT_SECRET, SLACK_STATE_SECRET is not set"),
    ({**OAUTH_ENV, "SLACK_STATE_SECRET": ""}, "SLACK_STATE_SECRET is not set"),
    ({**OAUTH_ENV, "STOCKBOT_SECRET_KEY": ""}, "STOCKBOT_SECRET_KEY must be set"),
    ({**OAUTH_ENV, "STOCKBOT_SECRET_KEY": "not-a-fernet-key"}, "STOCKBOT_SECRET_KEY is not a Fernet key"),
    ({**OAUTH_ENV, "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN and SLACK_CLIENT_ID"),
])
def test_half_configured_oauth_stops_with_the_variable_named_never_its_value(env, named):
    with pytest.raises(ConfigError) as raised:
        load_settings(env, dotenv=False)
    assert named in str(raised.value)
    for value in ("client-secret-value", "state-secret-value", SECRET_KEY, "not-a-fernet-key"):
        assert value not in str(raised.value)


def test_oauth_settings_load_and_never_print_their_secrets():
    settings = load_settings(OAUTH_ENV, dotenv=False)
    assert settings.oauth_mode and not load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}, dotenv=False).oauth_mode
    assert (settings.slack_client_secret, settings.secret_key) == ("client-secret-value", SECRET_KEY)
    for value in ("client-secret-value", "state-secret-value", SECRET_KEY):
        assert value not in repr(settings) and value not in str(settings)


def test_each_workspace_has_one_paced_client_that_waits_out_slacks_429(oauth_bot):
    bot = oauth_bot()
    t1, t2 = install_workspace(bot, "T1"), install_workspace(bot, "T2")
    workspaces = bot.ctx.workspaces
    assert workspaces.client_for("T1") is workspaces.client_for("T1")
    assert workspaces.client_for("T1") is not workspaces.client_for("T2")
    assert workspaces.client_for("T2").token == t2.token
    bot.slack.rate_limit("conversations.info", times=1, retry_after="1")
    started = time.monotonic()
    reply = bot.ask("/threshold", "set SKU1 100 critical 50 channel <#C0T1ALERTS|alerts>", user=t1.installer,
                    team_id="T1")
    assert "SKU1" in reply and time.monotonic() - started >= 1.0
    assert bot.slack.tokens_used("conversations.info") == [t1.token, t1.token]  # refused once, then again after 1 s


def test_single_workspace_mode_has_no_install_pages(bot):
    assert get(bot.url + "/slack/install").status == 404
    assert get(bot.url + "/slack/oauth_redirect?code=x&state=y").status == 404
    assert bot.ctx.workspaces.teams() == [""] and bot.ctx.workspaces.team_for_push_token("anything") is None


def test_install_pages_answer_get_only(oauth_bot):
    bot = oauth_bot()
    assert http("POST", bot.url + "/slack/install", "x").status == 405
    assert _installed_rows(bot) == 0
