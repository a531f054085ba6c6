"""NMF by scikit-learn (NNDSVDa start, coordinate descent) on the tf-idf matrix."""

from __future__ import annotations

from pipeline.config import SklearnNmfModelConfig
from pipeline.models.base import Fit
from pipeline.vectorize import Matrices


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
