"""Where alert messages go: Slack's Web API, or the terminal for `stockbot demo`."""

from __future__ import annotations

import itertools
import logging
import random
import re
import threading
import time
import urllib.error
from email.utils import parsedate_to_datetime
from typing import Callable, Optional, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from bot import metrics
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


METADATA_EVENT = "stockbot_message"  # message metadata on every outbox post: {"outbox_id": N}


def outbox_metadata(entry_id: int) -> dict:
    return {"event_type": METADATA_EVENT, "event_payload": {"outbox_id": entry_id}}


class Notifier(Protocol):
    def post(self, channel: str, text: str, blocks: Optional[list] = None,
             thread_ts: Optional[str] = None, metadata: Optional[dict] = None) -> str: ...

    def find_posted(self, channel: str, entry_id: int, oldest: float, thread_ts: Optional[str] = None) -> Optional[str]:
        """The ts of a message this app posted for outbox entry `entry_id` (found by its metadata), or None."""

    def update(self, channel: str, ts: str, text: str, blocks: Optional[list] = None) -> None: ...

    def upload(self, channel: str, filename: str, content: bytes, title: str, thread_ts: Optional[str] = None,
               comment: Optional[str] = None, alt_text: Optional[str] = None) -> None: ...


MAX_RETRY_AFTER_SECONDS = 300.0  # a longer pause is more likely a broken header than a real limit


def retry_after_seconds(value: Optional[str], now: Optional[float] = None) -> float:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date; 1 s when absent or unreadable."""
    text = (value or "").strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError, OverflowError):
            seconds = 1.0
    if seconds != seconds:  # NaN
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


class RateLimitGate:
    """Holds back every call of a client until Slack's Retry-After has passed.

    Slack rate-limits per method and workspace, not per thread: after one call gets a 429,
    the alerts other threads are about to post must wait too, not go out 20 ms later.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock, self._sleep = clock, sleep
        self._open_at = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._open_at = max(self._open_at, self._clock() + seconds)

    def wait(self) -> None:
        while True:
            with self._lock:
                remaining = self._open_at - self._clock()
            if remaining <= 0:
                return
            self._sleep(remaining)


class RetryAfterHandler(RetryHandler):
    """On 429: pause the whole client for Retry-After (plus a little jitter), then retry the call."""

    def __init__(self, gate: RateLimitGate, max_retry_count: int = 3) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.gate = gate

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return response is not None and response.status_code == 429

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        header = next((values for name, values in response.headers.items() if name.lower() == "retry-after"), None)
        value = header[0] if isinstance(header, list) and header else header
        seconds = retry_after_seconds(value if isinstance(value, str) else None)
        log.warning("Slack rate-limited %s: waiting %.1fs (Retry-After %s)", request.url.rsplit("/", 1)[-1],
                    seconds, value)
        self.gate.pause(seconds + random.uniform(0, 0.1))
        state.next_attempt_requested = True
        self.gate.wait()
        state.increment_current_attempt()


class PacedWebClient(WebClient):
    """A WebClient whose every call waits for its rate-limit gate first, and is counted by method
    (stockbot_slack_api_calls, _errors by Slack's error code: bot/metrics.py)."""

    def __init__(self, *args, gate: Optional[RateLimitGate] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate or RateLimitGate()

    def api_call(self, api_method: str, **kwargs):  # type: ignore[override]
        started = time.perf_counter()
        try:
            self.gate.wait()
            response = super().api_call(api_method, **kwargs)
        except Exception as exc:
            metrics.slack_call(api_method, time.perf_counter() - started, metrics.slack_error_label(exc))
            raise
        metrics.slack_call(api_method, time.perf_counter() - started)
        return response


def make_web_client(token: str, api_url: str = "") -> PacedWebClient:
    """A WebClient that honours Retry-After on every method (see RateLimitGate) and retries dropped connections."""
    kwargs = {"base_url": api_url} if api_url else {}
    gate = RateLimitGate()
    client = PacedWebClient(token=token or None, timeout=15, gate=gate, **kwargs)
    client.retry_handlers = [RetryAfterHandler(gate, max_retry_count=3), ConnectionErrorRetryHandler(max_retry_count=2)]
    return client


class SlackNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, text: str, blocks: Optional[list] = None,
             thread_ts: Optional[str] = None, metadata: Optional[dict] = None) -> str:
        response = self._call(lambda text, blocks: self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False,
            metadata=metadata), text, blocks)
        return str(response["ts"])

    FIND_PAGES = 10  # 2,000 messages back: a restart comes minutes after the call it interrupted

    def find_posted(self, channel: str, entry_id: int, oldest: float, thread_ts: Optional[str] = None) -> Optional[str]:
        """Look through the channel (or the thread) since `oldest` for our message with this entry's metadata.

        Raises NotifyError when Slack will not show the history (then the caller cannot know)."""
        cursor = None
        for _ in range(self.FIND_PAGES):
            try:
                if thread_ts:
                    page = self.client.conversations_replies(channel=channel, ts=thread_ts, oldest=f"{oldest:.6f}",
                                                             include_all_metadata=True, limit=200, cursor=cursor)
                else:
                    page = self.client.conversations_history(channel=channel, oldest=f"{oldest:.6f}",
                                                             include_all_metadata=True, limit=200, cursor=cursor)
            except SlackApiError as exc:
                raise NotifyError(str(exc.response.get("error", "unknown_error"))) from None
            for found in page.get("messages") or []:
                metadata = found.get("metadata") or {}
                if metadata.get("event_type") == METADATA_EVENT and \
                        (metadata.get("event_payload") or {}).get("outbox_id") == entry_id:
                    return str(found["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

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


def _element_label(element: dict) -> str:
    """A button's text, or a menu's placeholder with a ▾."""
    if element.get("text"):
        return element["text"].get("text", "")
    return (element.get("placeholder") or {}).get("text", "…") + " ▾"


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
            lines.append("  " + "  ".join(f"[ {_element_label(element)} ]" for element in block["elements"]))
    text = "\n".join(lines)
    return unescape(_SLACK_REF.sub(r"@\1", _SLACK_DATE.sub(r"\1", text)))


class ConsoleNotifier:
    """Prints messages as they would appear in Slack; used by `stockbot demo`."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._ts = itertools.count(1)

    def post(self, channel: str, text: str, blocks: Optional[list] = None,
             thread_ts: Optional[str] = None, metadata: Optional[dict] = None) -> str:
        ts = f"{next(self._ts)}.000000"
        where = f"#{channel} (thread reply)" if thread_ts else f"#{channel}"
        self.out.write(f"\n--- new message in {where} ---\n{blocks_as_text(blocks, text)}\n")
        return ts

    def find_posted(self, channel: str, entry_id: int, oldest: float, thread_ts: Optional[str] = None) -> Optional[str]:
        return None  # the terminal keeps no history; the demo never crashes mid-post

    def update(self, channel: str, ts: str, text: str, blocks: Optional[list] = None) -> None:
        self.out.write(f"\n--- message updated in #{channel} ---\n{blocks_as_text(blocks, text)}\n")

    def upload(self, channel: str, filename: str, content: bytes, title: str, thread_ts: Optional[str] = None,
               comment: Optional[str] = None, alt_text: Optional[str] = None) -> None:
        where = f"#{channel} (thread reply)" if thread_ts else f"#{channel}"
        self.out.write(f"\n--- file in {where}: {filename} ({len(content) // 1024} KB) ---\n{comment or title}\n")
