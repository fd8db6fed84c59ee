"""The language of what a person reads and hears: gettext catalogues under ``formcheck/locale``.

English is the source text; another language is a standard ``.po`` catalogue (a clinic can add
its own: copy ``locale/de``, translate, run ``python -m formcheck.lang compile``). The active
language is one per process, set by ``use`` at the CLI edge before a session starts. Stdlib only.
"""

from __future__ import annotations

import ast
import gettext
import struct
import sys
from pathlib import Path

from formcheck.errors import InputError

DOMAIN = "formcheck"
ENGLISH = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
# Hershey fonts draw ASCII only: what a screen cannot draw is spelled out
_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
                        "é": "e", "è": "e", "à": "a", "’": "'", "–": "-", "„": '"', "“": '"', "”": '"'})

_active: gettext.NullTranslations = gettext.NullTranslations()
_active_code = ENGLISH


def available() -> tuple[str, ...]:
    """The languages there is a compiled catalogue for, English first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (ENGLISH, *found)


def translations(code: str) -> gettext.NullTranslations:
    """The catalogue of language ``code``; InputError (listing the valid ones) for an unknown one."""
    code = (code or ENGLISH).strip().lower()
    if code == ENGLISH:
        return gettext.NullTranslations()
    if code not in available():
        raise InputError(f"unknown language {code!r}; available: {', '.join(available())}")
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[code])


def use(code: str) -> str:
    """Make ``code`` the language of every cue from now on; returns it."""
    global _active, _active_code
    _active = translations(code)
    _active_code = (code or ENGLISH).strip().lower()
    return _active_code


def current() -> str:
    """The cue language in use (a code such as 'en')."""
    return _active_code


def tr(text: str) -> str:
    """``text`` in the active language (as given when the catalogue has no entry)."""
    return _active.gettext(text) if text else text


def ascii_text(text: str) -> str:
    """Text a Hershey font can draw: umlauts transliterated (ae, oe, ue, ss), the rest dropped."""
    return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


# --- a stdlib-only msgfmt: .po -> .mo --------------------------------------------------------------


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po catalogue (the header under ""); untranslated and fuzzy entries skipped."""
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    fuzzy = False
    part = None

    def flush():
        nonlocal msgid, msgstr, fuzzy
        if msgid is not None and msgstr is not None:
            key, value = "".join(msgid), "".join(msgstr)
            if value and (not fuzzy or key == ""):
                entries[key] = value
        msgid = msgstr = None
        fuzzy = False

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        starts = not line or line.startswith("#") or line.startswith("msgid ")
        if starts and msgstr is not None:
            flush()  # a blank line, a comment or a msgid after a msgstr: the next entry begins
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif not line or line.startswith("#"):
            continue
        elif line.startswith("msgid "):
            msgid, part = [_string(line[6:], number)], "id"
        elif line.startswith("msgstr "):
            if msgid is None:
                raise ValueError(f"line {number}: msgstr without msgid")
            msgstr, part = [_string(line[7:], number)], "str"
        elif line.startswith('"') and part is not None:
            (msgid if part == "id" else msgstr).append(_string(line, number))
        else:
            raise ValueError(f"line {number}: cannot read {line[:40]!r}")
    flush()
    return entries


def _string(token: str, number: int) -> str:
    try:
        value = ast.literal_eval(token.strip())
    except (ValueError, SyntaxError):
        raise ValueError(f"line {number}: not a quoted string: {token[:40]!r}") from None
    if not isinstance(value, str):
        raise ValueError(f"line {number}: not a quoted string: {token[:40]!r}")
    return value


def mo_bytes(entries: dict[str, str]) -> bytes:
    """The GNU .mo form of a catalogue (keys sorted, no hash table), as msgfmt writes it."""
    keys = sorted(entries)
    ids = b"".join(k.encode("utf-8") + b"\0" for k in keys)
    strs = b"".join(entries[k].encode("utf-8") + b"\0" for k in keys)
    n = len(keys)
    keys_start = 7 * 4
    values_start = keys_start + n * 8
    ids_start = values_start + n * 8
    strs_start = ids_start + len(ids)
    key_table, value_table = [], []
    offset = 0
    for k in keys:
        length = len(k.encode("utf-8"))
        key_table += [length, ids_start + offset]
        offset += length + 1
    offset = 0
    for k in keys:
        length = len(entries[k].encode("utf-8"))
        value_table += [length, strs_start + offset]
        offset += length + 1
    header = struct.pack("<7I", 0x950412DE, 0, n, keys_start, values_start, 0, 0)
    return header + struct.pack(f"<{2 * n}I", *key_table) + struct.pack(f"<{2 * n}I", *value_table) + ids + strs


def compile_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every ``*/LC_MESSAGES/formcheck.po`` under ``locale_dir`` next to itself as ``.mo``."""
    from formcheck.io import atomic_write

    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        data = mo_bytes(parse_po(po.read_text(encoding="utf-8")))
        written.append(atomic_write(po.with_suffix(".mo"), lambda fh, d=data: fh.write(d), binary=True))
    return written


def main(argv: list[str]) -> int:
    """`python -m formcheck.lang compile`: rebuild every .mo from its .po."""
    if argv != ["compile"]:
        sys.stderr.write("usage: python -m formcheck.lang compile\n")
        return 2
    try:
        for path in compile_catalogues():
            sys.stdout.write(f"{path}\n")
    except ValueError as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
