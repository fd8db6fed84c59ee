"""Measures and fault checks are registries: a new entry is read by the spec, the engine and the overlay."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from formcheck import faults, measures
from formcheck.evaluator import ExerciseEvaluator
from formcheck.features import FeatureExtractor
from formcheck.geometry import segment_angle_from_vertical_deg
from formcheck.render import target_bands
from formcheck.skeleton import Landmark
from formcheck.spec import SpecError, load_spec, parse_spec
from formcheck.types import Fault, FeatureKey
from kinematics import pose_2d, sample, stream
from test_engine import FPS, bridge_session, hip_extension_session

ROOT = Path(__file__).resolve().parents[1]


def _bridge_with(feature: dict, fault: dict | None = None) -> dict:
    d = yaml.safe_load((ROOT / "exercise_specs" / "bridge.yaml").read_text())
    d["features"]["shin"] = feature
    if fault is not None:
        d["faults"].append(fault)
    return d


def _shin_angle(fx, fs, side, pts, ctx) -> float:
    knee, ankle = pts[measures.side_landmark(side, "KNEE")], pts[measures.side_landmark(side, "ANKLE")]
    return float(segment_angle_from_vertical_deg(knee, ankle))


SHIN_FAULT = {"id": "shin_tipped", "cue": "Keep your shins upright", "scope": "rep", "feature": "shin",
              "above": 30, "why": "a test rule"}


@pytest.mark.parametrize("unit,banded", [("deg", True), ("cm", False)])
def test_a_new_measure_is_one_entry_read_by_the_spec_the_features_and_the_overlay(monkeypatch, unit, banded):
    monkeypatch.setitem(measures.MEASURES, "shin_angle", measures.Measure("shin_angle", _shin_angle, sided=True, unit=unit))
    spec = parse_spec(yaml.safe_dump(_bridge_with({"measure": "shin_angle", "side": "both"}, SHIN_FAULT)))
    pts = pose_2d(posture="supine", hip_flex=(50, 50), knee_flex=(90, 90))
    ff = FeatureExtractor(spec).update(sample(0.0, pts))
    expected = np.mean([float(segment_angle_from_vertical_deg(pts[Landmark[f"{s}_KNEE"]], pts[Landmark[f"{s}_ANKLE"]]))
                        for s in ("LEFT", "RIGHT")])
    assert ff.values["shin"] == pytest.approx(expected)
    # an angle gets a gauge with its rule's band; another unit does not
    assert ("shin" in target_bands(spec)) is banded
    # the entry's shape is what validation asks: a sided measure needs a side; it has no world form
    with pytest.raises(SpecError, match="needs side"):
        parse_spec(yaml.safe_dump(_bridge_with({"measure": "shin_angle"})))
    with pytest.raises(SpecError, match="image-only"):
        parse_spec(yaml.safe_dump(_bridge_with({"measure": "shin_angle", "side": "both", "space": "world"})))


def test_an_unregistered_measure_is_refused_listing_the_registry():
    with pytest.raises(SpecError, match="unknown measure 'shin_angle'; valid: hip_flexion, knee_flexion"):
        parse_spec(yaml.safe_dump(_bridge_with({"measure": "shin_angle", "side": "both"})))


def test_an_engine_fault_is_one_entry_judged_on_every_rep_and_reserved_in_specs(monkeypatch):
    def every_rep(spec, rep: faults.FinishedRep) -> Fault:
        return Fault("every_rep", f"rep {rep.index + 1} seen", "rep", rep.side, rep.start_ms, rep.end_ms, rep.rom_deg,
                     math.nan, rep.index)

    monkeypatch.setitem(faults.ENGINE_FAULTS, "every_rep", faults.EngineFault("every_rep", "said after every rep", every_rep))
    ev = ExerciseEvaluator(load_spec("bridge").with_target(hold_s=2))
    for s in stream(bridge_session(3), FPS, noise_px=1.0, seed=3):
        ev.update(s)
    report = ev.finish()
    assert [(f.id, f.rep_index, f.cue) for f in report.faults] == [("every_rep", i, f"rep {i + 1} seen") for i in range(3)]
    with pytest.raises(SpecError, match=r"'every_rep' is reserved: formcheck raises it itself \(said after every rep\)"):
        parse_spec(yaml.safe_dump(_bridge_with({"measure": "knee_flexion", "side": "both"}, {**SHIN_FAULT, "id": "every_rep"})))


def test_short_hold_comes_from_its_registry_entry(monkeypatch):
    frames = stream(bridge_session(3), FPS, noise_px=1.0, seed=3)
    spec = load_spec("bridge").with_target(hold_s=6)  # the session holds 2 s
    ev = ExerciseEvaluator(spec)
    for s in frames:
        ev.update(s)
    assert {f.id for f in ev.finish().faults} == {"short_hold"}
    monkeypatch.delitem(faults.ENGINE_FAULTS, "short_hold")
    ev = ExerciseEvaluator(spec)
    for s in frames:
        ev.update(s)
    assert ev.finish().faults == ()


def test_a_check_kind_decides_how_a_rule_is_judged_and_whether_the_overlay_bands_it(monkeypatch):
    seen = []

    def judge(rule, rep: faults.FinishedRep):
        seen.append((rule.id, rep.index))
        return None

    spec = load_spec("bridge").with_target(hold_s=2)
    assert "hip" in target_bands(spec)
    mine = faults.CheckKind("mine", lambda r: r.id in ("hips_low", "over_arch"), lambda r: None, judge=judge, band=False)
    monkeypatch.setattr(faults, "CHECK_KINDS", (mine, *faults.CHECK_KINDS))
    ev = ExerciseEvaluator(spec)
    for s in stream(bridge_session(2, top=25.0), FPS, noise_px=1.0, seed=3):  # partial bridges: hips_low by the rule
        ev.update(s)
    report = ev.finish()
    assert report.summary()["reps_total"] == 2
    assert seen == [("hips_low", 0), ("over_arch", 0), ("hips_low", 1), ("over_arch", 1)]
    assert "hips_low" not in {f.id for f in report.faults}
    assert "hip" not in target_bands(spec)  # the only rules on hip are of a kind without a band


def test_feature_keys_written_in_the_series_read_back_as_the_specs_features():
    assert str(FeatureKey("hip", "left")) == "hip.left" and str(FeatureKey("hip")) == "hip"
    assert FeatureKey.parse("hip.left") == FeatureKey("hip", "left") and FeatureKey.parse("hip") == FeatureKey("hip")
    for spec_id, frames in (("bridge", bridge_session(2)), ("standing_hip_extension", hip_extension_session(1))):
        spec = load_spec(spec_id)
        ev = ExerciseEvaluator(spec)
        for s in stream(frames, FPS, seed=1):
            ev.update(s)
        keys = {FeatureKey.parse(k) for k in ev.finish().series.to_dict() if k != "t_s"}
        expected = {FeatureKey(n, s) for n, fs in spec.features.items()
                    for s in (("left", "right") if fs.side == "working" else (None,))}
        assert keys == expected
