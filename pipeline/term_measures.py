"""Measures of terms within topics, as the literature defines them: top terms, exclusivity,
FREX, lift, relevance.

All functions take plain arrays: ``topic_term`` is k x V with rows summing to 1 (p(w|k)),
``term_frequency`` is the corpus's empirical p(w) (length V).
"""

from __future__ import annotations

import numpy as np


def top_terms(topic_term: np.ndarray, vocabulary: list[str], n: int, *, by: str = "weight",
              frex_weight: float = 0.5, term_counts: np.ndarray | None = None) -> list[list[str]]:
    """Each topic's top ``n`` terms by probability or by FREX (ties: probability, then term)."""
    score = topic_term if by == "weight" else frex(topic_term, frex_weight, term_counts)
    terms = np.array(vocabulary)
    return [list(terms[np.lexsort((terms, -topic_term[t], -score[t]))[:n]]) for t in range(len(topic_term))]


def exclusivity(topic_term: np.ndarray, term_counts: np.ndarray | None = None) -> np.ndarray:
    """p(w|k) / sum_j p(w|j): how much of a term's weight lies in topic k (k x V).

    With ``term_counts`` (each term's count in the corpus), each term's distribution over topics
    is shrunk towards uniform by stm's James-Stein estimator (``js_shrink``), so that rare terms
    are not all perfectly exclusive; stm's ``calcfrex`` does this when ``labelTopics`` passes
    the corpus word counts.
    """
    totals = topic_term.sum(axis=0, keepdims=True)
    share = np.divide(topic_term, totals, out=np.zeros_like(topic_term), where=totals > 0)
    return share if term_counts is None else js_shrink(share, term_counts)


def js_shrink(share: np.ndarray, term_counts: np.ndarray) -> np.ndarray:
    """stm's ``js.estimate`` applied to each column: a James-Stein estimator shrinking a
    discrete distribution towards uniform (Hausser & Strimmer 2009, JMLR 10: 1469-1484).

    For a column p (a term's distribution over k topics) seen ``ct`` times: lambda =
    sum(p(1-p)/(ct-1)) / sum((p - 1/k)^2), truncated to [0, 1], gives lambda/k + (1-lambda) p;
    ``ct <= 1`` or an undefined lambda gives uniform, a column already uniform stays as it is.
    """
    k = share.shape[0]
    counts = np.asarray(term_counts, dtype=float)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = (share * (1 - share) / (counts - 1)).sum(axis=0)
        deviation = np.square(share - 1.0 / k).sum(axis=0)
        lam = np.clip(variance / deviation, 0.0, 1.0)
    lam = np.where(deviation == 0, 0.0, np.where(np.isnan(lam) | (counts[0] <= 1), 1.0, lam))
    return lam[None, :] / k + (1 - lam[None, :]) * share


def frex(topic_term: np.ndarray, weight: float = 0.5, term_counts: np.ndarray | None = None) -> np.ndarray:
    """FREX as stm's ``calcfrex`` computes it (R/labelTopics.R in stm; Roberts, Stewart &
    Airoldi 2016, JASA; Bischof & Airoldi 2012).

    Within each topic, a term's probability and its exclusivity (``exclusivity``, shrunk when
    ``term_counts`` are given, as ``labelTopics`` does) are replaced by their ranks divided by
    V (ties get their average rank, as ``data.table::frank``), and FREX = 1 / (w / F + (1 - w)
    / E) with ``weight`` w on frequency F (stm's ``frexweight``, default 0.5) and 1 - w on
    exclusivity E. Values lie in (0, 1].
    """
    from scipy.stats import rankdata  # scipy.stats takes 0.5 s to import, which `ingest` does without

    n_terms = topic_term.shape[1]
    freq_score = rankdata(topic_term, method="average", axis=1) / n_terms
    excl_score = rankdata(exclusivity(topic_term, term_counts), method="average", axis=1) / n_terms
    return 1.0 / (weight / freq_score + (1.0 - weight) / excl_score)


def lift(topic_term: np.ndarray, term_frequency: np.ndarray) -> np.ndarray:
    """Lift: p(w|k) / p(w), p(w) the term's empirical share of the corpus (Taddy 2012; stm)."""
    return topic_term / term_frequency[None, :]


def relevance(topic_term: np.ndarray, term_frequency: np.ndarray, lam: float = 0.6) -> np.ndarray:
    """Relevance: lambda log p(w|k) + (1 - lambda) log(p(w|k) / p(w)).

    Sievert & Shirley (2014), "LDAvis: A method for visualizing and interpreting topics";
    their user study found lambda = 0.6 best for interpretation. Terms with p(w|k) = 0 get
    -inf.
    """
    with np.errstate(divide="ignore"):
        log_p = np.log(topic_term)
    return lam * log_p + (1.0 - lam) * (log_p - np.log(term_frequency)[None, :])
