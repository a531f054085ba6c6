"""LDA by scikit-learn's ``LatentDirichletAllocation`` (batch variational Bayes, one job)."""

from __future__ import annotations

import numpy as np

from pipeline.config import SklearnLdaModelConfig
from pipeline.models.base import Fit
from pipeline.vectorize import Matrices


def fit(cfg: SklearnLdaModelConfig, seed: int, matrices: Matrices) -> Fit:
    from sklearn.decomposition import LatentDirichletAllocation

    p = cfg.params
    model = LatentDirichletAllocation(
        n_components=cfg.k, learning_method="batch", max_iter=p.max_iter,
        doc_topic_prior=p.doc_topic_prior, topic_word_prior=p.topic_word_prior,
        evaluate_every=p.evaluate_every, random_state=seed, n_jobs=1,
    )
    doc_topic = model.fit_transform(matrices.counts)
    return Fit(model.components_, doc_topic, model, int(model.n_iter_),
               {"log_perplexity": log_perplexity(model, matrices)})


def log_perplexity(model, matrices: Matrices) -> float:
    """Log perplexity per word in nats: sklearn's perplexity is exp(-bound per word)."""
    return float(np.log(model.perplexity(matrices.counts)))
