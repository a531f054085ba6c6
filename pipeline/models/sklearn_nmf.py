"""NMF by scikit-learn (seeded random start, coordinate descent) on the tf-idf matrix."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from pipeline.models.base import Backend, Fit, register
from pipeline.sections import ModelSection, Section
from pipeline.vectorize import Matrices


class SklearnNmfParams(Section):
    """scikit-learn ``NMF`` from a seeded random start (``init``).

    ``matrix: tfidf`` with ``beta_loss: frobenius`` (coordinate descent) is the classic choice;
    ``matrix: counts`` with ``beta_loss: kullback-leibler`` (multiplicative updates) is PLSA
    (Ding, Li & Peng 2008), whose mixtures are shares of each unit's tokens.
    """

    # random (scaled by the data, drawn from the seed): restarts start apart, so the best of them
    # is reported and seed stability compares different fits. nndsvda, with coordinate descent,
    # never reads the seed (five restarts were one fit five times, stability 1.00), and
    # nndsvdar's small random fill converges to that same fit on the bundled corpus.
    init: Literal["random", "nndsvdar", "nndsvda"] = "random"
    matrix: Literal["tfidf", "counts"] = "tfidf"
    beta_loss: Literal["frobenius", "kullback-leibler"] = "frobenius"
    max_iter: int = Field(1000, ge=1)
    tol: float = Field(1e-5, gt=0)
    alpha_W: float = Field(0.0, ge=0)
    alpha_H: float = Field(0.0, ge=0)
    l1_ratio: float = Field(0.0, ge=0, le=1)


class SklearnNmfModelConfig(ModelSection):
    backend: Literal["sklearn_nmf"]
    params: SklearnNmfParams = SklearnNmfParams()


def fit(cfg: SklearnNmfModelConfig, seed: int, matrices: Matrices) -> Fit:
    from sklearn.decomposition import NMF

    p = cfg.params
    model = NMF(
        n_components=cfg.k, init=p.init, solver="cd" if p.beta_loss == "frobenius" else "mu",
        beta_loss=p.beta_loss, max_iter=p.max_iter, tol=p.tol, alpha_W=p.alpha_W, alpha_H=p.alpha_H,
        l1_ratio=p.l1_ratio, random_state=seed,
    )
    model.fit(matrices.tfidf if p.matrix == "tfidf" else matrices.counts)
    # The units' mixtures are solved with H held fixed, as any other text's are (``transform``),
    # so a loaded run reproduces them exactly; the W of the joint fit differs from it within
    # the solver's tolerance.
    return Fit(model.components_, transform(model, matrices, p.model_dump()), model, int(model.n_iter_),
               {"reconstruction_error": float(model.reconstruction_err_)})


def transform(model, matrices: Matrices, params: dict) -> np.ndarray:
    """Mixtures of any units under a fitted NMF: W of X ~ W H solved with H held fixed.

    Unit d's mass on topic k is W_dk times the mass of H's row k, so its share of the unit is
    that product normalised (W alone depends on how H's rows happen to be scaled).
    """
    matrix = matrices.tfidf if params["matrix"] == "tfidf" else matrices.counts
    return model.transform(matrix) * model.components_.sum(axis=1)[None, :]


def score(metrics: dict[str, float]) -> float:
    """Minus the Frobenius reconstruction error: higher is a better fit."""
    return -metrics["reconstruction_error"]


BACKEND = register(Backend(
    name="sklearn_nmf", family="nmf", config=SklearnNmfModelConfig, fit=fit, score=score, transform=transform,
))
