"""Many workspaces: the bot in OAuth mode, and installs through the real HTTP flow.

    bot = oauth_bot()                                   # fixture (tests/conftest.py)
    t1 = install_workspace(bot, "T1")                   # GET /slack/install -> Slack -> /slack/oauth_redirect
    org = install_workspace(bot, "T9", enterprise_id="E1", org_wide=True)
    bot.command("/stock", "SKU1", team_id=t1.team_id)   # signed, from that workspace
    bot.slack.tokens_used("chat.postMessage")           # which workspace's token each post used

An install goes the way a browser goes: /slack/install answers 302 to slack.com/oauth/v2/authorize
with a signed `state` and a state cookie; the loopback Slack (tests/slack_server.py) hands out a code
for the workspace (approve_install); /slack/oauth_redirect?code=…&state=… with the cookie trades it
(oauth.v2.access on the loopback Slack) for the workspace's own bot token.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Optional
from urllib.parse import parse_qs, urlencode, urlparse

from bot.config import Settings
from bot.tenancy import team_key
from tests.slack_server import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET

STATE_SECRET = "test-state-secret-not-real"
# A fixed Fernet key (32 url-safe base64 bytes), only ever used by tests.
SECRET_KEY = "dGVzdC1rZXktZm9yLXN0b2NrYm90LW9hdXRoLXRlc3Q="


def oauth_settings(settings: Settings) -> Settings:
    """`settings` in OAuth mode: the app's client id and secret, the state secret, the Fernet key; no bot token."""
    return replace(settings, slack_bot_token="", slack_client_id=OAUTH_CLIENT_ID,
                   slack_client_secret=OAUTH_CLIENT_SECRET, slack_state_secret=STATE_SECRET, secret_key=SECRET_KEY)


@dataclass
class Page:
    status: int
    body: str
    headers: dict


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a browser would go on to slack.com: the test does it by hand
        return None


def get(url: str, cookie: str = "") -> Page:
    """GET without following redirects (the test plays the browser)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=10) as response:
            return Page(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Page(error.code, error.read().decode(), dict(error.headers))


@dataclass
class InstallStart:
    authorize_url: str
    state: str
    cookie: str  # name=value, as the browser sends it back
    query: dict


def start_install(bot) -> InstallStart:
    """GET /slack/install: Bolt's 302 to Slack's consent page, with the state and its cookie."""
    page = get(bot.url + "/slack/install")
    assert page.status == 302, (page.status, page.body[:200])
    location = page.headers["Location"]
    query = {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    return InstallStart(location, query["state"], cookie, query)


def finish_install(bot, code: str, state: str, cookie: str) -> Page:
    return get(f"{bot.url}/slack/oauth_redirect?{urlencode({'code': code, 'state': state})}", cookie)


@dataclass
class Installed:
    team_id: Optional[str]  # the workspace (None for an org-wide install)
    enterprise_id: Optional[str]
    org_wide: bool
    installer: str
    token: str  # the bot token the loopback Slack handed out for it

    @property
    def key(self) -> str:
        """The team its rows are stored under (bot.tenancy.team_key)."""
        return team_key(self.team_id, self.enterprise_id, self.org_wide)


def install_workspace(bot, team_id: Optional[str], installer: str = "U0INSTALLER",
                      enterprise_id: Optional[str] = None, org_wide: bool = False) -> Installed:
    """Install the app into `team_id` (or org-wide into `enterprise_id`) through the real HTTP flow."""
    start = start_install(bot)
    code = bot.slack.approve_install(team_id, installer=installer, enterprise_id=enterprise_id, org_wide=org_wide)
    page = finish_install(bot, code, start.state, start.cookie)
    assert page.status == 200, (page.status, page.body[:300])
    workspace = bot.slack.workspaces  # token -> Workspace, filled by oauth.v2.access
    token = [token for token, w in workspace.items()  # the newest: a re-install hands out a new token
             if (w.enterprise_id if org_wide else w.team_id) == (enterprise_id if org_wide else team_id)
             and not w.revoked][-1]
    return Installed(None if org_wide else team_id, enterprise_id, org_wide, installer, token)
