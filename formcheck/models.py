"""Where the pose model (.task bundle) comes from: resolve it offline, fetch it, or build it.

Resolution never touches the network. Fetching tries the official model hub, then
an offline build that takes the same two networks out of pinned registry packages
(the ``mediapipe`` wheel and the ``@mediapipe/pose`` npm package), adds the TFLite
metadata the Tasks API needs, and zips them into the bundle layout PoseLandmarker reads.

mediapipe is imported lazily inside functions so the core of formcheck imports without it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from formcheck.io import atomic_path, atomic_write, publish, sha256_file

VARIANTS = ("lite", "full", "heavy")
DEFAULT_VARIANT = "full"
SOURCES = ("auto", "hub", "packages")

HUB_URL = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
    "pose_landmarker_{variant}/float16/latest/pose_landmarker_{variant}.task"
)
URL_ENV = "FORMCHECK_MODEL_URL"
MODEL_ENV = "FORMCHECK_MODEL"
CACHE_ENV = "FORMCHECK_CACHE_DIR"

# Official bundle hashes; empty until they can be learned from a networked machine.
_KNOWN_SHA256: dict[str, str] = {}

CONNECT_TIMEOUT_S = 5.0
_CHUNK = 1 << 20
_MIN_BUNDLE_BYTES = 1_000_000  # the lite bundle is ~5 MB; anything under 1 MB is an error page
_MAX_BUNDLE_BYTES = 200_000_000  # heavy is ~30 MB; stop a runaway download well before the disk fills

DETECTOR_NAME = "pose_detector.tflite"
LANDMARKER_NAME = "pose_landmarks_detector.tflite"
BUNDLE_MEMBERS = (DETECTOR_NAME, LANDMARKER_NAME)

# Input normalisation the two networks were trained with: detector wants [-1, 1], landmarker [0, 1].
DETECTOR_NORM = (127.5, 127.5)
LANDMARKER_NORM = (0.0, 255.0)

# Pinned registry packages. The .tflite files are platform independent, so any wheel will do.
_WHEEL_REQ = "mediapipe==0.10.21"
_WHEEL_GLOB = "mediapipe-0.10.21-*.whl"
_WHEEL_DETECTOR = "mediapipe/modules/pose_detection/pose_detection.tflite"
_WHEEL_FULL = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
_NPM_SPEC = "@mediapipe/pose@0.5.1675469404"
_NPM_GLOB = "mediapipe-pose-0.5.1675469404.tgz"
_NPM_MEMBER = "package/pose_landmark_{variant}.tflite"
_PKG_TIMEOUT_S = 600

# sha256 of the raw networks inside the pinned packages, so a changed package is caught.
_SOURCE_SHA256 = {
    "detector": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "lite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "full": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "heavy": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}

Progress = Callable[[int, int | None], None]


class ModelError(Exception):
    """The pose model is missing or unusable; the message is one line saying what to do."""


# --- locations ----------------------------------------------------------------------------


def cache_dir() -> Path:
    """User cache dir: $FORMCHECK_CACHE_DIR, else $XDG_CACHE_HOME/formcheck, else ~/.cache/formcheck."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "formcheck"


def cached_model_path(variant: str) -> Path:
    """Where the cached bundle for `variant` lives (it may not exist)."""
    _check_variant(variant)
    return cache_dir() / "models" / f"pose_landmarker_{variant}.task"


def _sidecar_path(model: Path) -> Path:
    return model.with_suffix(".json")


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ModelError(f"unknown pose model variant {variant!r}; use one of: {', '.join(VARIANTS)}")


def _fetch_hint(variant: str) -> str:
    return f"run `formcheck model fetch --variant {variant}` (or pass --model PATH / set {MODEL_ENV})"


# --- resolution (offline) -----------------------------------------------------------------


def resolve_model(variant: str = DEFAULT_VARIANT, model_path: str | Path | None = None) -> Path:
    """Find the bundle without any network: explicit path, then $FORMCHECK_MODEL, then the cache."""
    _check_variant(variant)
    if model_path is not None and str(model_path) != "":
        return _checked_user_path(Path(model_path), "--model")
    env_path = os.environ.get(MODEL_ENV)
    if env_path:
        return _checked_user_path(Path(env_path), MODEL_ENV)
    cached = cached_model_path(variant)
    if not cached.is_file():
        raise ModelError(f"pose model '{variant}' is not installed; {_fetch_hint(variant)}")
    try:
        validate_bundle(cached)
    except ModelError as exc:
        raise ModelError(
            f"cached pose model {cached} is broken ({exc}); "
            f"run `formcheck model fetch --variant {variant} --force`"
        ) from exc
    return cached


def _checked_user_path(path: Path, origin: str) -> Path:
    path = path.expanduser()
    if not path.is_file():
        raise ModelError(f"pose model {path} (from {origin}) does not exist; point {origin} at a .task file")
    try:
        validate_bundle(path)
    except ModelError as exc:
        raise ModelError(f"pose model {path} (from {origin}) is not a pose landmarker bundle: {exc}") from exc
    return path


def validate_bundle(path: Path) -> None:
    """Check `path` is a stored (uncompressed) zip holding the detector and landmarker .tflite."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not a zip .task bundle; fetch the model again or pass a real .task file")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            for name in BUNDLE_MEMBERS:
                _check_member(zf, infos.get(name), name, path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{path} is an unreadable zip ({exc}); fetch the model again") from exc


def _check_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo | None, name: str, path: Path) -> None:
    if info is None:
        raise ModelError(f"{path} lacks {name}; it is not a pose landmarker bundle")
    # MediaPipe mmaps members in place, so they must be stored, not deflated.
    if info.compress_type != zipfile.ZIP_STORED:
        raise ModelError(f"{path}: {name} is compressed; the bundle must be stored (use create_model_asset_bundle)")
    with zf.open(info) as member:
        head = member.read(8)
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise ModelError(f"{path}: {name} is not a TFLite model; fetch the model again")


# --- info ---------------------------------------------------------------------------------


def model_info(variant: str = DEFAULT_VARIANT, model_path: str | Path | None = None) -> dict:
    """Describe the cached bundle for `variant` (or `model_path`, reported as source 'user')."""
    _check_variant(variant)
    path = Path(model_path).expanduser() if model_path else cached_model_path(variant)
    exists = path.is_file()
    info: dict = {
        "variant": variant,
        "path": str(path),
        "exists": exists,
        "size_bytes": path.stat().st_size if exists else None,
        "sha256": sha256_file(path) if exists else None,
        "source": None,
    }
    if exists:
        info["source"] = "user" if model_path else _read_sidecar(path).get("source", "user")
    return info


def _read_sidecar(model: Path) -> dict:
    try:
        data = json.loads(_sidecar_path(model).read_text())
    except (OSError, ValueError):
        return {}  # a missing or mangled sidecar only loses provenance, never the model
    return data if isinstance(data, dict) else {}


def _write_sidecar(model: Path, variant: str, source: str) -> None:
    payload = {
        "variant": variant,
        "source": source,
        "sha256": sha256_file(model),
        "size_bytes": model.stat().st_size,
    }
    _atomic_write_bytes(_sidecar_path(model), json.dumps(payload, indent=2).encode() + b"\n")


# the option a user changes when the model folder cannot be written
_DIR_OPTION = f"model folder (${CACHE_ENV}, or ${MODEL_ENV} for a model file)"


def _atomic_write_bytes(dest: Path, data: bytes) -> None:
    atomic_write(dest, lambda fh: fh.write(data), binary=True, option=_DIR_OPTION)


# --- fetch ---------------------------------------------------------------------------------


def fetch_model(
    variant: str = DEFAULT_VARIANT,
    source: str = "auto",
    progress: Progress | None = None,
    force: bool = False,
) -> Path:
    """Install the bundle for `variant` into the cache: hub download, package build, or both in turn."""
    _check_variant(variant)
    if source not in SOURCES:
        raise ModelError(f"unknown model source {source!r}; use one of: {', '.join(SOURCES)}")
    dest = cached_model_path(variant)
    if dest.is_file() and not force and _is_valid(dest):
        return dest
    if source == "hub":
        download_from_hub(variant, dest, progress)
        used = "hub"
    elif source == "packages":
        build_bundle_from_packages(variant, dest)
        used = "packages"
    else:
        used = _fetch_auto(variant, dest, progress)
    _write_sidecar(dest, variant, used)
    return dest


def _fetch_auto(variant: str, dest: Path, progress: Progress | None) -> str:
    try:
        download_from_hub(variant, dest, progress)
        return "hub"
    except ModelError as hub_exc:
        try:
            build_bundle_from_packages(variant, dest)
        except ModelError as pkg_exc:
            raise ModelError(
                f"could not get pose model '{variant}': hub download failed ({hub_exc}) "
                f"and the package build failed ({pkg_exc})"
            ) from pkg_exc
        return "packages"


def _is_valid(path: Path) -> bool:
    try:
        validate_bundle(path)
    except ModelError:
        return False
    return True


# --- hub download ---------------------------------------------------------------------------


def hub_url(variant: str) -> str:
    """The download URL for `variant`: $FORMCHECK_MODEL_URL (a format string with {variant}) or the hub."""
    _check_variant(variant)
    template = os.environ.get(URL_ENV) or HUB_URL
    try:
        return template.format(variant=variant)
    except (KeyError, IndexError, ValueError) as exc:
        raise ModelError(f"{URL_ENV}={template!r} is not a format string with only {{variant}}; fix or unset it") from exc


def download_from_hub(variant: str, dest: Path, progress: Progress | None = None) -> Path:
    """Download the bundle to `dest` atomically, verifying size, known sha256 and layout."""
    url = hub_url(variant)
    with atomic_path(dest, option=_DIR_OPTION) as tmp:
        digest = _download(url, tmp, progress)
        _verify_download(variant, tmp, digest, url)
    return dest


def _download(url: str, tmp: Path, progress: Progress | None) -> str:
    """Stream `url` into `tmp`; return its sha256. Any network failure becomes a one-line ModelError."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ModelError(f"model URL {url!r} is not http(s); fix {URL_ENV}")
    _resolve_quickly(parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
    try:
        with _opener(parsed.hostname).open(url, timeout=CONNECT_TIMEOUT_S) as resp:
            return _stream(resp, tmp, progress)
    except urllib.error.HTTPError as exc:
        raise ModelError(f"model download from {url} failed: HTTP {exc.code}; try --source packages") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ModelError(f"model download from {url} failed ({reason}); check the network or try --source packages") from exc


def _resolve_quickly(host: str, port: int) -> None:
    """Resolve `host` in a thread so an offline machine fails in seconds, not a resolver timeout."""
    outcome: list[BaseException | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(CONNECT_TIMEOUT_S)
    if not outcome:
        raise ModelError(f"cannot resolve {host} (timed out); check the network or try --source packages")
    if outcome[0] is not None:
        raise ModelError(f"cannot resolve {host} ({outcome[0]}); check the network or try --source packages")


def _opener(host: str) -> urllib.request.OpenerDirector:
    # A loopback URL (tests, a local mirror) must never be sent to an environment proxy.
    if host in ("localhost", "::1") or host.startswith("127."):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _stream(resp, tmp: Path, progress: Progress | None) -> str:
    length = resp.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    digest = hashlib.sha256()  # hashed as it streams in: the download is read once
    done = 0
    if progress:
        progress(0, total)
    with open(tmp, "wb") as out:
        for chunk in iter(lambda: resp.read(_CHUNK), b""):
            done += len(chunk)
            if done > _MAX_BUNDLE_BYTES:
                raise ModelError(f"model download exceeded {_MAX_BUNDLE_BYTES} bytes; check {URL_ENV}")
            digest.update(chunk)
            out.write(chunk)
            if progress:
                progress(done, total)
    if total is not None and done != total:
        raise ModelError(f"model download was cut short ({done} of {total} bytes); retry the fetch")
    return digest.hexdigest()


def _verify_download(variant: str, tmp: Path, digest: str, url: str) -> None:
    size = tmp.stat().st_size
    if size < _MIN_BUNDLE_BYTES:
        raise ModelError(f"model download from {url} is only {size} bytes, not a bundle; check {URL_ENV} or try --source packages")
    expected = _KNOWN_SHA256.get(variant)
    if expected and digest != expected:
        raise ModelError(f"model download from {url} has sha256 {digest}, expected {expected}; try --source packages")
    validate_bundle(tmp)


# --- offline build from registry packages -----------------------------------------------------


def build_bundle_from_packages(variant: str, out_path: Path, workdir: Path | None = None) -> Path:
    """Build the bundle from pinned registry packages; `workdir` keeps the downloads (default: cache)."""
    _check_variant(variant)
    out_path = Path(out_path)
    downloads = Path(workdir) if workdir is not None else cache_dir() / "downloads"
    detector, landmarker = _raw_networks(variant, downloads)
    models = {
        DETECTOR_NAME: add_tflite_metadata(detector, mean=DETECTOR_NORM[0], std=DETECTOR_NORM[1]),
        LANDMARKER_NAME: add_tflite_metadata(landmarker, mean=LANDMARKER_NORM[0], std=LANDMARKER_NORM[1]),
    }
    _write_bundle(models, out_path)
    return out_path


def _raw_networks(variant: str, downloads: Path) -> tuple[bytes, bytes]:
    """The detector and the `variant` landmarker, straight out of the packages, hash-checked."""
    wheel = _ensure_wheel(downloads)
    with zipfile.ZipFile(wheel) as zf:
        detector = zf.read(_WHEEL_DETECTOR)
        # full is in the wheel; lite and heavy only ship in the npm package.
        landmarker = zf.read(_WHEEL_FULL) if variant == "full" else None
    if landmarker is None:
        with tarfile.open(_ensure_npm_tgz(downloads, variant)) as tf:
            landmarker = _read_tar_member(tf, _NPM_MEMBER.format(variant=variant))
    _check_source_hash("detector", detector)
    _check_source_hash(variant, landmarker)
    return detector, landmarker


def _read_tar_member(tf: tarfile.TarFile, name: str) -> bytes:
    member = tf.extractfile(name)
    if member is None:
        raise ModelError(f"{name} is missing from the npm package; delete {cache_dir() / 'downloads'} and retry")
    return member.read()


def _check_source_hash(key: str, data: bytes) -> None:
    got = hashlib.sha256(data).hexdigest()
    if got != _SOURCE_SHA256[key]:
        raise ModelError(f"the packaged {key} network has sha256 {got}, not the pinned one; delete {cache_dir() / 'downloads'} and retry")


def _write_bundle(models: dict[str, bytes], out_path: Path) -> None:
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    with atomic_path(out_path, option=_DIR_OPTION) as tmp:
        # Same writer as create_model_asset_bundle (stored, members 4-byte aligned so MediaPipe can
        # mmap them), but with a fixed timestamp so the same packages always give the same bytes.
        with model_asset_bundle_utils.AlignZipFile(tmp, mode="w", alignment=4) as zf:
            for name, data in models.items():
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        validate_bundle(tmp)


def _ensure_wheel(downloads: Path) -> Path:
    """The pinned mediapipe wheel, downloaded once with pip into `downloads`."""
    cached = _cached_download(downloads, _WHEEL_GLOB, zipfile.is_zipfile)
    if cached:
        return cached
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64",
        "--disable-pip-version-check", "--quiet", _WHEEL_REQ, "-d",
    ]
    return _download_package(cmd, downloads, _WHEEL_GLOB, "pip", f"check the network or pip config, or `pip download {_WHEEL_REQ}` into {downloads}")


def _ensure_npm_tgz(downloads: Path, variant: str) -> Path:
    """The pinned @mediapipe/pose tarball, packed once with npm into `downloads`."""
    cached = _cached_download(downloads, _NPM_GLOB, tarfile.is_tarfile)
    if cached:
        return cached
    npm = shutil.which("npm")
    if npm is None:
        raise ModelError(f"building the '{variant}' pose model needs npm; install Node.js/npm or use --variant full")
    cmd = [npm, "pack", "--silent", _NPM_SPEC, "--pack-destination"]
    return _download_package(cmd, downloads, _NPM_GLOB, "npm", "check the network or npm config")


def _cached_download(downloads: Path, pattern: str, is_valid: Callable[[Path], bool]) -> Path | None:
    for found in sorted(downloads.glob(pattern)):
        if is_valid(found):
            return found
        found.unlink(missing_ok=True)  # a broken leftover; fetch it again
    return None


def _download_package(cmd: list[str], downloads: Path, pattern: str, tool: str, hint: str) -> Path:
    """Run `cmd` + a fresh staging dir, then move the one file matching `pattern` into `downloads`."""
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging.", dir=downloads) as staging:
        try:
            proc = subprocess.run(
                [*cmd, staging], cwd=staging, capture_output=True, text=True,
                timeout=_PKG_TIMEOUT_S, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ModelError(f"{tool} could not fetch the model package ({exc}); {hint}") from exc
        found = sorted(Path(staging).glob(pattern))
        if proc.returncode != 0 or not found:
            detail = _last_line(proc.stderr) or f"exit {proc.returncode}"
            raise ModelError(f"{tool} could not fetch the model package ({detail}); {hint}")
        final = downloads / found[0].name
        publish(found[0], final, _DIR_OPTION)
    return final


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- TFLite metadata ----------------------------------------------------------------------


def add_tflite_metadata(model_bytes: bytes, *, mean: float, std: float) -> bytes:
    """Return the model with a TFLITE_METADATA buffer declaring an RGB image input and its normalisation."""
    import flatbuffers
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    if len(model_bytes) < 8 or bytes(model_bytes[4:8]) != b"TFL3":
        raise ModelError("not a TFLite model (no TFL3 identifier); check the model file")
    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAs(model_bytes, 0))
    graph = model.subgraphs[0]
    n_in = len(graph.inputs) if graph.inputs is not None else 0
    n_out = len(graph.outputs) if graph.outputs is not None else 0
    buffer = tfl.BufferT()
    buffer.data = _metadata_buffer(n_in, n_out, mean, std)
    _set_metadata(model, buffer)
    builder = flatbuffers.Builder(len(model_bytes) + 4096)
    builder.Finish(model.Pack(builder), b"TFL3")
    return bytes(builder.Output())


def _set_metadata(model, buffer) -> None:
    """Replace an existing TFLITE_METADATA buffer, or append one and point a new entry at it."""
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    model.buffers = model.buffers or []
    model.metadata = model.metadata or []
    for entry in model.metadata:
        if _as_str(entry.name) == "TFLITE_METADATA":
            model.buffers[entry.buffer] = buffer
            return
    model.buffers.append(buffer)
    entry = tfl.MetadataT()
    entry.name = "TFLITE_METADATA"
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)


def _as_str(name: bytes | str | None) -> str:
    return name.decode() if isinstance(name, bytes) else (name or "")


def _metadata_buffer(n_inputs: int, n_outputs: int, mean: float, std: float) -> bytes:
    """Serialize a ModelMetadata flatbuffer (identifier M001) for an image-in model."""
    import flatbuffers
    from mediapipe.tasks.metadata import metadata_schema_py_generated as md

    subgraph = md.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [_image_input(mean, std) for _ in range(max(n_inputs, 1))]
    subgraph.outputTensorMetadata = [md.TensorMetadataT() for _ in range(n_outputs)]
    meta = md.ModelMetadataT()
    meta.name = "formcheck pose network"
    meta.description = "Built by formcheck from registry packages."
    meta.subgraphMetadata = [subgraph]
    # The upstream populator stamps the parser version its C++ helper computes; NormalizationOptions
    # and ImageProperties both date from 1.0.0, and that helper is not shipped in mediapipe 1.2.2.
    meta.minParserVersion = "1.0.0"
    builder = flatbuffers.Builder(0)
    builder.Finish(meta.Pack(builder), b"M001")
    return bytes(builder.Output())


def _image_input(mean: float, std: float):
    from mediapipe.tasks.metadata import metadata_schema_py_generated as md

    norm = md.NormalizationOptionsT()
    norm.mean = [float(mean)]
    norm.std = [float(std)]
    unit = md.ProcessUnitT()
    unit.optionsType = md.ProcessUnitOptions.NormalizationOptions
    unit.options = norm
    image = md.ImagePropertiesT()
    image.colorSpace = md.ColorSpaceType.RGB
    content = md.ContentT()
    content.contentPropertiesType = md.ContentProperties.ImageProperties
    content.contentProperties = image
    tensor = md.TensorMetadataT()
    tensor.name = "image"
    tensor.content = content
    tensor.processUnits = [unit]
    return tensor
