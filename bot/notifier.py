"""Where alert messages go: Slack's Web API, or the terminal for `stockbot demo`."""

from __future__ import annotations

import itertools
import logging
import re
import urllib.error
from typing import Optional, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.slack_text import TEXT_MAX, Mrkdwn, clip, unescape

log = logging.getLogger(__name__)


# Slack refused the blocks themselves: the same message goes out once more as plain text.
BLOCKS_REFUSED = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "invalid_arguments"})
# Slack refused the channel: nothing sent there can work until someone fixes the channel.
CHANNEL_REFUSED = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


def plain_message_text(text: str, blocks: Optional[list]) -> Mrkdwn:
    """A message Slack refused as blocks, as one plain text: what the blocks said, within Slack's limits.

    The blocks' texts were escaped when they were built, so they are safe as they are.
    """
    lines: list[str] = []
    for block in blocks or []:
        if block.get("type") in ("section", "header") and block.get("text"):
            lines.append(block["text"].get("text", ""))
        lines.extend(item.get("text", "").replace("\n", ": ") for item in block.get("fields", []))
        if block.get("type") == "context":
            lines.extend(element.get("text", "") for element in block.get("elements", []))
    return Mrkdwn(clip("\n".join(lines) or text, TEXT_MAX))


class NotifyError(Exception):
    """Slack refused a message; the text is Slack's error code (never the token)."""

    @property
    def channel_refused(self) -> bool:
        return str(self) in CHANNEL_REFUSED


class Notifier(Protocol):
    def post(self, channel: str, text: str, blocks: Optional[list] = None,
             thread_ts: Optional[str] = None) -> str: ...

    def update(self, channel: str, ts: str, text: str, blocks: Optional[list] = None) -> None: ...

    def upload(self, channel: str, filename: str, content: bytes, title: str, thread_ts: Optional[str] = None,
               comment: Optional[str] = None, alt_text: Optional[str] = None) -> None: ...


def make_web_client(token: str, api_url: str = "") -> WebClient:
    """A WebClient that retries on 429 (honouring Retry-After) and dropped connections."""
    kwargs = {"base_url": api_url} if api_url else {}
    client = WebClient(token=token or None, timeout=15, **kwargs)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    return client


class SlackNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, text: str, blocks: Optional[list] = None,
             thread_ts: Optional[str] = None) -> str:
        response = self._call(lambda text, blocks: self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False),
            text, blocks)
        return str(response["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: Optional[list] = None) -> None:
        self._call(lambda text, blocks: self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks),
                   text, blocks)

    @staticmethod
    def _call(send, text: str, blocks: Optional[list]):
        """Send; if Slack refuses the blocks, send the same message once as plain text instead
        (the alert goes out now rather than failing again at every check)."""
        try:
            return send(text, blocks)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
        if not blocks or error not in BLOCKS_REFUSED:
            raise NotifyError(error)
        log.warning("Slack refused a message's blocks (%s); sending it as plain text", error)
        try:
            return send(plain_message_text(text, blocks), None)
        except SlackApiError as exc:
            raise NotifyError(str(exc.response.get("error", "unknown_error"))) from None

    def upload(self, channel: str, filename: str, content: bytes, title: str, thread_ts: Optional[str] = None,
               comment: Optional[str] = None, alt_text: Optional[str] = None) -> None:
        """Share a file in a channel, or in a thread (files.uploadV2: ask for an upload URL, send the
        bytes there, then complete the upload into the channel)."""
        try:
            self.client.files_upload_v2(channel=channel, thread_ts=thread_ts, content=content, filename=filename,
                                        title=title, initial_comment=comment, alt_txt=alt_text)
        except SlackApiError as exc:
            raise NotifyError(str(exc.response.get("error", "unknown_error"))) from None
        except urllib.error.HTTPError as exc:  # the upload URL refused the bytes; its address is not logged
            raise NotifyError(f"upload_failed_http_{exc.code}") from None
        except (SlackRequestError, urllib.error.URLError, OSError) as exc:
            raise NotifyError(f"upload_failed_{exc.__class__.__name__}") from None


_SLACK_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]*)>")
_SLACK_REF = re.compile(r"<[@#]([A-Z0-9]+)(?:\|[^>]*)?>")


def blocks_as_text(blocks: Optional[list], fallback: str) -> str:
    """Render Block Kit roughly as Slack shows it, for the terminal."""
    if not blocks:
        return unescape(_SLACK_REF.sub(r"@\1", _SLACK_DATE.sub(r"\1", fallback)))
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header") and block.get("text"):
            lines.append(block["text"]["text"])
        for item in block.get("fields", []):
            lines.append("  " + item["text"].replace("\n", ": "))
        if kind == "context":
            lines.extend(element.get("text", "") for element in block["elements"])
        if kind == "actions":
            lines.append("  " + "  ".join(f"[ {element['text']['text']} ]" for element in block["elements"]))
    text = "\n".join(lines)
    return unescape(_SLACK_REF.sub(r"@\1", _SLACK_DATE.sub(r"\1", text)))


class ConsoleNotifier:
    """Prints messages as they would appear in Slack; used by `stockbot demo`."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._ts = itertools.count(1)

    def post(self, channel: str, text: str, blocks: Optional[list] = None,
             thread_ts: Optional[str] = None) -> str:
        ts = f"{next(self._ts)}.000000"
        where = f"#{channel} (thread reply)" if thread_ts else f"#{channel}"
        self.out.write(f"\n--- new message in {where} ---\n{blocks_as_text(blocks, text)}\n")
        return ts

    def update(self, channel: str, ts: str, text: str, blocks: Optional[list] = None) -> None:
        self.out.write(f"\n--- message updated in #{channel} ---\n{blocks_as_text(blocks, text)}\n")

    def upload(self, channel: str, filename: str, content: bytes, title: str, thread_ts: Optional[str] = None,
               comment: Optional[str] = None, alt_text: Optional[str] = None) -> None:
        where = f"#{channel} (thread reply)" if thread_ts else f"#{channel}"
        self.out.write(f"\n--- file in {where}: {filename} ({len(content) // 1024} KB) ---\n{comment or title}\n")
