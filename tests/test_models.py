"""Tests for formcheck.models: offline resolution, hub download (loopback only), package build."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from formcheck import models
from formcheck.models import ModelError

REPO_ROOT = Path(__file__).resolve().parents[1]
CLIP = REPO_ROOT.parent / "shared" / "clips" / "rohit_squat_side.mp4"

# A member that passes the bundle's layout checks: 4 bytes of offset, then the TFLite identifier.
_FAKE_TFLITE = b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64


# --- helpers -------------------------------------------------------------------------------


def make_fake_bundle(path: Path, *, pad: int = 0, compress: int = zipfile.ZIP_STORED, tag: bytes = b"") -> Path:
    """A structurally valid bundle (not a loadable model); `pad` bytes make it look big enough to download."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        zf.writestr(models.DETECTOR_NAME, _FAKE_TFLITE + tag)
        zf.writestr(models.LANDMARKER_NAME, _FAKE_TFLITE + tag + b"\x00" * pad)
    return path


def closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopbackServer:
    """A tiny http.server on 127.0.0.1 serving fixed responses; counts requests."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.declared_length: int | None = None  # lie about Content-Length to simulate a cut download
        self.hits: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                owner.hits.append(self.path)
                status, body = owner.routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                length = owner.declared_length if owner.declared_length is not None else len(body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{{variant}}.task"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own cache, no user model, and a hub URL that can only reach loopback."""
    monkeypatch.setenv("FORMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FORMCHECK_MODEL", raising=False)
    # Never let a test reach the real hub: default to a closed loopback port.
    monkeypatch.setenv("FORMCHECK_MODEL_URL", f"http://127.0.0.1:{closed_port()}/{{variant}}.task")
    return tmp_path / "cache"


@pytest.fixture
def server(monkeypatch):
    srv = LoopbackServer()
    monkeypatch.setenv("FORMCHECK_MODEL_URL", srv.url_template)
    yield srv
    srv.close()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --- locations -----------------------------------------------------------------------------


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("FORMCHECK_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("FORMCHECK_CACHE_DIR")
    assert models.cache_dir() == tmp_path / "xdg" / "formcheck"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert models.cache_dir() == tmp_path / "home" / ".cache" / "formcheck"


def test_cached_model_path_layout(isolated_env):
    assert models.cached_model_path("lite") == isolated_env / "models" / "pose_landmarker_lite.task"


def test_constants():
    assert models.VARIANTS == ("lite", "full", "heavy")
    assert models.DEFAULT_VARIANT == "full"


# --- resolution ----------------------------------------------------------------------------


def test_resolve_order_arg_then_env_then_cache(tmp_path, monkeypatch):
    cached = make_fake_bundle(models.cached_model_path("full"), tag=b"cache")
    env = make_fake_bundle(tmp_path / "env.task", tag=b"env")
    arg = make_fake_bundle(tmp_path / "arg.task", tag=b"arg")
    assert models.resolve_model("full") == cached
    monkeypatch.setenv("FORMCHECK_MODEL", str(env))
    assert models.resolve_model("full") == env
    assert models.resolve_model("full", model_path=arg) == arg
    assert models.resolve_model("full", model_path=str(arg)) == arg


def test_resolve_picks_the_variant_from_cache():
    lite = make_fake_bundle(models.cached_model_path("lite"))
    assert models.resolve_model("lite") == lite
    with pytest.raises(ModelError, match="'heavy' is not installed"):
        models.resolve_model("heavy")


@pytest.mark.parametrize(
    "call",
    [
        lambda: models.resolve_model("medium"),
        lambda: models.cached_model_path("medium"),
        lambda: models.fetch_model("medium", source="packages"),
        lambda: models.model_info("medium"),
    ],
)
def test_unknown_variant_lists_valid_ones(call):
    with pytest.raises(ModelError) as exc:
        call()
    msg = str(exc.value)
    assert "'medium'" in msg
    assert all(v in msg for v in models.VARIANTS)


def test_missing_model_says_how_to_fetch():
    with pytest.raises(ModelError) as exc:
        models.resolve_model("full")
    msg = str(exc.value)
    assert "pose model 'full' is not installed" in msg
    assert "formcheck model fetch --variant full" in msg
    assert "--model PATH" in msg and "FORMCHECK_MODEL" in msg
    assert "\n" not in msg


def test_explicit_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nope.task"
    with pytest.raises(ModelError, match="does not exist"):
        models.resolve_model("full", model_path=missing)


def test_env_path_that_is_not_a_bundle(tmp_path, monkeypatch):
    junk = tmp_path / "junk.task"
    junk.write_text("hello")
    monkeypatch.setenv("FORMCHECK_MODEL", str(junk))
    with pytest.raises(ModelError, match="FORMCHECK_MODEL.*not a pose landmarker bundle"):
        models.resolve_model("full")


def test_broken_cached_model_says_force_fetch():
    path = models.cached_model_path("full")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"truncated")
    with pytest.raises(ModelError, match="--force"):
        models.resolve_model("full")


# --- validate_bundle ---------------------------------------------------------------------------


def test_validate_accepts_stored_bundle(tmp_path):
    models.validate_bundle(make_fake_bundle(tmp_path / "ok.task"))


def test_validate_rejects_text_file(tmp_path):
    path = tmp_path / "text.task"
    path.write_text("<html>not a model</html>")
    with pytest.raises(ModelError, match="not a zip"):
        models.validate_bundle(path)


def test_validate_rejects_deflated_zip(tmp_path):
    path = make_fake_bundle(tmp_path / "deflated.task", compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelError, match="compressed"):
        models.validate_bundle(path)


def test_validate_rejects_missing_member(tmp_path):
    path = tmp_path / "half.task"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(models.DETECTOR_NAME, _FAKE_TFLITE)
    with pytest.raises(ModelError, match=models.LANDMARKER_NAME):
        models.validate_bundle(path)


def test_validate_rejects_non_tflite_member(tmp_path):
    path = tmp_path / "odd.task"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(models.DETECTOR_NAME, b"not a flatbuffer at all")
        zf.writestr(models.LANDMARKER_NAME, _FAKE_TFLITE)
    with pytest.raises(ModelError, match="not a TFLite model"):
        models.validate_bundle(path)


# --- hub download (loopback only) -----------------------------------------------------------------


def test_hub_404_leaves_nothing_behind(server, isolated_env):
    with pytest.raises(ModelError, match="HTTP 404") as exc:
        models.fetch_model("full", source="hub")
    assert "\n" not in str(exc.value)
    assert leftovers(isolated_env / "models") == []
    assert server.hits == ["/full.task"]


def test_hub_small_garbage_rejected_atomically(server, isolated_env):
    server.routes["/full.task"] = (200, b"<html>captive portal</html>")
    with pytest.raises(ModelError, match="not a bundle"):
        models.fetch_model("full", source="hub")
    assert leftovers(isolated_env / "models") == []


def test_hub_large_garbage_rejected_atomically(server, isolated_env):
    server.routes["/full.task"] = (200, b"x" * 2_000_000)
    with pytest.raises(ModelError, match="not a zip"):
        models.fetch_model("full", source="hub")
    assert leftovers(isolated_env / "models") == []


def test_hub_cut_short_rejected_atomically(server, isolated_env, tmp_path):
    body = make_fake_bundle(tmp_path / "served.task", pad=1_500_000).read_bytes()
    server.routes["/full.task"] = (200, body)
    server.declared_length = len(body) + 1000
    with pytest.raises(ModelError, match="retry|failed"):
        models.fetch_model("full", source="hub")
    assert leftovers(isolated_env / "models") == []


def test_hub_failure_keeps_previous_model(server):
    old = make_fake_bundle(models.cached_model_path("full"), pad=10, tag=b"old")
    before = old.read_bytes()
    with pytest.raises(ModelError):
        models.fetch_model("full", source="hub", force=True)
    assert old.read_bytes() == before
    assert leftovers(old.parent) == [old.name]


def test_hub_sha256_mismatch_rejected(server, isolated_env, tmp_path, monkeypatch):
    bundle = make_fake_bundle(tmp_path / "served.task", pad=1_200_000)
    server.routes["/full.task"] = (200, bundle.read_bytes())
    monkeypatch.setitem(models._KNOWN_SHA256, "full", "0" * 64)
    with pytest.raises(ModelError, match="sha256"):
        models.fetch_model("full", source="hub")
    assert leftovers(isolated_env / "models") == []


def test_hub_success_with_progress(server, tmp_path):
    bundle = make_fake_bundle(tmp_path / "served.task", pad=3_000_000)
    body = bundle.read_bytes()
    server.routes["/lite.task"] = (200, body)
    calls: list[tuple[int, int | None]] = []
    path = models.fetch_model("lite", source="hub", progress=lambda done, total: calls.append((done, total)))
    assert path == models.cached_model_path("lite")
    assert path.read_bytes() == body
    assert calls[0] == (0, len(body)) and calls[-1] == (len(body), len(body))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert leftovers(path.parent) == ["pose_landmarker_lite.json", "pose_landmarker_lite.task"]
    info = models.model_info("lite")
    assert info["source"] == "hub" and info["exists"] and info["size_bytes"] == len(body)
    assert json.loads(path.with_suffix(".json").read_text())["sha256"] == info["sha256"]
    assert models.resolve_model("lite") == path


def test_fetch_reuses_cache_unless_forced(server, tmp_path):
    cached = make_fake_bundle(models.cached_model_path("full"), tag=b"old")
    assert models.fetch_model("full", source="hub") == cached
    assert server.hits == []
    server.routes["/full.task"] = (200, make_fake_bundle(tmp_path / "new.task", pad=1_100_000, tag=b"new").read_bytes())
    models.fetch_model("full", source="hub", force=True)
    assert server.hits == ["/full.task"]
    assert b"new" in cached.read_bytes()


def test_hub_closed_port_fails_fast():
    start = time.monotonic()
    with pytest.raises(ModelError, match="check the network"):
        models.fetch_model("full", source="hub")
    assert time.monotonic() - start < 3


def test_hub_url_default_and_override(monkeypatch):
    monkeypatch.delenv("FORMCHECK_MODEL_URL")
    assert models.hub_url("heavy") == models.HUB_URL.format(variant="heavy")
    assert "/pose_landmarker_heavy/float16/latest/pose_landmarker_heavy.task" in models.hub_url("heavy")
    monkeypatch.setenv("FORMCHECK_MODEL_URL", "http://127.0.0.1:9/m/{variant}.task")
    assert models.hub_url("lite") == "http://127.0.0.1:9/m/lite.task"


def test_bad_url_template(monkeypatch):
    monkeypatch.setenv("FORMCHECK_MODEL_URL", "http://127.0.0.1:1/{model}.task")
    with pytest.raises(ModelError, match="FORMCHECK_MODEL_URL"):
        models.fetch_model("full", source="hub")


def test_unknown_source():
    with pytest.raises(ModelError, match="auto, hub, packages"):
        models.fetch_model("full", source="ftp")


def test_auto_falls_through_to_packages(monkeypatch, isolated_env):
    built: list[str] = []

    def fake_build(variant, out_path, workdir=None):
        built.append(variant)
        return make_fake_bundle(Path(out_path), tag=b"pkg")

    monkeypatch.setattr(models, "build_bundle_from_packages", fake_build)
    start = time.monotonic()
    path = models.fetch_model("heavy")
    assert time.monotonic() - start < 3
    assert built == ["heavy"]
    assert path == models.cached_model_path("heavy")
    assert models.model_info("heavy")["source"] == "packages"


def test_auto_reports_both_failures(monkeypatch):
    def failing_build(variant, out_path, workdir=None):
        raise ModelError("npm is missing")

    monkeypatch.setattr(models, "build_bundle_from_packages", failing_build)
    with pytest.raises(ModelError) as exc:
        models.fetch_model("lite")
    msg = str(exc.value)
    assert "hub download failed" in msg and "npm is missing" in msg and "\n" not in msg


# --- package build: failure paths (no registry needed) ----------------------------------------------


def test_lite_without_npm_says_install_node(monkeypatch, tmp_path):
    wheel = tmp_path / "dl" / "mediapipe-0.10.21-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(models._WHEEL_DETECTOR, _FAKE_TFLITE)
    monkeypatch.setattr(models.shutil, "which", lambda name: None)
    with pytest.raises(ModelError, match="install Node.js/npm or use --variant full"):
        models.build_bundle_from_packages("lite", tmp_path / "out.task", workdir=wheel.parent)
    assert not (tmp_path / "out.task").exists()


def test_tampered_package_network_rejected(tmp_path):
    wheel = tmp_path / "dl" / "mediapipe-0.10.21-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(models._WHEEL_DETECTOR, _FAKE_TFLITE)
        zf.writestr(models._WHEEL_FULL, _FAKE_TFLITE)
    with pytest.raises(ModelError, match="pinned"):
        models.build_bundle_from_packages("full", tmp_path / "out.task", workdir=wheel.parent)


def test_package_tool_failure_is_one_line(tmp_path):
    cmd = [sys.executable, "-c", "import sys; sys.stderr.write('ERROR: no such package\\n'); sys.exit(1)"]
    with pytest.raises(ModelError) as exc:
        models._download_package(cmd, tmp_path / "dl", "*.whl", "pip", "check the network")
    msg = str(exc.value)
    assert "no such package" in msg and "check the network" in msg and "\n" not in msg
    assert leftovers(tmp_path / "dl") == []


def test_add_metadata_rejects_non_tflite():
    pytest.importorskip("mediapipe")
    with pytest.raises(ModelError, match="not a TFLite model"):
        models.add_tflite_metadata(b"hello world", mean=0.0, std=255.0)


def test_model_info_missing_and_user_path(tmp_path):
    info = models.model_info("full")
    assert info["exists"] is False and info["sha256"] is None and info["source"] is None
    user = make_fake_bundle(tmp_path / "mine.task")
    info = models.model_info("full", model_path=user)
    assert info["source"] == "user" and info["path"] == str(user) and len(info["sha256"]) == 64
    # A bundle copied into the cache by hand has no sidecar: it is the user's.
    cached = models.cached_model_path("full")
    cached.parent.mkdir(parents=True)
    shutil.copy(user, cached)
    assert models.model_info("full")["source"] == "user"


def test_import_does_not_pull_in_mediapipe():
    code = "import sys, formcheck.models; print('mediapipe' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert out.stdout.strip() == "False"


# --- real model (package build + MediaPipe) -----------------------------------------------------------


@pytest.fixture(scope="session")
def package_downloads(tmp_path_factory) -> Path:
    """A session download dir, seeded from the user's cache so tests skip re-downloading ~75 MB."""
    pytest.importorskip("mediapipe")
    real_downloads = models.cache_dir() / "downloads"  # read before any test isolates the env
    downloads = tmp_path_factory.mktemp("model-cache") / "downloads"
    downloads.mkdir()
    for pattern in (models._WHEEL_GLOB, models._NPM_GLOB):
        for found in real_downloads.glob(pattern):
            shutil.copy2(found, downloads / found.name)
    return downloads


@pytest.fixture(scope="session")
def built_full(package_downloads) -> Path:
    """Build the full bundle once per session through fetch_model, in a tmp cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FORMCHECK_CACHE_DIR", str(package_downloads.parent))
        mp.delenv("FORMCHECK_MODEL", raising=False)
        mp.delenv("FORMCHECK_MODEL_URL", raising=False)
        return models.fetch_model("full", source="packages")


@pytest.fixture(scope="session")
def clip_frame():
    """One RGB frame from the middle of a real side-view squat clip."""
    cv2 = pytest.importorskip("cv2")
    if not CLIP.is_file():
        pytest.skip(f"clip {CLIP} is absent (needs ../shared/clips)")
    cap = cv2.VideoCapture(str(CLIP))
    cap.set(cv2.CAP_PROP_POS_FRAMES, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) // 2)
    ok, frame = cap.read()
    cap.release()
    assert ok, f"could not read a frame from {CLIP}"
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def detect(model_path: Path, rgb):
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.IMAGE,
    )
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        return landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))


@pytest.mark.model
def test_built_full_bundle_layout(built_full):
    models.validate_bundle(built_full)
    with zipfile.ZipFile(built_full) as zf:
        for info in zf.infolist():
            assert info.header_offset >= 0
            # create_model_asset_bundle aligns each member's data to 4 bytes for mmap.
            data_offset = info.header_offset + len(info.FileHeader())
            assert data_offset % 4 == 0, info.filename
    info = json.loads(built_full.with_suffix(".json").read_text())
    assert info["source"] == "packages" and info["variant"] == "full"


@pytest.mark.model
def test_metadata_is_replaced_not_duplicated(built_full):
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    with zipfile.ZipFile(built_full) as zf:
        detector = zf.read(models.DETECTOR_NAME)
    again = models.add_tflite_metadata(detector, mean=127.5, std=127.5)
    before = tfl.ModelT.InitFromObj(tfl.Model.GetRootAs(detector, 0))
    after = tfl.ModelT.InitFromObj(tfl.Model.GetRootAs(again, 0))
    assert len(after.buffers) == len(before.buffers)
    assert [m.name for m in after.metadata].count(b"TFLITE_METADATA") == 1


@pytest.mark.model
def test_built_full_bundle_detects_a_person(built_full, clip_frame):
    result = detect(built_full, clip_frame)
    assert len(result.pose_landmarks) == 1
    landmarks = result.pose_landmarks[0]
    assert len(landmarks) == 33
    visible = sum(lm.visibility > 0.5 for lm in landmarks)
    assert visible >= 25, f"only {visible}/33 landmarks visible"
    assert all(0.0 <= lm.x <= 1.0 and 0.0 <= lm.y <= 1.0 for lm in landmarks)


@pytest.mark.model
@pytest.mark.parametrize("variant", ["lite", "heavy"])
def test_npm_variants_build_and_detect(variant, package_downloads, clip_frame, tmp_path):
    if shutil.which("npm") is None and not list(package_downloads.glob(models._NPM_GLOB)):
        pytest.skip("npm is not installed; lite and heavy come from the npm package")
    out = models.build_bundle_from_packages(variant, tmp_path / f"{variant}.task", workdir=package_downloads)
    models.validate_bundle(out)
    result = detect(out, clip_frame)
    assert len(result.pose_landmarks) == 1 and len(result.pose_landmarks[0]) == 33


@pytest.mark.model
def test_real_bundle_over_loopback_hub(built_full, server, isolated_env):
    body = built_full.read_bytes()
    server.routes["/full.task"] = (200, body)
    seen: list[int] = []
    path = models.fetch_model("full", source="auto", progress=lambda done, total: seen.append(done))
    assert path.read_bytes() == body
    assert seen[-1] == len(body)
    assert models.model_info("full")["source"] == "hub"
    assert models.resolve_model("full") == path


# --- the backend factory ---------------------------------------------------------------------------


def test_pose_backend_unknown_name_lists_the_valid_ones(tmp_path):
    from formcheck.backends import BACKENDS, pose_backend

    path = make_fake_bundle(tmp_path / "m.task")
    with pytest.raises(ModelError) as err:
        pose_backend("openpose", model_path=path)
    assert "'openpose'" in str(err.value)
    assert all(name in str(err.value) for name in BACKENDS) and "mediapipe" in BACKENDS


def test_backend_identity_is_the_string_batch_records(tmp_path):
    import hashlib

    from formcheck.backends import pose_backend
    from formcheck.batch_manifest import BatchOptions, ModelIdentity

    path = make_fake_bundle(tmp_path / "my model.task", tag=b"identity")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = f"my model.task (lite, sha256 {digest[:12]})"  # what batch wrote before the factory
    backend = pose_backend("mediapipe", variant="lite", model_path=path)
    assert backend.identity() == expected and backend.digest == digest
    assert ModelIdentity(BatchOptions(out_dir=tmp_path, model_path=path, variant="lite")).video() == (expected, digest)


def test_model_option_is_a_variant_or_a_task_file(tmp_path, isolated_env):
    from formcheck.backends import backend_for_model_option, parse_model_option

    assert parse_model_option("lite") == ("lite", None)
    assert parse_model_option("heavy") == ("heavy", None)
    assert parse_model_option("models/mine.task") == ("full", Path("models/mine.task"))
    own = make_fake_bundle(tmp_path / "mine.task")
    backend = backend_for_model_option(str(own))
    assert (backend.variant, backend.model_path) == ("full", own)
    cached = make_fake_bundle(models.cached_model_path("lite"))
    backend = backend_for_model_option("lite")
    assert (backend.variant, backend.model_path) == ("lite", cached)
    with pytest.raises(ModelError, match="not installed"):
        backend_for_model_option("heavy")
