"""Measures of terms within topics, as the literature defines them: top terms, exclusivity,
FREX, lift, relevance.

All functions take plain arrays: ``topic_term`` is k x V with rows summing to 1 (p(w|k)),
``term_frequency`` is the corpus's empirical p(w) (length V).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def top_terms(topic_term: np.ndarray, vocabulary: list[str], n: int, *, by: str = "weight",
              frex_weight: float = 0.5) -> list[list[str]]:
    """Each topic's top ``n`` terms by probability or by FREX (ties: probability, then term)."""
    score = topic_term if by == "weight" else frex(topic_term, frex_weight)
    terms = np.array(vocabulary)
    return [list(terms[np.lexsort((terms, -topic_term[t], -score[t]))[:n]]) for t in range(len(topic_term))]


def exclusivity(topic_term: np.ndarray) -> np.ndarray:
    """p(w|k) / sum_j p(w|j): how much of a term's weight lies in topic k (k x V)."""
    totals = topic_term.sum(axis=0, keepdims=True)
    return np.divide(topic_term, totals, out=np.zeros_like(topic_term), where=totals > 0)


def frex(topic_term: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """FREX: weighted harmonic mean of a term's exclusivity and frequency ranks within a topic.

    As in stm's ``calcfrex`` (Roberts, Stewart & Airoldi 2016, "A model of text for
    experimentation in the social sciences", JASA; Bischof & Airoldi 2012): each row's
    exclusivity and p(w|k) are replaced by their empirical CDF values within the topic, and
    FREX = 1 / (w / ECDF(excl) + (1 - w) / ECDF(freq)), with ``weight`` w on exclusivity
    (stm's ``frexweight``, default 0.5). Values lie in (0, 1].
    """
    n_terms = topic_term.shape[1]
    freq_cdf = rankdata(topic_term, method="max", axis=1) / n_terms
    excl_cdf = rankdata(exclusivity(topic_term), method="max", axis=1) / n_terms
    return 1.0 / (weight / excl_cdf + (1.0 - weight) / freq_cdf)


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
