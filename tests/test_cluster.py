"""Local worker processes: started ahead of the fits, below this process's priority."""

from __future__ import annotations

import os

from joblib import Parallel, delayed

from pipeline import cluster


def test_local_workers_run_below_this_process_priority():
    own = os.nice(0)
    with cluster.local_workers_starting():
        pass
    niceness = Parallel(n_jobs=-1)(delayed(os.nice)(0) for _ in range(8))
    assert min(niceness) >= min(own + cluster.WORKER_NICENESS, 19)
