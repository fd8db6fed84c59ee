"""Words for people in every table, page and screen: titles not ids, plurals, dates and durations."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path


from formcheck.words import date_text, duration_text, plural, readable, session_date_text

sys.path.insert(0, str(Path(__file__).parent))


def test_plural_readable_duration_and_date():
    assert plural(1, "rep") == "1 rep" and plural(3, "rep") == "3 reps" and plural(0, "rep") == "0 reps"
    assert readable("standing_knee_bent") == "Standing knee bent"
    assert duration_text(8.54) == "8.5 s" and duration_text(42.4) == "42 s"
    assert duration_text(125) == "2 min 05 s" and duration_text(3725) == "1 h 02 min" and duration_text(None) == "-"
    assert date_text("2026-03-31") == "31 Mar 2026"
    assert date_text("2026-03-31T14:05:09+00:00") == "31 Mar 2026 14:05 UTC"
    assert date_text("") == "-" and date_text("last week") == "last week"
    assert session_date_text("2026-03-31", "2026-04-02T10:00:00+00:00") == "31 Mar 2026"
    assert session_date_text("", "2026-04-02T10:00:00+00:00") == "analysed 2 Apr 2026"


def _fake_report(faults: list[str]):
    rep = {"index": 0, "side": "left", "start_s": 1.0, "end_s": 3.0, "peak_deg": {"hip": 20.0, "knee": 5.0, "trunk": 3.0},
           "rom_deg": 20.0, "hold_s": 1.0, "faults": faults, "complete": True}
    d = {"exercise_title": "Standing hip extension", "reps": [rep], "not_counted": [], "notices": [], "faults": [],
         "summary": {"target_reps_per_side": 10, "reps_by_side": {"left": 1, "right": 0}, "reps_total": 1, "target_hold_s": 2.0},
         "quality": {"frames": 1, "duration_s": 125.0, "detected_fraction": 1.0, "driver_unseen_fraction": 0.0},
         "disclaimer": "not medical advice", "units": {}}

    class Report:
        def to_dict(self):
            return d

    return Report()


def test_summary_table_at_80_columns_shows_fault_titles_wrapped_between_words(monkeypatch):
    from rich.console import Console

    from formcheck import cli_common

    out = io.StringIO()
    monkeypatch.setattr(cli_common, "console", Console(file=out, width=80, highlight=False, color_system=None))
    cli_common.print_summary(_fake_report(["standing_knee_bent", "trunk_lean_back", "other_foot_lifts"]))
    text = out.getvalue()
    assert "_" not in text  # ids never reach the reader
    words = set(re.findall(r"[A-Za-z]+", text))
    for title in ("Standing knee bent", "Trunk lean back", "Other foot lifts"):
        assert set(title.split()) <= words, text  # every word whole: wrapped between words, never inside one
    assert "1 frame," in text and "2 min 05 s" in text


def test_report_page_says_the_rep_for_one_rep_and_fault_titles():
    from test_pictures import _two_bridges

    from formcheck.htmlreport import ClipMeta, clip_page_html
    from formcheck.spec import load_spec

    report = _two_bridges()
    report["reps"] = report["reps"][:1]
    page = clip_page_html(report=report, spec=load_spec("bridge").model_dump(mode="json"),
                          meta=ClipMeta(clip_path="a.mp4", analysed_at="2026-03-31T14:05:09+00:00"), video="none")
    symmetry = " ".join(page.split('<section id="symmetry">')[1].split("</section>")[0].split())
    assert "at the peak of the rep it was" in symmetry and "1 reps" not in symmetry
    assert ">Short hold<" in page and ">short_hold<" not in page
    assert "31 Mar 2026 14:05 UTC" in page
