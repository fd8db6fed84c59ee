"""Poses files: round trip, atomic writes, and clear errors for anything that is not one."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import formcheck.posesfile as posesfile
from formcheck.errors import InputError, OutputError
from formcheck.posesfile import PosesWriter, is_poses_file, read_poses, read_poses_header, source_entry
from formcheck.types import PoseSample

SIZE = (640, 480)
HEADER = {
    "source": {"name": "clip.mp4", "sha256": "ab" * 32},
    "fps": 30.0,
    "frame_size_px": list(SIZE),
    "model_variant": "full",
    "model_sha256": None,
}


def pose(t: float, seed: int) -> PoseSample:
    rng = np.random.default_rng(seed)
    img = np.column_stack([rng.uniform(0, 640, 33), rng.uniform(0, 480, 33), rng.uniform(-100, 100, 33)])
    return PoseSample(t, img, rng.uniform(-1, 1, (33, 3)), rng.uniform(0, 1, 33), SIZE)


def write(path, poses, header=HEADER):
    with PosesWriter(path, header) as w:
        for p in poses:
            w.update(p)
    return path


def test_round_trip_values_missing_rows_and_header(tmp_path):
    poses = [pose(0.0, 1), PoseSample.missing(33.4, SIZE), pose(66.7, 2)]
    path = write(tmp_path / "clip.poses.npz", poses)
    header = read_poses_header(path)
    assert header["format"] == "formcheck-poses" and header["schema_version"] == 1
    assert header["n_frames"] == 3 and header["frame_size_px"] == [640, 480]
    assert header["source"] == HEADER["source"] and header["fps"] == 30.0 and header["model_variant"] == "full"
    assert header["created_by"].startswith("formcheck ")
    back = list(read_poses(path))
    assert len(back) == 3
    assert [p.timestamp_ms for p in back] == [0.0, 33.4, 66.7]  # float64: exact
    assert [p.detected for p in back] == [True, False, True]
    for orig, got in zip(poses, back):
        assert got.frame_size_px == SIZE
        if orig.detected:
            np.testing.assert_allclose(got.image_xyz_px, orig.image_xyz_px, rtol=1e-6, atol=1e-4)  # float32
            np.testing.assert_allclose(got.world_xyz_m, orig.world_xyz_m, atol=1e-6)
            np.testing.assert_allclose(got.visibility, orig.visibility, atol=1e-3)  # float16
    assert np.isnan(back[1].image_xyz_px).all() and np.all(back[1].visibility == 0)


def test_arrays_have_the_documented_dtypes(tmp_path):
    path = write(tmp_path / "p.npz", [pose(0.0, 1), PoseSample.missing(10.0, SIZE)])
    with np.load(path, allow_pickle=False) as z:
        assert z["timestamp_ms"].dtype == np.float64 and z["timestamp_ms"].shape == (2,)
        assert z["image_xyz_px"].dtype == np.float32 and z["image_xyz_px"].shape == (2, 33, 3)
        assert z["world_xyz_m"].dtype == np.float32 and z["world_xyz_m"].shape == (2, 33, 3)
        assert z["visibility"].dtype == np.float16 and z["visibility"].shape == (2, 33)
        assert np.isnan(z["image_xyz_px"][1]).all()
        assert json.loads(str(z["header"][()]))["n_frames"] == 2


def test_name_without_npz_suffix_is_kept(tmp_path):
    path = write(tmp_path / "session.poses", [pose(0.0, 1)])
    assert path.is_file() and not (tmp_path / "session.poses.npz").exists()
    assert is_poses_file(path)


def test_many_frames_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(posesfile, "_CHUNK", 3)
    poses = [pose(i * 10.0, i) if i % 4 else PoseSample.missing(i * 10.0, SIZE) for i in range(11)]
    back = list(read_poses(write(tmp_path / "p.npz", poses)))
    assert [p.timestamp_ms for p in back] == [i * 10.0 for i in range(11)]
    assert [p.detected for p in back] == [bool(i % 4) for i in range(11)]
    np.testing.assert_allclose(back[7].image_xyz_px, poses[7].image_xyz_px, atol=1e-4)


def test_empty_file_round_trips(tmp_path):
    path = write(tmp_path / "p.npz", [])
    assert read_poses_header(path)["n_frames"] == 0
    assert list(read_poses(path)) == []


def test_frame_size_taken_from_poses_when_header_lacks_it(tmp_path):
    header = {k: v for k, v in HEADER.items() if k != "frame_size_px"}
    path = write(tmp_path / "p.npz", [pose(0.0, 1)], header)
    assert read_poses_header(path)["frame_size_px"] == [640, 480]


def test_exception_inside_writer_leaves_no_file(tmp_path):
    path = tmp_path / "p.npz"
    with pytest.raises(RuntimeError):
        with PosesWriter(path, HEADER) as w:
            w.update(pose(0.0, 1))
            raise RuntimeError("estimation failed")
    assert list(tmp_path.iterdir()) == []


def test_exception_keeps_an_existing_file_intact(tmp_path):
    path = write(tmp_path / "p.npz", [pose(0.0, 1)])
    before = path.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with PosesWriter(path, HEADER) as w:
            w.update(pose(5.0, 2))
            raise KeyboardInterrupt
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]


def test_unwritable_output_is_output_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as excinfo:
        write(blocker / "p.npz", [pose(0.0, 1)])
    assert "\n" not in str(excinfo.value)


# --- bad files ------------------------------------------------------------------------------------


def _npz(path, **arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.write_bytes(buf.getvalue())
    return path


def _bad_files(tmp_path):
    good = write(tmp_path / "good.npz", [pose(0.0, 1), pose(1.0, 2)])
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(np.random.default_rng(0).bytes(4000))
    text = tmp_path / "notes.npz"
    text.write_text("hello\n")
    no_header = _npz(tmp_path / "no_header.npz", timestamp_ms=np.zeros(2))
    other = _npz(tmp_path / "other.npz", header=np.array(json.dumps({"format": "something-else", "schema_version": 1})))
    future = dict(HEADER, format="formcheck-poses", schema_version=99, n_frames=0)
    v99 = _npz(tmp_path / "v99.npz", header=np.array(json.dumps(future)))
    bad_json = _npz(tmp_path / "bad_json.npz", header=np.array("{not json"))
    hdr = dict(HEADER, format="formcheck-poses", schema_version=1, n_frames=2)
    bad_shape = _npz(
        tmp_path / "bad_shape.npz",
        header=np.array(json.dumps(hdr)),
        timestamp_ms=np.zeros(2),
        image_xyz_px=np.zeros((2, 17, 3), np.float32),
        world_xyz_m=np.zeros((2, 33, 3), np.float32),
        visibility=np.zeros((2, 33), np.float16),
    )
    npy = tmp_path / "plain.npy"
    np.save(npy, np.zeros(3))
    return {
        "truncated": truncated,
        "garbage": garbage,
        "text": text,
        "no header": no_header,
        "other format": other,
        "future version": v99,
        "bad json": bad_json,
        "bad shape": bad_shape,
        "plain npy": npy,
        "missing": tmp_path / "nope.npz",
        "folder": tmp_path,
    }


CASES = ["truncated", "garbage", "text", "no header", "other format", "future version", "bad json", "bad shape", "plain npy", "missing", "folder"]


@pytest.mark.parametrize("case", CASES)
def test_bad_file_is_one_line_input_error(tmp_path, case):
    path = _bad_files(tmp_path)[case]
    with pytest.raises(InputError) as excinfo:
        list(read_poses(path))
    msg = str(excinfo.value)
    assert msg and "\n" not in msg and str(path) in msg
    if case == "future version":
        assert "version 99" in msg and "upgrade formcheck" in msg


@pytest.mark.parametrize("case", CASES)
def test_is_poses_file_false_for_bad_files_never_raises(tmp_path, case):
    path = _bad_files(tmp_path)[case]
    expected = case in ("future version", "bad shape")  # the header says formcheck-poses
    assert is_poses_file(path) is expected


def test_is_poses_file_false_for_a_video_and_a_plain_zip(tmp_path):
    plain = tmp_path / "x.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("readme.txt", "hi")
    assert not is_poses_file(plain)
    mp4 = tmp_path / "x.mp4"
    mp4.write_bytes(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 100)
    assert not is_poses_file(mp4)
    assert is_poses_file(write(tmp_path / "ok.npz", [pose(0.0, 1)]))


def test_read_poses_checks_before_the_first_next(tmp_path):
    # Errors come at the call, so a CLI sees them before it opens any output.
    with pytest.raises(InputError):
        read_poses(tmp_path / "nope.npz")


def test_source_entry(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"abc")
    assert source_entry(clip) == {
        "name": "clip.mp4",
        "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    }
    assert source_entry(clip, with_sha256=False) == {"name": "clip.mp4"}
