"""NMF by scikit-learn (NNDSVDa start, coordinate descent) on the tf-idf matrix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.models.base import Backend, Fit, load_joblib, register, save_joblib
from pipeline.sections import ModelSection, Section
from pipeline.vectorize import Matrices


class SklearnNmfParams(Section):
    """scikit-learn ``NMF`` on tf-idf, NNDSVDa start and coordinate descent."""

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
        n_components=cfg.k, init="nndsvda", solver="cd", beta_loss="frobenius", max_iter=p.max_iter,
        tol=p.tol, alpha_W=p.alpha_W, alpha_H=p.alpha_H, l1_ratio=p.l1_ratio, random_state=seed,
    )
    doc_topic = model.fit_transform(matrices.tfidf)
    return Fit(model.components_, doc_topic, model, int(model.n_iter_),
               {"reconstruction_error": float(model.reconstruction_err_)})


BACKEND = register(Backend(
    name="sklearn_nmf", family="nmf", config=SklearnNmfModelConfig, fit=fit, save=save_joblib, load=load_joblib,
))
