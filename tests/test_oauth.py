"""Install to any workspace (OAuth): the real HTTP flow against the loopback Slack, installations in
the app's database, each workspace answered with its own token."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import yaml
from sqlalchemy import func, select

from bot.app import BOT_SCOPES
from storage import models
from tests.conftest import ALERT_CHANNEL
from tests.slack_server import OAUTH_CLIENT_ID
from tests.workspaces import finish_install, install_workspace, start_install


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


def test_manifest_has_the_redirect_url_and_the_scopes_asked_for(oauth_bot):
    with open("manifest.yml", encoding="utf-8") as handle:
        manifest = yaml.safe_load(handle)
    assert manifest["oauth_config"]["redirect_urls"] == ["https://stockbot.example.com/slack/oauth_redirect"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    assert "/stockbot" in {c["command"] for c in manifest["features"]["slash_commands"]}
    assert ALERT_CHANNEL and time.time()
