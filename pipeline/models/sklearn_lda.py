"""LDA by scikit-learn's ``LatentDirichletAllocation`` (batch variational Bayes, one job).

With ``n_jobs > 1`` it is slower than with one job on two cores, so it always uses one.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from pipeline.models.base import Backend, Fit, register
from pipeline.sections import ModelSection, Section
from pipeline.vectorize import Matrices


class SklearnLdaParams(Section):
    """scikit-learn ``LatentDirichletAllocation`` (batch variational Bayes, one job)."""

    max_iter: int = Field(100, ge=1)
    doc_topic_prior: float | None = Field(0.1, gt=0)
    topic_word_prior: float | None = Field(0.05, gt=0)
    evaluate_every: int = -1


class SklearnLdaModelConfig(ModelSection):
    backend: Literal["sklearn_lda"]
    params: SklearnLdaParams = SklearnLdaParams()


def fit(cfg: SklearnLdaModelConfig, seed: int, matrices: Matrices) -> Fit:
    from sklearn.decomposition import LatentDirichletAllocation

    p = cfg.params
    model = LatentDirichletAllocation(
        n_components=cfg.k, learning_method="batch", max_iter=p.max_iter,
        doc_topic_prior=p.doc_topic_prior, topic_word_prior=p.topic_word_prior,
        evaluate_every=p.evaluate_every, random_state=seed, n_jobs=1,
    )
    model.fit(matrices.counts)
    gamma = model.transform(matrices.counts, normalize=False)  # the variational Dirichlet parameters
    return Fit(model.components_, gamma, model, int(model.n_iter_),
               {"log_perplexity": log_perplexity(model, matrices)}, doc_topic_posterior=gamma)


def log_perplexity(model, matrices: Matrices) -> float:
    """Log perplexity per word in nats: sklearn's perplexity is exp(-bound per word)."""
    return float(np.log(model.perplexity(matrices.counts)))


def infer(model, matrices: Matrices) -> np.ndarray:
    """Variational posterior mixtures of unseen units, topics fixed (sklearn's ``transform``)."""
    return model.transform(matrices.counts)


def score(metrics: dict[str, float]) -> float:
    """Minus log perplexity in sample: higher is a better fit."""
    return -metrics["log_perplexity"]


BACKEND = register(Backend(
    name="sklearn_lda", family="lda", config=SklearnLdaModelConfig, fit=fit, score=score, infer=infer,
))
