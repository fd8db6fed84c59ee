"""Specs are validated data: every bad spec fails at load time naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from formcheck.spec import MAX_SPEC_BYTES, SpecError, UnknownExerciseError, load_spec, parse_spec, spec_ids

ROOT = Path(__file__).resolve().parents[1]


def bridge_dict() -> dict:
    return yaml.safe_load((ROOT / "exercise_specs" / "bridge.yaml").read_text())


def check(d: dict, *fragments: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(yaml.safe_dump(d), "my.yaml")
    msg = str(e.value)
    assert msg.startswith("my.yaml"), msg
    assert "\n" not in msg
    for f in fragments:
        assert f in msg, msg


def test_every_bundled_spec_is_valid_and_matches_its_file_name():
    ids = spec_ids()
    assert {"bridge", "standing_hip_extension", "mini_squat"} <= set(ids)
    for i in ids:
        spec = load_spec(i)
        assert spec.id == i
        assert spec.faults, f"{i} declares no faults"
        for f in spec.faults:
            assert f.why, f"{i}.{f.id}: a threshold needs its justification"


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(SpecError, match=r"my.yaml: line 3, column \d+: YAML syntax error"):
        parse_spec("id: x\ntitle: ok\n\tfeatures: 1\n", "my.yaml")


def test_unknown_key_is_rejected():
    d = bridge_dict()
    d["colour"] = "red"
    check(d, "colour", "Extra inputs are not permitted")


def test_unknown_key_deep_inside_is_named_by_path():
    d = bridge_dict()
    d["rep"]["enter_dgs"] = 3
    check(d, "rep.enter_dgs")


def test_unknown_landmark_lists_valid_ones():
    d = bridge_dict()
    d["features"]["elbow"] = {"measure": "joint_angle", "points": ["left_shoulder", "left_elbw", "left_wrist"]}
    check(d, "features.elbow.points", "left_elbw", "left_elbow")


def test_unknown_measure_lists_valid_ones():
    d = bridge_dict()
    d["features"]["hip"]["measure"] = "hip_bend"
    check(d, "hip_bend", "hip_flexion")


def test_overlapping_thresholds():
    d = bridge_dict()
    d["rep"]["exit_deg"] = 11  # enter is 12: no hysteresis gap
    check(d, "hysteresis")


def test_missing_required_field():
    d = bridge_dict()
    del d["rep"]
    check(d, "rep", "Field required")


def test_cycle_that_can_never_complete():
    d = bridge_dict()
    d["rep"]["max_duration_s"] = 0.2
    check(d, "no rep could ever complete")
    d = bridge_dict()
    d["target"]["hold_s"] = 60  # longer than max_duration_s 45
    check(d, "could never complete")


def test_driver_and_fault_references_are_checked():
    d = bridge_dict()
    d["rep"]["driver"] = "elbow"
    check(d, "rep.driver 'elbow' is not a feature", "hip")
    d = bridge_dict()
    d["faults"][0]["feature"] = "ankle"
    check(d, "unknown feature 'ankle'")


def test_fault_limits_that_always_fire():
    d = bridge_dict()
    d["faults"][0]["below"] = 30  # above is 20: every value breaks the rule
    check(d, "always fire")


def test_per_side_needs_a_working_side_driver():
    d = yaml.safe_load((ROOT / "exercise_specs" / "standing_hip_extension.yaml").read_text())
    d["features"][d["rep"]["driver"]]["side"] = "left"
    check(d, "side: working")


def test_near_camera_working_side_needs_a_one_sided_side_view_exercise():
    d = bridge_dict()
    d["working_side"] = "near_camera"  # the bridge is done with both legs
    check(d, "working_side", "per_side")
    d = yaml.safe_load((ROOT / "exercise_specs" / "supine_figure_four.yaml").read_text())
    d["view"] = "front"
    check(d, "near_camera", "view: side")
    d = yaml.safe_load((ROOT / "exercise_specs" / "supine_figure_four.yaml").read_text())
    del d["working_side"]  # an unsided driver then has no side to count on
    check(d, "side: working")


def test_huge_spec_file_is_refused(tmp_path):
    big = tmp_path / "huge.yaml"
    big.write_text("# padding\n" * (MAX_SPEC_BYTES // 10 + 10))
    with pytest.raises(SpecError, match="larger than"):
        load_spec(big)


def test_unknown_exercise_lists_the_valid_ids():
    with pytest.raises(UnknownExerciseError, match="valid: .*bridge"):
        load_spec("nosuch")


def test_not_a_mapping():
    with pytest.raises(SpecError, match="expected a mapping"):
        parse_spec("- a\n- b\n", "list.yaml")


def test_load_by_path(tmp_path):
    p = tmp_path / "mine.yaml"
    d = bridge_dict()
    d["id"] = "my_bridge"
    p.write_text(yaml.safe_dump(d))
    assert load_spec(p).id == "my_bridge"
    assert load_spec(str(p)).id == "my_bridge"


def test_world_space_only_for_measures_that_have_it():
    d = bridge_dict()
    d["features"]["lean"] = {"measure": "trunk_lean", "space": "world"}
    check(d, "features.lean", "image-only", "angle_between")


def test_angle_between_takes_four_points():
    d = bridge_dict()
    d["features"]["thighs"] = {"measure": "angle_between", "points": ["left_hip", "left_knee", "right_hip"]}
    check(d, "features.thighs", "takes 4 points")


def test_prescribed_target_overrides_the_spec_and_stretches_the_time_limit():
    spec = load_spec("bridge")
    assert spec.with_target() is spec
    longer = spec.with_target(reps=6, hold_s=60)
    assert (longer.target.reps, longer.target.hold_s) == (6, 60)
    assert longer.rep.max_duration_s >= 60 + longer.rep.min_duration_s
    assert spec.target.hold_s == 3  # the bundled spec is untouched


def test_a_hold_exercise_may_be_prescribed_no_hold():
    """--hold 0 is a sane prescription (quick lifts of a "hold" exercise): accepted, not refused."""
    d = bridge_dict()
    d.update(kind="hold", target={"reps": 2, "hold_s": 10})
    spec = parse_spec(yaml.safe_dump(d), "h.yaml")
    assert spec.with_target(hold_s=0).target.hold_s == 0
