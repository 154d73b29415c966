"""`/stockbot config …` (a workspace's own settings) and, in OAuth mode, `app_uninstalled` and
`tokens_revoked` (that workspace's tokens and stored secrets are deleted; its stock data stays).

The listener only acks; reading the workspace's settings, the admin check and every write happen
after the ack (AppContext.after_ack), answered through respond() (ephemeral)."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot import vault
from bot.config import Settings
from bot.core import workspace_config as wc
from bot.core.commands import CommandError
from bot.i18n import t
from bot.messages import channel_text, command_error_text, mention, usage_text
from bot.slack_text import Mrkdwn, join, outside
from bot.tenancy import current_team, team_key
from bot.workspaces import PUSH_TOKEN_KEY

log = logging.getLogger(__name__)


def settings_lines(lang: str, settings: Settings) -> list[Mrkdwn]:
    """The settings a workspace works with (environment overlaid with its own), secrets masked."""
    tiktok = dict(settings.tiktok_env)
    app_key = tiktok.get("TIKTOK_APP_KEY", "")
    return [
        t(lang, "config.alert_channel", value=channel_text(lang, settings.alert_channel)
          if settings.alert_channel else t(lang, "config.not_set")),
        t(lang, "config.ops_channel", value=channel_text(lang, settings.ops_channel)
          if settings.ops_channel else t(lang, "config.same_as_alerts")),
        t(lang, "config.admins", value=join(" ", (mention(u) for u in sorted(settings.threshold_admins)))
          if settings.threshold_admins else t(lang, "config.everyone")),
        t(lang, "config.language", value=Mrkdwn(f"`{settings.language}`")),
        t(lang, "config.lead_days", domestic=settings.lead_days_domestic, overseas=settings.lead_days_overseas),
        t(lang, "config.push_token", value=Mrkdwn(f"`{wc.mask(settings.stock_push_token)}`")
          if settings.stock_push_token else t(lang, "config.off")),
        # The app key's last characters are the seller's text: escaped like any outside text.
        t(lang, "config.tiktok", value=Mrkdwn(f"app key `{outside(wc.mask(app_key), 40)}`") if app_key
          else t(lang, "config.off")),
    ]


def _saved_line(lang: str, settings: Settings, key: str) -> Mrkdwn:
    lines = settings_lines(lang, settings)
    index = {"alert_channel": 0, "ops_channel": 1, "admins": 2, "language": 3, "lead_days": 4,
             "overseas_lead_days": 4}[key]
    return t(lang, "config.saved", line=lines[index])


def register(app: App, ctx) -> None:
    workspaces = ctx.workspaces

    @app.command("/stockbot")
    def stockbot_command(ack, command, respond):
        ack()
        team, user, text = current_team(), command.get("user_id", ""), command.get("text")

        def work() -> None:
            settings = workspaces.settings_for(team)
            lang = settings.language
            try:
                request = wc.parse_config(text)
            except CommandError as error:
                respond(text=command_error_text(lang, "stockbot", error), response_type="ephemeral")
                return
            if not settings.is_admin(user):
                respond(text=t(lang, "config.not_admin",
                               admins=join(", ", (mention(u) for u in sorted(settings.threshold_admins)))),
                        response_type="ephemeral")
                return
            if not workspaces.oauth:  # one workspace: the environment is the only place settings live
                lines = [t(lang, "config.from_env"), *settings_lines(lang, settings)]
                if not isinstance(request, wc.ConfigShow):
                    lines.append(usage_text(lang, "stockbot"))
                respond(text="\n".join(lines), response_type="ephemeral")
                return
            respond(text=_configure(team, user, request, settings), response_type="ephemeral")

        ctx.after_ack(respond, "/stockbot config", work)

    def _configure(team: str, user: str, request, settings: Settings) -> str:
        lang = settings.language
        if isinstance(request, wc.ConfigShow):
            return "\n".join([t(lang, "config.title"), *settings_lines(lang, settings)])
        if isinstance(request, wc.ConfigNewPushToken):
            token = vault.new_push_token()
            workspaces.configure(team, {PUSH_TOKEN_KEY: token}, user)
            return t(lang, "config.push_token_new", token=Mrkdwn(token))  # ephemeral: only the admin sees it
        if isinstance(request, wc.ConfigTikTokOff):
            workspaces.remove_prefixed(team, wc.TIKTOK_PREFIX)
            return t(lang, "config.tiktok_off")
        workspaces.configure(team, request.values, user)
        changed = workspaces.settings_for(team)
        if any(key.startswith(wc.TIKTOK_PREFIX) for key in request.values):
            missing = wc.tiktok_missing(workspaces.stored_settings(team))
            reply = t(lang, "config.tiktok_saved")
            if missing:
                reply = Mrkdwn(reply + " " + t(changed.language, "config.tiktok_missing",
                                               missing=join(", ", (Mrkdwn(f"`{m}`") for m in missing))))
            return reply
        (key,) = request.values
        return _saved_line(changed.language, changed, key)

    if not workspaces.oauth:
        return

    def forget(what: str, enterprise_id, team_id, org_wide: bool, bots_revoked: bool, users: list) -> None:
        store = workspaces.installation_store
        key = team_key(team_id, enterprise_id, org_wide)
        team_id = None if org_wide else team_id  # an org-wide install is stored without a team
        if bots_revoked:
            # The installation rows carry the bot token too: both go.
            store.delete_all(enterprise_id=enterprise_id, team_id=team_id)
            workspaces.forget_credentials(key)
        for user_id in users:
            store.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
        log.info("workspace %s: %s, its tokens%s deleted", key, what,
                 " and stored secrets" if bots_revoked else "")

    @app.event("app_uninstalled")
    def app_uninstalled(context):
        where = (context.enterprise_id, context.team_id, bool(context.is_enterprise_install))
        ctx.in_background("forget an uninstalled workspace", lambda: forget("app uninstalled", *where, True, []))

    @app.event("tokens_revoked")
    def tokens_revoked(event, context):
        tokens = event.get("tokens") or {}
        where = (context.enterprise_id, context.team_id, bool(context.is_enterprise_install))
        bots, users = bool(tokens.get("bot")), [u for u in tokens.get("oauth") or [] if isinstance(u, str)]
        ctx.in_background("forget revoked tokens", lambda: forget("tokens revoked", *where, bots, users))
