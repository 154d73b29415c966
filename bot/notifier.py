"""Where alert messages go: Slack's Web API, or the terminal for `stockbot demo`."""

from __future__ import annotations

import itertools
import logging
import random
import re
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Callable, Optional, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

log = logging.getLogger(__name__)


class NotifyError(Exception):
    """Slack refused a message; the text is Slack's error code (never the token)."""


class Notifier(Protocol):
    def post(self, channel: str, text: str, blocks: Optional[list] = None,
             thread_ts: Optional[str] = None) -> str: ...

    def update(self, channel: str, ts: str, text: str, blocks: Optional[list] = None) -> None: ...


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
    """A WebClient whose every call waits for its rate-limit gate first."""

    def __init__(self, *args, gate: Optional[RateLimitGate] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate or RateLimitGate()

    def api_call(self, api_method: str, **kwargs):  # type: ignore[override]
        self.gate.wait()
        return super().api_call(api_method, **kwargs)


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
             thread_ts: Optional[str] = None) -> str:
        try:
            response = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                                    thread_ts=thread_ts, unfurl_links=False)
        except SlackApiError as exc:
            raise NotifyError(str(exc.response.get("error", "unknown_error"))) from None
        return str(response["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: Optional[list] = None) -> None:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            raise NotifyError(str(exc.response.get("error", "unknown_error"))) from None


_SLACK_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]*)>")
_SLACK_REF = re.compile(r"<[@#]([A-Z0-9]+)(?:\|[^>]*)?>")


def blocks_as_text(blocks: Optional[list], fallback: str) -> str:
    """Render Block Kit roughly as Slack shows it, for the terminal."""
    if not blocks:
        return fallback
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
    return _SLACK_REF.sub(r"@\1", _SLACK_DATE.sub(r"\1", text))


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
