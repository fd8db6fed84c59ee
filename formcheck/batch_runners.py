"""Where a batch's clips are analysed: in this process, in a pool of worker processes that die
with their batch, or on a Dask cluster. Each runner hands every clip's outcome to ``on_outcome``
in the main process, which commits it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from formcheck.batch_manifest import ManifestError
from formcheck.batch_worker import analyse_clip, one_line
from formcheck.errors import InputError

PROGRESS_EVERY_S = 0.25  # workers report frame progress at most this often


_PROGRESS_QUEUE = None


def _die_with_parent(parent_pid: int) -> None:
    """A worker whose batch was killed (even with SIGKILL) must not run on as an orphan."""
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the watchdog below still ends us within a second
    if os.getppid() != parent_pid:
        os._exit(1)

    def watchdog() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watchdog, name="formcheck-parent-watchdog", daemon=True).start()


def _init_worker(queue, parent_pid: int) -> None:
    import signal

    global _PROGRESS_QUEUE
    _PROGRESS_QUEUE = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _die_with_parent(parent_pid)


def _worker_entry(key: int, task: dict) -> dict:
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or (total and done >= total):
            last[0] = now
            try:
                _PROGRESS_QUEUE.put_nowait((key, done, total))
            except Exception:  # noqa: BLE001  progress is a nicety: a full or closed queue is ignored
                pass

    return analyse_clip(task, progress)


# --- running them -----------------------------------------------------------------------------------


def run_in_process(tasks: list[tuple[int, dict]], observer, on_outcome) -> None:
    """Analyse the clips one after another in this process (one worker, or one clip)."""
    from formcheck.session import interrupt_requested, interrupts_between_frames

    # Ctrl-C ends the clip in hand after its current frame (never committed), not at any bytecode
    with interrupts_between_frames():
        for key, task in tasks:
            if interrupt_requested():
                raise KeyboardInterrupt  # between clips
            if observer is not None:
                observer.clip_started(key, Path(task["path"]).name)
            progress = (lambda done, total, k=key: observer.clip_progress(k, done, total)) if observer else None
            on_outcome(key, analyse_clip(task, progress))


def run_in_pool(tasks: list[tuple[int, dict]], workers: int, observer, on_outcome) -> None:
    """Analyse the clips in ``workers`` spawned processes; a clip whose worker died gets one more try."""
    import multiprocessing
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")  # no fork: MediaPipe and OpenCV hold threads
    progress_queue = ctx.Queue()
    pending = list(tasks)
    in_flight: dict = {}  # future -> (key, task)
    executor = None

    def drain() -> None:
        while True:
            try:
                key, done, total = progress_queue.get_nowait()
            except queue_mod.Empty:
                return
            if observer is not None:
                observer.clip_progress(key, done, total)

    attempts: dict[int, int] = {}
    broken = False
    try:
        while pending or in_flight:
            if executor is None:
                executor = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                               initargs=(progress_queue, os.getpid()))
            while not broken and pending and len(in_flight) < workers:
                key, task = pending[0]
                try:
                    fut = executor.submit(_worker_entry, key, task)
                except BrokenProcessPool:
                    broken = True
                    break
                pending.pop(0)
                attempts[key] = attempts.get(key, 0) + 1
                if observer is not None and attempts[key] == 1:
                    observer.clip_started(key, Path(task["path"]).name)
                in_flight[fut] = (key, task)
            done, _ = wait(list(in_flight), timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for fut in done:
                key, task = in_flight.pop(fut)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    # a worker died (killed, out of memory, a crash in native code); every clip in
                    # the pool fails with it, so each gets one more try in a fresh pool
                    broken = True
                    if attempts[key] < 2:
                        pending.insert(0, (key, task))
                        continue
                    outcome = {"ok": False, "error": "the analysis process died twice on this clip (out of memory, or a crash in the pose model)"}
                on_outcome(key, outcome)
            if broken and not in_flight:
                executor.shutdown(wait=False, cancel_futures=True)
                executor, broken = None, False
    except BaseException:
        for child in multiprocessing.active_children():
            child.terminate()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        if executor is not None:
            executor.shutdown(wait=True)
    finally:
        progress_queue.close()


def analyse_clip_remote(task: dict) -> dict:
    """`analyse_clip` on a Dask worker: into a folder of its own, returning the files' bytes.

    Workers need the clips at the same paths (a shared drive) and a provisioned model, but not the
    output folder or the history database: the client writes what comes back and commits it.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="formcheck-") as tmp:
        staging = Path(tmp) / "clip"
        outcome = analyse_clip({**task, "staging": str(staging)})
        if outcome.get("ok"):
            outcome["files"] = {f.relative_to(staging).as_posix(): f.read_bytes()
                                for f in sorted(staging.rglob("*")) if f.is_file()}
    return outcome


def _unpack(files: dict[str, bytes], staging: Path) -> None:
    for name, data in files.items():
        target = (staging / name).resolve()
        if staging.resolve() not in target.parents:
            raise InputError(f"a Dask worker returned a file outside its folder: {name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise ManifestError("--dask needs Dask distributed: pip install 'formcheck[distributed]'") from None
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        detail = one_line(e)
        raise InputError(f"cannot reach the Dask scheduler at {address} ({detail}): "
                         "check the address and that `dask scheduler` is running") from None


def run_on_dask(tasks: list[tuple[int, dict]], address: str, on_outcome) -> None:
    """Submit every clip to the cluster; commit each as it comes back, in finishing order."""
    from distributed import as_completed

    client = _dask_client(address)
    futures: dict = {}
    try:
        for key, task in tasks:
            # retries: a worker that dies (out of memory, killed) gets the clip again elsewhere
            fut = client.submit(analyse_clip_remote, task, key=f"formcheck-clip-{Path(task['staging']).name}",
                                pure=False, retries=1)
            futures[fut] = (key, task)  # no clip_started: the cluster, not us, decides when a clip starts
        for fut in as_completed(futures, loop=client.loop):
            key, task = futures[fut]
            try:
                outcome = fut.result()
            except Exception as e:  # noqa: BLE001  a worker's failure is this clip's failure, not the batch's
                outcome = {"ok": False, "error": f"the Dask worker failed on this clip ({type(e).__name__}: {one_line(e)})"}
            files = outcome.pop("files", None)
            if files is not None:
                _unpack(files, Path(task["staging"]))
            on_outcome(key, outcome)
    except BaseException:
        client.cancel(list(futures), force=True)
        raise
    finally:
        client.close()

