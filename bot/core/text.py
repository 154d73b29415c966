"""Text from outside (files, pushes, ERPs, Slack) made safe to store: pure, no I/O.

A NUL stores on SQLite but makes Postgres refuse the whole statement; a lone surrogate (JSON
allows `"\\ud800"`) cannot be encoded at all; other control characters and bidi overrides only
garble what Slack shows. They are removed before anything is stored.
"""

from __future__ import annotations

import re
from typing import Optional

# C0 and C1 controls, DEL, lone surrogates, and the bidi embeddings/overrides/isolates that
# can make a line read backwards. Ordinary right-to-left text (Arabic, Hebrew) is untouched.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = "\t\n\r\x0b\x0c\x85"


def clean_text(text: str, keep_newlines: bool = False) -> str:
    """`text` without control characters: tabs and line breaks become spaces (or stay, for
    multi-line notes with keep_newlines), everything else in _UNSAFE is dropped."""
    if text.isprintable() and text.isascii():  # the common case: nothing to do
        return text

    def replace(match: re.Match) -> str:
        char = match.group()
        if keep_newlines and char == "\n":
            return char
        return " " if char in _LINE_BREAKS else ""

    return _UNSAFE.sub(replace, text)


def clean_optional(text: Optional[str]) -> Optional[str]:
    """clean_text for an optional field; an empty result is None."""
    if text is None:
        return None
    return clean_text(text).strip() or None
