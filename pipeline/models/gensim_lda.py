"""LDA by gensim's ``LdaModel`` (online variational Bayes, Hoffman et al. 2010), one process.

gensim's ``LdaMulticore`` with several workers is not reproducible even with a seed, so
reported results use ``LdaModel``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator

from pipeline.models.base import Backend, Fit, register
from pipeline.sections import ModelSection, Section
from pipeline.vectorize import Matrices


class GensimLdaParams(Section):
    """gensim ``LdaModel``; many passes and iterations because units are short and few.

    ``passes: auto`` makes about 20,000 document visits in all, at least 10 and at most 40
    passes: 40 for corpora up to 500 units, where each pass teaches little, and 10 beyond
    2,000 units. Each pass is one update (the whole corpus is one chunk), and gensim warns
    that fewer than 10 updates may not converge; 10 passes is that minimum of visits.
    """

    @field_validator("passes")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("passes must be at least 1 or 'auto'")
        return value

    def resolved_passes(self, n_units: int) -> int:
        if isinstance(self.passes, int):
            return self.passes
        return int(min(40, max(10, -(-20_000 // max(n_units, 1)))))

    passes: int | Literal["auto"] = "auto"
    iterations: int = Field(400, ge=1)
    alpha: Literal["symmetric", "asymmetric", "auto"] | Annotated[float, Field(gt=0)] = "auto"
    eta: Literal["symmetric", "auto"] | Annotated[float, Field(gt=0)] = "auto"
    gamma_threshold: float = Field(1e-3, gt=0)


class GensimLdaModelConfig(ModelSection):
    backend: Literal["gensim_lda"]
    params: GensimLdaParams = GensimLdaParams()


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
    return Fit(model.get_topics(), gamma, model, passes, {"log_perplexity": log_perplexity(model, matrices, gamma)},
               doc_topic_posterior=gamma)


def log_perplexity(model, matrices: Matrices, gamma: np.ndarray | None = None) -> float:
    """Log perplexity per word in nats: minus gensim's per-word variational likelihood bound.

    As gensim's ``log_perplexity``; a ``gamma`` already inferred for these units saves the
    E-step it would otherwise rerun.
    """
    words = matrices.counts.sum()
    # bound() wants each unit's gamma as a 1 x k row, as inference([doc]) returns it.
    return float(-model.bound(matrices.bow, gamma=None if gamma is None else gamma[:, None, :]) / words)


def infer(model, matrices: Matrices) -> np.ndarray:
    """Variational posterior mixtures of unseen units (gamma, normalised), topics fixed."""
    gamma, _ = model.inference(matrices.bow)
    return gamma / gamma.sum(axis=1, keepdims=True)


def score(metrics: dict[str, float]) -> float:
    """The per-word variational bound (minus log perplexity): higher is a better fit."""
    return -metrics["log_perplexity"]


def save(model, folder: Path) -> None:
    model.save(str(folder / "model.gensim"))


def load(folder: Path):
    from gensim.models import LdaModel

    return LdaModel.load(str(folder / "model.gensim"))


BACKEND = register(Backend(
    name="gensim_lda", family="lda", config=GensimLdaModelConfig, fit=fit, score=score, save=save, load=load,
    infer=infer,
))
