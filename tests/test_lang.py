"""The second cue language: the gettext catalogue, its compiled form, and German end to end."""

from __future__ import annotations

import gettext
import pytest

from formcheck import lang
from formcheck.errors import InputError

PO = lang.LOCALE_DIR / "de" / "LC_MESSAGES" / "formcheck.po"


@pytest.fixture
def german():
    lang.use("de")
    yield
    lang.use("en")


def test_committed_mo_matches_the_po():
    assert PO.with_suffix(".mo").read_bytes() == lang.mo_bytes(lang.parse_po(PO.read_text(encoding="utf-8")))


def test_compiled_catalogue_reads_back_through_gettext(tmp_path):
    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "formcheck.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Good rep"\nmsgstr "Gut \\"so\\" ü"\n\n#, fuzzy\nmsgid "Go"\nmsgstr "Los"\n\n'
        'msgid "Long"\nmsgstr ""\n"two "\n"parts"\n', encoding="utf-8")
    assert lang.compile_catalogues(tmp_path) == [folder / "formcheck.mo"]
    t = gettext.translation("formcheck", localedir=str(tmp_path), languages=["xx"])
    assert t.gettext("Good rep") == 'Gut "so" ü'
    assert t.gettext("Go") == "Go"  # fuzzy: not used
    assert t.gettext("Long") == "two parts"


def test_bad_po_is_one_line_error(tmp_path):
    with pytest.raises(ValueError, match="line 1"):
        lang.parse_po("msgstr \"x\"\n")


def test_unknown_language_lists_the_available_ones():
    with pytest.raises(InputError, match=r"unknown language 'xx'; available: en, de"):
        lang.translations("xx")


def test_every_english_cue_has_a_german_translation():
    from formcheck import live_setup
    from formcheck.spec import load_spec, spec_ids

    entries = lang.parse_po(PO.read_text(encoding="utf-8"))
    cues = {r.cue for sid in spec_ids() for r in load_spec(sid).faults}
    cues |= {live_setup.STEP_IN, live_setup.STEP_BACK, live_setup.TURN_SIDE_ON, live_setup.FACE_CAMERA,
             live_setup.GO, *live_setup.GET_INTO_POSITION.values()}
    missing = sorted(c for c in cues if c not in entries)
    assert not missing, missing
    # placeholders survive translation
    for key, value in entries.items():
        assert set(_fields(key)) == set(_fields(value)), key


def _fields(text: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


def test_ascii_text_spells_out_umlauts():
    assert lang.ascii_text("Füße schließen, Hüfte") == "Fuesse schliessen, Huefte"


def test_use_and_tr(german):
    assert lang.current() == "de"
    assert lang.tr("Keep your knee straight") == "Halten Sie das Knie gestreckt"
    assert lang.tr("not in the catalogue") == "not in the catalogue"


def test_compile_command_usage():
    assert lang.main(["nonsense"]) == 2
