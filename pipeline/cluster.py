"""Where the model fits of a run or a sweep go: joblib's local worker processes, or a Dask
cluster through joblib's own ``dask`` backend (``--scheduler tcp://host:8786``, or the
``DASK_SCHEDULER_ADDRESS`` environment variable). Only the fits go there; reading, writing and
figures stay on this machine. Every fit is seeded by its job, so where it runs does not change
what it gives.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.errors import ConfigError, InputError

ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
WORKER_NICENESS = 10


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


def _start_worker() -> None:
    """Lowers this worker's priority, then imports what its fits and figures use. While this
    run's own process tabulates one model, the workers fit the next: at a lower priority they
    take the core it leaves idle, not a share of the one it uses."""
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    import pipeline.figures  # noqa: F401  (matplotlib, pandas, the config)
    import pipeline.models  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import tomotopy  # noqa: F401


@contextmanager
def local_workers_starting() -> Iterator[None]:
    """Starts joblib's local worker processes on entry, in the background, each lowering its
    priority and importing what its fits and figures will use, and waits for them on exit.
    Started when the first fits are sent, they cost about a second on two cores after the
    corpus is read; started first, that overlaps with reading and normalising it. If the block
    fails, they are not waited for."""
    from joblib import Parallel, cpu_count, delayed

    starting = Parallel(n_jobs=-1, backend="loky", return_as="generator_unordered")(
        delayed(_start_worker)() for _ in range(cpu_count()))
    with cancelled_on_exit(starting):
        yield
        for _ in starting:
            pass


@contextmanager
def cancelled_on_exit(results: Generator[Any, None, None]) -> Iterator[None]:
    """Within it, a joblib results generator may be read as far as needed; on leaving it
    (finished, failed or interrupted), the tasks not yet read are cancelled, without joblib's
    warning that they were: their results are not wanted."""
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.close()
