"""Where the model fits of a run or a sweep go: joblib's local worker processes, or a Dask
cluster through joblib's own ``dask`` backend (``--scheduler tcp://host:8786``, or the
``DASK_SCHEDULER_ADDRESS`` environment variable). Only the fits go there; reading, writing and
figures stay on this machine. Every fit is seeded by its job, so where it runs does not change
what it gives.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import warnings
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.errors import ConfigError, InputError, WorkerCrash

ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
WORKER_NICENESS = 10
PARENT_CHECK_SECONDS = 0.5


def scheduler_address(option: str | None) -> str | None:
    """The ``--scheduler`` option, else the environment variable, else None (local)."""
    return option or os.environ.get(ADDRESS_VARIABLE) or None


@contextmanager
def fits_on(address: str | None) -> Iterator[None]:
    """Within it, joblib's ``Parallel`` runs on the Dask scheduler at ``address`` (unchanged
    when None). A missing ``distributed`` package or an unreachable scheduler is one line."""
    if address is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(f"--scheduler {address}: the Dask backend needs the distributed package "
                          "(pip install 'miit-topics[cluster]')") from None
    import joblib

    logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines would bury ours
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--scheduler {address}: no Dask scheduler answers there ({exc})") from None
    try:
        with client.as_current(), joblib.parallel_config(backend="dask"):
            yield
    finally:
        client.close()


def _exit_with_parent(parent: int) -> None:
    """Each local worker's initializer: a thread that ends the worker once the process that
    started it is gone, however it ended (SIGKILL from a batch scheduler's timeout gives that
    process no chance to stop its workers). The resource trackers joblib and multiprocessing
    start end by themselves once no process holds their pipe, so they follow."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def local_workers() -> dict[str, Any]:
    """Arguments of a joblib ``Parallel`` whose tasks run in this machine's worker processes."""
    return {"backend": "loky", **_local_setup()}


def worker_setup() -> dict[str, Any]:
    """Arguments of a joblib ``Parallel`` on the active backend: the local workers' initializer,
    none on a Dask cluster."""
    from joblib._parallel_backends import LokyBackend
    from joblib.parallel import get_active_backend

    return _local_setup() if isinstance(get_active_backend()[0], LokyBackend) else {}


def _local_setup() -> dict[str, Any]:
    # The same for every local Parallel: joblib reuses its workers only while these are equal.
    return {"initializer": _exit_with_parent, "initargs": (os.getpid(),)}


def _start_worker() -> None:
    """Lowers this worker's priority, then imports what the first fits use (the default LDA's).
    While this run's own process tabulates one model, the workers fit the next: at a lower
    priority they take the core it leaves idle, not a share of the one it uses. scikit-learn
    and matplotlib (2 s of imports) are left to the first NMF fit and to ``figure_imports``,
    which run while this process tabulates, not while it waits."""
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    import gensim.corpora  # noqa: F401  (the vocabulary that every fit receives is gensim's Dictionary)
    import pipeline.models  # noqa: F401  (and the config)
    import tomotopy  # noqa: F401


def _import_for_figures() -> None:
    import pipeline.figures  # noqa: F401  (matplotlib, pandas)


def figure_imports(n_workers: int) -> list[Any]:
    """Tasks, one per worker, that import what the figures use: sent after the last fits, they
    run while this process tabulates the last model, not while it waits for the figures."""
    from joblib import delayed

    return [delayed(_import_for_figures)() for _ in range(n_workers)]


@contextmanager
def local_workers_starting() -> Iterator[None]:
    """Starts joblib's local worker processes on entry, in the background, each lowering its
    priority and importing what the first fits use, and waits for them on exit.
    Started when the first fits are sent, they cost about a second on two cores after the
    corpus is read; started first, that overlaps with reading and normalising it. If the block
    fails, they are not waited for."""
    from joblib import Parallel, cpu_count, delayed

    starting = Parallel(n_jobs=-1, return_as="generator_unordered", **local_workers())(
        delayed(_start_worker)() for _ in range(cpu_count()))
    with finished_or_cancelled(starting, "starting the worker processes"):
        yield


@contextmanager
def finished_or_cancelled(results: Generator[Any, None, None], doing: str) -> Iterator[None]:
    """Within it, a joblib results generator is read as far as needed. Left normally, the rest
    is read too (joblib keeps its workers only when a generator is read to its end: closing it
    before kills and restarts them, with their imports); left by an exception, the tasks not
    yet read are cancelled, without joblib's warning that they were. A worker that dies is a
    ``WorkerCrash`` naming what it was ``doing``."""
    try:
        with crash_named(doing):
            yield
    except BaseException:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.close()
        raise
    with crash_named(doing):
        for _ in results:
            pass


@contextmanager
def crash_named(doing: str) -> Iterator[None]:
    """Within it, a local worker process that dies (loky's ``TerminatedWorkerError``: no Python
    exception came back, so nothing says which task it was running) is one ``WorkerCrash``
    line naming what it was ``doing`` and how it died."""
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    try:
        yield
    except TerminatedWorkerError as crash:
        how = re.search(r"exit codes of the workers are \{(.*?)\}", str(crash))
        raise WorkerCrash(
            f"{doing}: a worker process died ({how.group(1) if how else 'no exit code'}): native code crashed in it, "
            "or the system killed it (out of memory?)") from None
