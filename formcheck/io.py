"""Where formcheck may write, and how: the one place that decides, and the one atomic writer.

The rules every command's outputs go through (``check_output``):

- never an input of the same command (the same file, however it is named: links included);
- never the history database, or any other SQLite file;
- never an existing file that formcheck did not write: each kind of output says how to recognise
  its own files (a poses file by its header, a report by its fields, a CSV by its header row),
  and only those are replaced. Anything else stays as it is, and the user is told to choose
  another name or remove the file.

Files are written to a temp file in their own folder, fsynced and renamed into place
(``atomic_write``; ``write_files_together`` does the same for files that only make sense
together; ``atomic_path`` for writers that need a file name, such as a video encoder or a zip
writer), so an error, a full disk or Ctrl-C never leaves a half-written output. ``sha256_file`` is
the one file hash and ``exclusive_lock`` the one cross-process lock. Stdlib only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from formcheck.errors import OutputError

SQLITE_MAGIC = b"SQLite format 3\x00"


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when both names lead to one file (symlinks and hard links included)."""
    pa, pb = Path(a), Path(b)
    try:
        return os.path.samefile(pa, pb)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return pa.expanduser().resolve() == pb.expanduser().resolve()


def is_sqlite(path: str | os.PathLike) -> bool:
    """True when ``path`` is an SQLite database (by its first 16 bytes)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def csv_starts_with(path: str | os.PathLike, columns: Sequence[str]) -> bool:
    """True when the file is a CSV whose header begins with ``columns`` (how our CSV files are known)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline(64 * 1024)
    except (OSError, UnicodeDecodeError):
        return False
    try:
        header = next(csv.reader([first]), [])
    except csv.Error:
        return False
    return header[:len(columns)] == list(columns)


def head_contains(path: str | os.PathLike, marker: str, within_bytes: int = 4096) -> bool:
    """True when ``marker`` is in the file's first bytes (how our pages are recognised)."""
    try:
        with open(path, "rb") as fh:
            return marker.encode("utf-8") in fh.read(within_bytes)
    except OSError:
        return False


@dataclass(frozen=True)
class OutputKind:
    """A kind of file formcheck writes: the command that writes it (for messages), the option that
    names it, and how to recognise one it wrote (only those may be replaced)."""

    writer: str
    option: str
    ours: Callable[[Path], bool]


def check_output(path: str | os.PathLike, kind: OutputKind, *, inputs: Iterable[str | os.PathLike] = (),
                 database: str | os.PathLike | None = None) -> Path:
    """Refuse to write ``path`` when it is an input, the database, or an existing file not ours."""
    path = Path(path)
    for source in inputs:
        if same_file(path, source):
            which = "" if Path(source).name == path.name else f" {source}"
            raise OutputError(f"{path} is the input{which} itself: choose another {kind.option}")
    if database is not None and same_file(path, database):
        raise OutputError(f"{path} is the history database: choose another {kind.option}")
    if path.is_dir():
        raise OutputError(f"{path} is a folder: choose a file name for {kind.option}")
    if path.exists() or path.is_symlink():
        if is_sqlite(path):
            raise OutputError(f"{path} is an SQLite database: choose another {kind.option}")
        if not path.is_file() or not kind.ours(path):
            raise OutputError(f"{path} exists and was not written by {kind.writer}: "
                              f"choose another {kind.option}, or move that file away first")
    return path


# --- folders a command creates -----------------------------------------------------------------------


def missing_folders(folder: str | os.PathLike) -> list[Path]:
    """The folders that do not exist yet on the way to ``folder`` (deepest first)."""
    out = []
    p = Path(folder).absolute()
    while not p.exists() and p != p.parent:
        out.append(p)
        p = p.parent
    return out


def remove_if_empty(folders: Iterable[Path]) -> None:
    """Remove folders this command created and left empty (deepest first); anything else stays."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (something else is there now), or already gone: leave it
            return


# --- writing atomically ---------------------------------------------------------------------------


def cannot_write(folder: Path, exc: BaseException | None = None, option: str = "--out") -> OutputError:
    """The one-line error for a folder formcheck cannot write into, naming the option to change."""
    why = f" ({exc.strerror or exc})" if isinstance(exc, OSError) else ""
    return OutputError(f"cannot write to {folder}{why}: choose another {option}")


def make_parent(path: Path, option: str = "--out") -> Path:
    """The file's folder, created if needed; an OutputError when it cannot be written."""
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(parent, exc, option) from None
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise cannot_write(parent, option=option)
    return parent


def public_permissions(path: str | os.PathLike) -> None:
    """mkstemp makes files private (0600); outputs get the usual permissions (the umask applies)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def temp_path(parent: Path, name: str, suffix: str = ".tmp", option: str = "--out") -> Path:
    """A new empty temp file beside the output (same filesystem: the rename is atomic)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=parent)
    except OSError as exc:
        raise cannot_write(parent, exc, option) from None
    os.close(fd)
    public_permissions(tmp)
    return Path(tmp)


def fsync_dir(folder: Path) -> None:
    """Make a rename durable; some filesystems cannot open a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


Writer = Callable[[io.IOBase], None]


def _write_temp(path: Path, write: Writer, binary: bool, option: str) -> Path:
    tmp = temp_path(make_parent(path, option), path.name, option=option)
    try:
        mode = "wb" if binary else "w"
        kwargs = {} if binary else {"encoding": "utf-8", "newline": ""}
        with open(tmp, mode, **kwargs) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path} ({exc.strerror or exc}): choose another {option}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: str | os.PathLike, write: Writer, *, binary: bool, option: str = "--out") -> Path:
    """Write one file through ``write(fh)`` into a temp file, then rename it over ``path``;
    errors name ``option`` as what to change."""
    return write_files_together({Path(path): write}, binary=binary, option=option)[0]


def write_files_together(files: Mapping[Path, Writer], *, binary: bool = False, option: str = "--out") -> list[Path]:
    """Write files that only make sense together (report.json and reps.csv): every one is written
    in full first, then all are renamed into place; a failure before that leaves none of them."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, write in files.items():
            temps.append((Path(path), _write_temp(Path(path), write, binary, option)))
        done: list[Path] = []
        try:
            for path, tmp in temps:
                os.replace(tmp, path)
                done.append(path)
        except OSError as exc:
            for path in done:  # a rename failing after others succeeded: take those back out
                path.unlink(missing_ok=True)
            raise OutputError(f"cannot write {path} ({exc.strerror or exc}): choose another {option}") from None
    finally:
        for _, tmp in temps:
            tmp.unlink(missing_ok=True)
    for parent in {p.parent for p, _ in temps}:
        fsync_dir(parent)
    return [p for p, _ in temps]


def publish(tmp: Path, path: Path, option: str = "--out") -> None:
    """Rename a finished temp file (from ``temp_path``) over ``path`` and make the rename durable."""
    try:
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror or exc}): choose another {option}") from None
    fsync_dir(path.parent)


@contextmanager
def atomic_path(path: str | os.PathLike, *, keep_suffix: bool = False, option: str = "--out") -> Iterator[Path]:
    """A temp file beside ``path`` for a writer that needs a file name (a video encoder, a zip
    writer, a download): renamed over ``path`` when the block ends, removed when it raises.

    ``keep_suffix``: the temp name ends like ``path`` (OpenCV picks the container from it)."""
    target = Path(path)
    parent = make_parent(target, option)
    tmp = temp_path(parent, target.stem if keep_suffix else target.name,
                    target.suffix if keep_suffix else ".tmp", option)
    try:
        yield tmp
        publish(tmp, target, option)
    finally:
        tmp.unlink(missing_ok=True)


class AtomicOutput:
    """An output published whole: as a context manager, ``close`` (publish) on success and
    ``abort`` (discard) on an exception."""

    def close(self) -> None:
        """Move the finished file into place."""
        raise NotImplementedError

    def abort(self) -> None:
        """Remove the unfinished file; the target is left as it was."""
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# --- hashing and locking ------------------------------------------------------------------------------


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The file's sha256 (hex), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_json(data) -> str:
    """The sha256 (hex) of JSON-safe data, keys sorted (a spec's identity in the history and run keys)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@contextmanager
def exclusive_lock(lock_file: Path, busy: Callable[[], BaseException]) -> Iterator[None]:
    """Hold an advisory lock on ``lock_file`` (created if needed) for the block; ``busy()`` is raised
    when another process holds it. The lock dies with its process, even on SIGKILL."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        yield
        return
    fh = open(lock_file, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy() from None
        yield
    finally:
        fh.close()


# --- folders published whole ---------------------------------------------------------------------------


@dataclass
class PublishedFolder:
    """A folder moved into place, with the older one it replaced kept aside until ``finish``."""

    final: Path
    aside: Path | None
    staging: Path

    def undo(self) -> None:
        """What it was part of failed (a database commit): take the new folder back out, put the old one back."""
        if self.final.exists():
            os.replace(self.final, self.staging)
        if self.aside is not None:
            os.replace(self.aside, self.final)
        shutil.rmtree(self.staging, ignore_errors=True)

    def finish(self) -> None:
        """Delete the older folder kept aside while publishing (the new one stays)."""
        if self.aside is not None:
            shutil.rmtree(self.aside, ignore_errors=True)


def publish_folder(staging: Path, final: Path, *, aside: Path) -> PublishedFolder:
    """Rename a finished folder (written in full under ``staging``) to ``final``, replacing an older
    one whole: the older one is moved into ``aside`` first and put back if the rename fails."""
    old = None
    if final.exists():
        old = aside / f"old-{final.name}-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    try:
        os.replace(staging, final)
    except OSError:
        if old is not None:
            os.replace(old, final)
        raise
    return PublishedFolder(final, old, staging)
