"""Log lines for operators: plain text (the default) or one JSON object per line (LOG_FORMAT=json),
with the id of the Slack request or check the line belongs to, and secrets masked in both formats.

The ids live in context variables: a request sets `request_id` in its waitress thread, a check sets
`check_id`; AppContext.in_background copies the context into the thread that runs the work after
ack(), so a reply's log lines carry the id of the request that started it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterable, Iterator, Optional
from urllib.parse import unquote, urlsplit

from bot.config import Settings

LOG_FORMATS = ("plain", "json")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

request_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("stockbot_request_id", default=None)
check_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("stockbot_check_id", default=None)


def brief(exc: BaseException, limit: int = 120) -> str:
    """An exception as one short line (its class and its message's first line) for a warning logged
    many times in a row (a busy database), where a traceback with the SQL would drown the log."""
    first = str(exc).strip().splitlines()[0][:limit] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {first}" if first else exc.__class__.__name__


def new_id() -> str:
    return uuid.uuid4().hex[:16]


@contextmanager
def check_scope() -> Iterator[str]:
    """Every line logged inside (in this thread, and in work it hands on with a copied context) names this check."""
    token = check_id.set(new_id())
    try:
        yield check_id.get()
    finally:
        check_id.reset(token)


# ---- redaction --------------------------------------------------------------------------------

MASK = "***"
MIN_SECRET_LENGTH = 6  # shorter "secrets" would mask ordinary words; no real token is that short
_PATTERNS = (
    # Slack tokens: bot, user, app-level, refresh/rotation, configuration.
    re.compile(r"\bxox[abposre]-[A-Za-z0-9-]+"),
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
    re.compile(r"\bxoxe\.xox[bp]-[A-Za-z0-9-]+"),
    re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"),
    # A password inside a URL: scheme://user:password@host
    re.compile(r"(?<=://)([^/\s:@]+):[^/\s@]+(?=@)"),
)


def configured_secrets(settings: Settings) -> list[str]:
    """The secrets this install is configured with, as they could appear in a line."""
    values = [settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret,
              settings.stock_push_token, settings.sms_auth_token]
    for url in (settings.smtp_url, settings.database_url, settings.stock_sql_url):
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            values += [password, unquote(password)]
    values += [value for key, value in settings.tiktok_env if any(word in key for word in ("SECRET", "TOKEN"))]
    return sorted({value for value in values if value and len(value) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = [secret for secret in secrets if secret]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(_masked, text)
        return text


def _masked(match: re.Match) -> str:
    word = match.group(0)
    if word[:6].lower() in ("bearer", "basic "):
        return word.split(None, 1)[0] + " " + MASK
    if match.re.pattern.startswith("(?<=://)"):
        return match.group(1) + ":" + MASK
    return word[:5] + MASK  # "xoxb-***": which kind of token leaked is worth knowing


# ---- formats ----------------------------------------------------------------------------------

class PlainFormatter(logging.Formatter):
    """The classic one-line format, ids appended when the line has them, secrets masked."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(PLAIN_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{name}={value}" for name, value in _ids(record))
        if ids:
            first, sep, rest = line.partition("\n")  # before the traceback, if any
            line = f"{first} [{ids}]{sep}{rest}"
        return self.redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the ids, exception."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        entry.update(_ids(record))
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self.redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def _ids(record: logging.LogRecord) -> list[tuple[str, str]]:
    # Read when the line is formatted, in the thread that logged it (StreamHandler formats inline).
    found = [("request_id", getattr(record, "request_id", None) or request_id.get()),
             ("check_id", getattr(record, "check_id", None) or check_id.get())]
    return [(name, value) for name, value in found if value]


def configure(log_format: str = "plain", secrets: Iterable[str] = (), level: int = logging.INFO,
              stream=None) -> logging.Handler:
    """Send every log line to stderr (or `stream`) in `log_format`; replaces handlers set up earlier."""
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if log_format == "json" else PlainFormatter(redact))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Warnings and uncaught exceptions become log lines too: with LOG_FORMAT=json every line of
    # stderr is one JSON object, and a secret in a traceback is masked like any other.
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback,
                                                      args.thread.name if args.thread else None)
    return handler


def _log_uncaught(exc_type, exc_value, exc_traceback, thread: Optional[str] = None) -> None:
    if issubclass(exc_type, SystemExit):  # a thread ending itself on purpose, as threading's own hook treats it
        return
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc_value, exc_traceback)
        return
    logging.getLogger("stockbot").critical("uncaught exception%s", f" in thread {thread}" if thread else "",
                                           exc_info=(exc_type, exc_value, exc_traceback))
