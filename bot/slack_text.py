"""Text that reaches Slack: escaping what Stockbot did not write, and Slack's size limits.

`outside()` is the one escaping helper. Every string that came from outside Stockbot (a
SKU, a product or warehouse name, a note, a campaign or file name, a source's error text,
anything a user typed) goes through it before it is placed in a message, so it can never
ping (`<!channel>`, `<@U…>`), link (`<https://…|text>`, a bare `https://…`), break the
formatting around it (a newline inside `*bold*`) or blow a Block Kit limit.

`bot.i18n.t` applies it to every plain `str` value it fills in; text Stockbot built itself
(a rendered sentence, a `<@user>` mention, a date token) is a `Mrkdwn` and passes unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

# Block Kit and Web API limits (https://api.slack.com/reference/block-kit).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
CONTEXT_TEXT_MAX = 2000
CONTEXT_ELEMENTS_MAX = 10
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
MODAL_TITLE_MAX = 24
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
# chat.postMessage truncates `text` at 40,000 characters and refuses far longer ones
# (msg_too_long); replies are read on a phone, so they stay well below that.
TEXT_MAX = 12000

OUTSIDE_MAX = 500  # one outside value (a name, a note, an error) shown in a message
ELLIPSIS = "…"


class Mrkdwn(str):
    """Text Stockbot wrote (or already escaped): safe to place in a message as it is."""


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Bidirectional embeddings, overrides and isolates can make the rest of a line read backwards
# ("0 available" shown as a different number); the plain LRM/RLM marks stay.
_BIDI_CONTROLS = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}
_WHITESPACE = re.compile(r"\s+")
# Slack turns a bare URL into a link; a word joiner after the scheme keeps it plain text.
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
_URL_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}):(//)")


def _visible(char: str) -> str:
    if char in _BIDI_CONTROLS:
        return ""
    if unicodedata.category(char) == "Cc":  # NUL, tabs, newlines, escape sequences
        return " "
    return char


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[:max(0, limit - 1)].rstrip() + ELLIPSIS


def outside(value: object, limit: int = OUTSIDE_MAX) -> Mrkdwn:
    """Outside text made safe for one line of Slack mrkdwn (and for the `text` fallback).

    Control characters and line breaks become spaces (so `*…*` around it never wraps),
    bidi overrides are dropped, `&` `<` `>` are escaped, URLs are not linked, and the
    result is at most `limit` characters.
    """
    text = "".join(_visible(char) for char in str(value))
    text = _URL_SCHEME.sub("\\1:\u2060\\2", _WHITESPACE.sub(" ", text)).translate(_ESCAPES)
    if len(text) > limit:  # cut after escaping (the limit is what Slack counts), never inside `&lt;`
        text = _PARTIAL_ENTITY.sub("", text[:max(0, limit - 1)]).rstrip() + ELLIPSIS
    return Mrkdwn(text)


def unescape(text: str) -> str:
    """For the terminal (demo, dry run): what a Slack reader would see of escaped text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("\u2060", "")


def join(separator: str, parts: Iterable[str]) -> Mrkdwn:
    """Join Stockbot-written parts; the result stays trusted."""
    return Mrkdwn(separator.join(parts))


def fit_lines(lines: list[str], limit: int, more) -> Mrkdwn:
    """Whole lines up to `limit` characters; the rest becomes one `more(count)` line.

    Lines are never cut in the middle (a cut could split a mention or a `*bold*`), except
    a single line longer than the limit, which is clipped.
    """
    text = "\n".join(lines)
    if len(text) <= limit:
        return Mrkdwn(text)
    kept: list[str] = []
    for index, line in enumerate(lines):
        tail = more(len(lines) - index)
        if len("\n".join([*kept, line, tail])) > limit:
            if not kept:  # not even one line fits next to the tail: clip it
                return Mrkdwn(clip(line, limit - len(tail) - 1) + "\n" + tail)
            return Mrkdwn("\n".join([*kept, more(len(lines) - index)]))
        kept.append(line)
    return Mrkdwn("\n".join(kept))
