"""People's names: one check at every door (typing, CLI, sidecars), one safe way to show a stored name.

A name is *clean* when it is NFC-normalised, has no leading/trailing spaces and no runs of spaces, is
1..``MAX_NAME_LENGTH`` characters long, and holds no character that can break a file format or a terminal:

* control characters (Unicode category Cc: NUL, ESC and so ANSI escape sequences, DEL, the C1 range);
* bidirectional embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069): they reorder the text
  that follows them, so a name could make a table or a log line read differently from what it holds
  (the "Trojan Source" trick). The marks U+200E/U+200F that right-to-left names legitimately use are kept;
* surrogates and U+FFFE/U+FFFF, which XML 1.0 cannot hold.

Whitespace of any kind (tabs, line breaks, no-break spaces) counts as a space: a name pasted with a trailing
newline, or a sidecar that wrapped a name over two lines, gives the same one-line name. Every other control
character makes the name invalid (:class:`~faceorganizer.errors.InvalidNameError`), rather than being dropped
silently, so that the user sees what was refused.

``MAX_NAME_LENGTH`` is 200 characters: longer than any real full name with titles (the longest names in
civil registries run to a few dozen characters), and short enough that a hostile sidecar cannot create a
megabyte-long person or flood a table.

Names stored before these rules existed may still hold such characters; :func:`display_name` shows any
string safely on a terminal or in a log line (controls escaped as ``\\x1b``, ``\\n``...).
"""

from __future__ import annotations

import re
import unicodedata

from faceorganizer.errors import InvalidNameError

__all__ = ["MAX_NAME_LENGTH", "InvalidNameError", "clean_name", "clean_optional_name", "display_name", "lookup_form",
           "safe_text"]

#: The longest name accepted, in characters (code points) after normalisation.
MAX_NAME_LENGTH = 200

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NOT_IN_XML = frozenset("\ufffe\uffff")
# Controls that are whitespace: folded into one space rather than refused.
_WHITESPACE_CONTROLS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85")
_WHITESPACE_RUN = re.compile(r"\s+")
# Raw input longer than this is refused before it is normalised (padding whitespace cannot explain it).
_MAX_RAW_LENGTH = 10 * MAX_NAME_LENGTH


def _forbidden(char: str) -> bool:
    """A character no name may hold (see the module docstring)."""
    if char in _BIDI_CONTROLS or char in _NOT_IN_XML:
        return True
    return unicodedata.category(char) in ("Cc", "Cs")


def _describe(char: str) -> str:
    named = {"\x1b": "an escape character (ESC)", "\x00": "a NUL character", "\x7f": "a DEL character"}
    if char in named:
        return named[char]
    if char in _BIDI_CONTROLS:
        return f"a text-direction override (U+{ord(char):04X})"
    return f"a control character (U+{ord(char):04X})"


def clean_name(raw: str) -> str:
    """The normalised form of a person's name; raises InvalidNameError when it cannot be a name.

    NFC-normalised, whitespace runs (tabs and line breaks included) collapsed to one space and trimmed.
    Refused: an empty or all-space name, one longer than :data:`MAX_NAME_LENGTH` characters, and one with a
    control character, an ANSI escape, a bidirectional override or a character XML cannot hold. The
    message is one line naming the cause and the fix, and never echoes the raw characters.
    """
    if not isinstance(raw, str):
        raise InvalidNameError(f"a name must be text, not {type(raw).__name__}")
    # Cheap bound first: a hostile megabyte-long name is refused before any per-character work.
    if len(raw) > _MAX_RAW_LENGTH:
        raise InvalidNameError(f"name too long ({len(raw):,} characters); use at most {MAX_NAME_LENGTH}")
    bad = next((c for c in raw if c not in _WHITESPACE_CONTROLS and _forbidden(c)), None)
    if bad is not None:
        raise InvalidNameError(
            f"name contains {_describe(bad)} at position {raw.index(bad) + 1}; type the name without it"
        )
    name = _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if not name:
        raise InvalidNameError("a name cannot be empty; type at least one letter")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"name too long ({len(name):,} characters); use at most {MAX_NAME_LENGTH}")
    return name


def clean_optional_name(raw: str | None) -> str | None:
    """Like :func:`clean_name`, but ``None`` or an all-space string means "no name" (returns None)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return clean_name(raw)


def lookup_form(text: str) -> str:
    """A name typed to *find* a person, in the form names are stored (NFC, spaces folded); as typed if invalid.

    Terminals on macOS type decomposed accents (NFD), so "Zoë" typed there only matches the stored NFC name
    after normalising; a text that cannot be a name is returned unchanged (it will simply match nobody).
    """
    try:
        return clean_name(text)
    except InvalidNameError:
        return text


def display_name(name: str | None, *, limit: int = MAX_NAME_LENGTH) -> str:
    """Any stored name made safe for one terminal line or log entry.

    Control characters, bidirectional overrides and other characters :func:`clean_name` refuses are shown
    as Python-style escapes (``\\x1b``, ``\\n``, ``\\u202e``), so an old or foreign name cannot move the
    cursor, recolour the terminal, break a table row or reorder the text after it. Longer than ``limit``
    characters: cut, with ``…`` at the end. ``None`` gives an empty string.
    """
    if not name:
        return ""
    text = safe_text(name if len(name) <= limit else name[:limit])
    return text + "…" if len(name) > limit else text


def safe_text(text: str) -> str:
    """``text`` with every character :func:`clean_name` refuses shown as an escape (no cut): for table cells."""
    if not any(_forbidden(c) for c in text):
        return text
    return "".join(_escaped(c) if _forbidden(c) else c for c in text)


def _escaped(char: str) -> str:
    simple = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in simple:
        return simple[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
