"""Slack listeners, one module per Slack surface; each exposes `register(app, ctx)`."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, files, notify, plans, purchase, views, workspace


def register_listeners(app: App, ctx) -> None:
    commands.register(app, ctx)
    actions.register(app, ctx)
    views.register(app, ctx)
    events.register(app, ctx)
    files.register(app, ctx)
    plans.register(app, ctx)
    notify.register(app, ctx)
    purchase.register(app, ctx)
    workspace.register(app, ctx)  # /stockbot config; in OAuth mode app_uninstalled and tokens_revoked
    actions.register_fallback(app, ctx)  # last: only what nothing above handles
