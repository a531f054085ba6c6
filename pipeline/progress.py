"""Progress of long loops. Modules that compute take a ``Progress`` (by default ``silent``);
the run passes ``shown``, which draws a tqdm bar on stderr and stops at the next step after
an interrupt whose exception was swallowed (``interrupts``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pipeline import interrupts

log = logging.getLogger("pipeline")

Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


def silent(items: Iterable[Any], total: int, description: str) -> Iterable[Any]:
    """``items`` as they are: no bar."""
    return items


def shown(items: Iterable[Any], total: int, description: str) -> Iterator[Any]:
    """``items`` with a progress bar and an estimate on stderr: shown on a terminal, hidden with
    ``--quiet`` (our log level above INFO) and when stderr is not a terminal."""
    from tqdm import tqdm

    hidden = None if log.isEnabledFor(logging.INFO) else True
    for item in tqdm(items, total=total, desc=description, unit="step", leave=False, disable=hidden, file=sys.stderr):
        interrupts.stop_if_interrupted()
        yield item


def within(progress: Progress, stage: str) -> Progress:
    """``progress`` with each bar named after its stage first ("emphasis lda: groups by year")."""

    def named(items: Iterable[Any], total: int, description: str) -> Iterable[Any]:
        return progress(items, total, f"{stage}: {description}")

    return named
