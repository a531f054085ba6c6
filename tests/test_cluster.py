"""Local worker processes: started ahead of the fits, below this process's priority, kept
when a stream of results is left finished, and cancelled when it is left by an error."""

from __future__ import annotations

import itertools
import os
import time

import pytest
from joblib import Parallel, delayed

from pipeline import cluster
from pipeline.errors import WorkerCrash


def local(**options) -> Parallel:
    """A Parallel on the run's local workers (the same initializer, so joblib reuses them)."""
    return Parallel(n_jobs=-1, **cluster.local_workers(), **options)


def test_local_workers_run_below_this_process_priority():
    own = os.nice(0)
    with cluster.local_workers_starting():
        pass
    niceness = local()(delayed(os.nice)(0) for _ in range(8))
    assert min(niceness) >= min(own + cluster.WORKER_NICENESS, 19)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)  # long enough for every worker to take a task
    return os.getpid()


def test_a_stream_left_after_the_tasks_it_needs_keeps_its_workers():
    with cluster.local_workers_starting():
        pass
    workers = set(local(batch_size=1)(delayed(_pid_after)(0.1) for _ in range(8)))
    stream = local(batch_size=1, return_as="generator")(delayed(_pid_after)(0.1) for _ in range(4))
    with cluster.finished_or_cancelled(stream, "reading"):
        assert set(itertools.islice(stream, 3)) <= workers  # the fourth result is not read
    # joblib kills and restarts its workers when a stream is closed unread: these are the same
    assert set(local(batch_size=1)(delayed(_pid_after)(0.1) for _ in range(8))) == workers


def test_a_failing_block_cancels_the_tasks_not_read():
    stream = local(batch_size=1, return_as="generator")(delayed(time.sleep)(0.5) for _ in range(40))
    started = time.perf_counter()
    with pytest.raises(KeyError), cluster.finished_or_cancelled(stream, "reading"):
        next(stream)
        raise KeyError("a stage failed")
    assert time.perf_counter() - started < 5  # not the 10 s that the 40 tasks take on two workers


def test_a_worker_that_dies_is_one_error_naming_what_it_was_doing():
    # os.abort is how a C++ exception nobody catches ends a process: SIGABRT, nothing comes back.
    stream = local(batch_size=1, return_as="generator")(delayed(os.abort)() for _ in range(2))
    with pytest.raises(WorkerCrash, match=r"^drawing the figures: a worker process died \(SIGABRT\(-6\)"):
        with cluster.finished_or_cancelled(stream, "drawing the figures"):
            next(stream)
