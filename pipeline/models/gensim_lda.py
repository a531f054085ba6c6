"""LDA by gensim's ``LdaModel`` (online variational Bayes, Hoffman et al. 2010), one process."""

from __future__ import annotations

import numpy as np

from pipeline.config import GensimLdaModelConfig
from pipeline.models.base import Fit
from pipeline.vectorize import Matrices


def fit(cfg: GensimLdaModelConfig, seed: int, matrices: Matrices) -> Fit:
    from gensim.models import LdaModel

    p = cfg.params
    passes = p.resolved_passes(len(matrices.bow))
    model = LdaModel(
        corpus=matrices.bow, id2word=matrices.dictionary, num_topics=cfg.k, chunksize=len(matrices.bow),
        passes=passes, iterations=p.iterations, alpha=p.alpha, eta=p.eta, eval_every=None,
        gamma_threshold=p.gamma_threshold, random_state=seed, dtype=np.float64,
    )
    # gensim's get_document_topics drops shares below minimum_probability (never below 1e-8);
    # the variational posterior gamma, normalised, is the complete mixture.
    gamma, _ = model.inference(matrices.bow)
    return Fit(model.get_topics(), gamma, model, passes, {"log_perplexity": log_perplexity(model, matrices, gamma)})


def log_perplexity(model, matrices: Matrices, gamma: np.ndarray | None = None) -> float:
    """Log perplexity per word in nats: minus gensim's per-word variational likelihood bound.

    As gensim's ``log_perplexity``; a ``gamma`` already inferred for these units saves the
    E-step it would otherwise rerun.
    """
    words = matrices.counts.sum()
    # bound() wants each unit's gamma as a 1 x k row, as inference([doc]) returns it.
    return float(-model.bound(matrices.bow, gamma=None if gamma is None else gamma[:, None, :]) / words)
