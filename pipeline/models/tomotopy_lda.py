"""LDA by tomotopy's collapsed Gibbs sampler (Griffiths & Steyvers 2004), one worker.

tomotopy (Lee 2022, https://bab2min.github.io/tomotopy) samples topic assignments with the
topic-word and document-topic distributions integrated out; on a few hundred short units it
recovers planted topics where variational LDA does not (docs/DESIGN.md, "Choosing the LDA").
One worker and ``ParallelScheme.NONE``: with several workers the order of updates, and so the
result, depends on thread timing. The topic-word prior ``eta`` (0.01) is symmetric; the
document-topic prior starts symmetric at ``alpha`` per topic (0.1, which suits short
documents; Griffiths & Steyvers use 50/k per document) and tomotopy re-estimates it, one
value per topic, every 10 sweeps (its default ``optim_interval``), so the fitted prior is
asymmetric: its saved model holds it (``alpha``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from pipeline.models.base import Backend, Fit, register
from pipeline.sections import ModelSection, Section
from pipeline.vectorize import Matrices


class GibbsParams(Section):
    """What every tomotopy model trained by collapsed Gibbs sampling is configured by."""

    iterations: int | Literal["auto"] = "auto"  # Gibbs sweeps over every token
    burn_in: int = Field(100, ge=0)
    eta: float = Field(0.01, gt=0)  # symmetric topic-word prior
    infer_iterations: int = Field(200, ge=10)  # Gibbs sweeps to infer mixtures of unseen units

    @field_validator("iterations")
    @classmethod
    def _enough(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 10:
            raise ValueError("iterations must be at least 10 or 'auto'")
        return value

    def resolved_iterations(self, n_tokens: int) -> int:
        """``auto``: 200 sweeps, more on small corpora so that a fit makes at least 5 million
        token samples (at most 1000 sweeps).

        200 sweeps from about 25,000 tokens up, so a fit's time grows in proportion to the
        corpus there. 100 sweeps already recover the planted topics (0.994 on the 360-unit
        planted corpus, as 1000 do; 0.93 on 20,000 documents); on the 5,000 tokens of the
        bundled corpus 1000 sweeps give seed stability 0.37 where 200 give 0.26.
        """
        if isinstance(self.iterations, int):
            return self.iterations
        return int(min(1000, max(200, round(5e6 / max(n_tokens, 1)))))


class TomotopyLdaParams(GibbsParams):
    """tomotopy ``LDAModel`` trained by collapsed Gibbs sampling."""

    alpha: float = Field(0.1, gt=0)  # document-topic prior per topic at the start (then re-estimated)


class TomotopyLdaModelConfig(ModelSection):
    backend: Literal["tomotopy_lda"]
    params: TomotopyLdaParams = TomotopyLdaParams()


def documents(matrices: Matrices) -> list[list[str]]:
    """Each unit as its tokens, in vocabulary order (tomotopy wants token lists)."""
    vocabulary = matrices.vocabulary
    return [[vocabulary[term] for term, count in unit for _ in range(int(count))] for unit in matrices.bow]


def topic_term(model, vocabulary: list[str], eta: float) -> np.ndarray:
    """k x V over our vocabulary's order (tomotopy numbers words in order of first sight).

    Unnormalised, n_kw + eta; a word of the vocabulary absent from the fitted units (a
    subsample) has n_kw = 0 and gets eta, as a seen word with no count in the topic does.
    """
    position = {word: i for i, word in enumerate(model.used_vocabs)}
    weights = np.array([model.get_topic_word_dist(t, normalize=False) for t in range(model.k)])
    return np.column_stack([weights[:, position[w]] if w in position else np.full(model.k, eta) for w in vocabulary])


def trained(model, p: GibbsParams, matrices: Matrices) -> tuple[Fit, int]:
    """Trains a tomotopy model holding the units on one worker (``ParallelScheme.NONE``: with
    several, the order of updates and so the result depends on thread timing); the fit with
    each unit's Dirichlet posterior (n_dk + its prior), the model as bytes (tomotopy objects
    cannot be pickled back from worker processes) and its inference sweeps."""
    import tomotopy

    iterations = p.resolved_iterations(int(matrices.counts.sum()))
    model.burn_in = min(p.burn_in, iterations // 2)
    model.train(iterations, workers=1, parallel=tomotopy.ParallelScheme.NONE, show_progress=False)
    posterior = np.array([document.get_topic_dist(normalize=False) for document in model.docs], dtype=float)
    native = {"model": model.saves(full=False), "infer_iterations": p.infer_iterations}
    return Fit(topic_term(model, matrices.vocabulary, p.eta), posterior, native, iterations,
               {"log_likelihood_per_word": float(model.ll_per_word)}, doc_topic_posterior=posterior)


def fit(cfg: TomotopyLdaModelConfig, seed: int, matrices: Matrices) -> Fit:
    import tomotopy

    p = cfg.params
    model = tomotopy.LDAModel(k=cfg.k, alpha=p.alpha, eta=p.eta, seed=seed % 2**31)
    for tokens in documents(matrices):
        model.add_doc(tokens)
    return trained(model, p, matrices)


def inferred(model, units: list[tuple[list[str], dict]], priors: np.ndarray, iterations: int) -> np.ndarray:
    """Mixtures of unseen units with the topics held fixed (tomotopy's ``infer`` on every core:
    each unit is sampled on its own, with its own generator, so the mixtures are those of one
    worker; tests/test_models.py checks it). ``units``: each unit's words and the keywords of
    its ``make_doc``; ``priors``: each unit's Dirichlet prior, whose mean a unit with no word the
    model knows is given, as sklearn's and gensim's inference give it (tomotopy's ``make_doc``
    aborts the process on an empty word list)."""
    import tomotopy

    known = set(model.used_vocabs)
    words = [[w for w in tokens if w in known] for tokens, _ in units]
    mixtures = priors / priors.sum(axis=1, keepdims=True)
    seen = [i for i, unit in enumerate(words) if unit]
    if seen:
        docs = [model.make_doc(words[i], **units[i][1]) for i in seen]
        mixtures[seen] = [np.asarray(m, dtype=float) for m in model.infer(
            docs, iterations=iterations, workers=0, parallel=tomotopy.ParallelScheme.DEFAULT, together=False)[0]]
    return mixtures


def infer(native, matrices: Matrices) -> np.ndarray:
    import tomotopy

    model = tomotopy.LDAModel.loads(native["model"])
    units = [(tokens, {}) for tokens in documents(matrices)]
    prior = np.tile(np.asarray(model.alpha, dtype=float), (len(units), 1))
    return inferred(model, units, prior, native["infer_iterations"])


def reinfer_by(infer_function):
    """``reinfer`` for a tomotopy model: its inference has no seed of its own (the same sweeps
    give the same sample), so another final sample is the chain run 10 sweeps longer."""
    def reinfer(native, matrices: Matrices) -> np.ndarray:
        return infer_function({**native, "infer_iterations": native["infer_iterations"] + 10}, matrices)

    return reinfer


def score(metrics: dict[str, float]) -> float:
    """The log-likelihood per word of the final sample: higher is a better fit."""
    return metrics["log_likelihood_per_word"]


def save(native, folder: Path) -> None:
    """The model as tomotopy saves it, and what its inference needs besides (``inference.json``:
    its sweeps, and a DMR model's covariates)."""
    (folder / "model.tomotopy").write_bytes(native["model"])
    settings = {key: value for key, value in native.items() if key != "model"}
    (folder / "inference.json").write_text(json.dumps(settings) + "\n", encoding="utf-8")


def load(folder: Path) -> dict:
    """The native model as ``fit`` gives it: ``{"model": bytes, "infer_iterations": n, ...}``
    (``tomotopy.LDAModel.loads(native["model"])`` is the tomotopy object)."""
    return {"model": (folder / "model.tomotopy").read_bytes(),
            **json.loads((folder / "inference.json").read_text(encoding="utf-8"))}


BACKEND = register(Backend(name="tomotopy_lda", family="lda", config=TomotopyLdaModelConfig, fit=fit,
                           score=score, save=save, load=load, infer=infer, reinfer=reinfer_by(infer)))
