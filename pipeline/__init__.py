"""Topic-modelling pipeline for SCIO/MIIT press-conference transcripts."""

from __future__ import annotations

from typing import Any

__all__ = ["load_run"]


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): importing any pipeline module, as each worker process does, must not
    # import the run-directory code and its pandas and scipy.
    if name == "load_run":
        from pipeline.rundir import load_run

        return load_run
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
