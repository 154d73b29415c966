"""Export files shared with the bot: in a DM, or through the `/stock import` modal.

Both end here: fetch the file from Slack, import it (bot.imports) and reply with what was
read, updated and rejected. Runs after the ack, so the file's size never delays Slack.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from slack_bolt import App

from bot import replies
from bot.i18n import t
from bot.imports import SALES, STOCK, import_bytes
from bot.notices import reason_text
from bot.slack_files import FileFetchError, fetch_file

log = logging.getLogger(__name__)

SALES_WORDS = ("sales", "销量", "销售")


def fetch_and_store(ctx, client, shared: dict, store: Callable[[str, bytes], str]) -> str:
    """Fetch one file of an event's or a modal's `files` list and hand (name, bytes) to `store`,
    which imports it and words the summary. Returns the reply: the summary, or why not."""
    lang, file_id = ctx.lang, str(shared.get("id") or "")
    try:
        name, data = fetch_file(client, client.token or ctx.settings.slack_bot_token, file_id, ctx.settings.slack_api_url)
    except FileFetchError as exc:
        return t(lang, "import.fetch_failed", file=shared.get("name") or file_id, error=reason_text(lang, exc.reason))
    except Exception:
        log.exception("fetching a file shared in Slack failed")
        return t(lang, "reply.internal_error")
    try:
        return store(name, data)
    except Exception:  # a database failure: the import's transaction is rolled back
        log.exception("importing a file shared in Slack failed")
        return t(lang, "reply.internal_error")


def import_shared_file(ctx, client, shared: dict, kind: str, channel: str, thread_ts: Optional[str] = None) -> None:
    """Import one file of stock or sales and reply with the summary."""
    text = fetch_and_store(ctx, client, shared, lambda name, data: replies.import_summary(
        ctx.lang, import_bytes(ctx.checker, name, data, kind)))
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    except Exception:
        log.exception("could not post the import summary")


def register(app: App, ctx) -> None:
    @app.event("message")
    def direct_message(event, client):
        # Only people's messages in the bot's DM; the bot's own posts and edits are ignored.
        if event.get("channel_type") != "im" or event.get("bot_id") or \
                event.get("subtype") not in (None, "file_share"):
            return
        # Bolt acknowledged the event already; Slack calls and the import run in the background pool.
        ctx.in_background("a direct message", lambda: _direct_message(ctx, event, client))


def _direct_message(ctx, event: dict, client) -> None:
    shared = event.get("files") or []
    channel = event.get("channel", "")
    if not shared:
        client.chat_postMessage(channel=channel, text=t(ctx.lang, "import.dm_help"))
        return
    if not ctx.settings.may_edit_stock(event.get("user", "")):
        client.chat_postMessage(channel=channel, thread_ts=event.get("ts"),
                                text=replies.not_stock_editor(ctx.lang, ctx.settings))
        return
    text = (event.get("text") or "").lower()
    kind = SALES if any(word in text for word in SALES_WORDS) else STOCK
    for item in shared:
        import_shared_file(ctx, client, item, kind, channel=channel, thread_ts=event.get("ts"))
