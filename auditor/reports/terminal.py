"""Text a user supplied (ids, SOP names, file names, error reasons), made safe to print with rich or to put in a CSV.

- ``printable``: C0 and C1 control characters (ESC starts a terminal escape sequence), DEL and the bidirectional
  overrides and isolates (U+202A-202E, U+2066-2069, which reorder what a reader sees) are shown as ``\\x1b``,
  ``\\u202e``..., so an id can neither move the cursor, retitle the terminal nor hide part of a line.
- ``markup_safe``: that, with rich markup escaped, for an f-string printed with markup on (``[/bold]`` in an agent
  id is then text, not a closing tag that crashes the summary; ``[link=...]`` is not a link).
- ``cell``: a rich ``Text`` for a table cell (never parsed as markup).
- ``csv_safe``: a cell that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return) gets a leading single quote (OWASP's advice for CSV injection); numbers written by the
  auditor itself ("-0.5") are left alone.
"""

from __future__ import annotations

import re

from rich.markup import escape
from rich.text import Text

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, newlines: bool = False) -> str:
    """``text`` with control characters shown as escapes; ``newlines`` keeps line feeds and tabs (messages)."""
    return (_CONTROL if newlines else _CONTROL_OR_NEWLINE).sub(_visible, str(text))


def markup_safe(text: object, *, newlines: bool = False) -> str:
    """``printable`` text with rich markup escaped, for an f-string printed with ``markup=True``."""
    return escape(printable(text, newlines=newlines))


def cell(text: object) -> Text:
    """A table cell holding ``text`` as it is (no markup), control characters shown as escapes."""
    return Text(printable(text))


def csv_safe(value: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula: text starting with = + - @ tab or CR gets a leading '."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START) or _NUMBER.fullmatch(value):
        return value
    return "'" + value


def escape_text(text: object) -> str:
    """``markup_safe`` keeping line feeds and tabs: for messages (a problem list) rather than ids."""
    return markup_safe(text, newlines=True)
