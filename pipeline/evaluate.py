"""Measures of topics, as the literature defines them.

All functions take plain arrays: ``topic_term`` is k x V with rows summing to 1 (p(w|k)),
``term_frequency`` is the corpus's empirical p(w) (length V).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
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


def topic_exclusivity(topic_term: np.ndarray, top_n: int = 10, weight: float = 0.7) -> np.ndarray:
    """Per-topic exclusivity as stm's ``exclusivity(model, M = 10, frexw = 0.7)``.

    The sum of FREX scores (weight 0.7 on exclusivity) over the topic's ``top_n`` most
    probable terms (Roberts et al. 2014, "Structural topic models for open-ended survey
    responses"; Bischof & Airoldi 2012). Higher means the topic's top words belong to it.
    """
    scores = frex(topic_term, weight)
    top = np.argsort(-topic_term, axis=1, kind="stable")[:, :top_n]
    return np.take_along_axis(scores, top, axis=1).sum(axis=1)


def effective_number_of_words(topic_term: np.ndarray) -> np.ndarray:
    """1 / sum_w p(w|k)^2: the inverse Simpson index, as MALLET's ``eff_num_words``."""
    return 1.0 / np.square(topic_term).sum(axis=1)


def topic_size(doc_topic: np.ndarray, n_tokens: np.ndarray) -> np.ndarray:
    """Each topic's share of all tokens: sum_d n_d theta_dk / sum_d n_d (undefined rows skipped)."""
    defined = ~np.isnan(doc_topic).any(axis=1)
    weighted = doc_topic[defined] * n_tokens[defined, None]
    return weighted.sum(axis=0) / n_tokens[defined].sum()


def topic_diversity(top_terms: list[list[str]]) -> float:
    """Share of unique terms among all topics' top terms (Dieng, Ruiz & Blei 2020; top 25)."""
    every = [term for terms in top_terms for term in terms]
    return len(set(every)) / len(every)


def coherence(top_terms: list[list[str]], texts: list[list[str]], dictionary, measure: str) -> np.ndarray:
    """Per-topic coherence by gensim's ``CoherenceModel`` (Röder, Both & Hinneburg 2015).

    ``c_v`` and ``c_npmi`` use sliding windows over the normalised units; ``u_mass``
    (Mimno et al. 2011) uses document co-occurrence in the bag-of-words corpus, smoothed as
    gensim does (epsilon = 1e-12 where the paper adds 1 to the co-document count).
    """
    from gensim.models.coherencemodel import CoherenceModel

    corpus = [dictionary.doc2bow(t) for t in texts] if measure == "u_mass" else None
    model = CoherenceModel(topics=top_terms, texts=None if measure == "u_mass" else texts, corpus=corpus,
                           dictionary=dictionary, coherence=measure, topn=len(top_terms[0]), processes=1)
    return np.asarray(model.get_coherence_per_topic(), dtype=float)


def jaccard_matrix(first: list[list[str]], second: list[list[str]]) -> np.ndarray:
    """Jaccard similarity of every pair of top-term sets (rows: first, columns: second)."""
    a, b = [set(t) for t in first], [set(t) for t in second]
    return np.array([[len(x & y) / len(x | y) for y in b] for x in a])


def match_topics(similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching maximising total similarity: for each row topic, its column and score.

    With more rows than columns (models with different k) the extra rows get column -1 and
    score NaN.
    """
    from scipy.optimize import linear_sum_assignment

    rows, columns = linear_sum_assignment(similarity, maximize=True)
    matched = np.full(similarity.shape[0], -1)
    scores = np.full(similarity.shape[0], np.nan)
    matched[rows], scores[rows] = columns, similarity[rows, columns]
    return matched, scores


def stability(reference: list[list[str]], others: list[list[list[str]]]) -> np.ndarray:
    """Per-topic stability across seeds (Greene, O'Callaghan & Cunningham 2014).

    Each other run's topics are matched to the reference run's by the Hungarian method on
    top-term Jaccard similarity; a topic's stability is its mean matched Jaccard over runs.
    """
    if not others:
        return np.full(len(reference), np.nan)
    return np.mean([match_topics(jaccard_matrix(reference, run))[1] for run in others], axis=0)


def cosine_matrix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    a = first / np.linalg.norm(first, axis=1, keepdims=True)
    b = second / np.linalg.norm(second, axis=1, keepdims=True)
    return a @ b.T


COHERENCE_MEASURES = ("c_v", "c_npmi", "u_mass")
DIAGNOSTIC_COLUMNS = ["topic", "topic_label", "coherence_c_v", "coherence_c_npmi", "coherence_u_mass", "size",
                      "exclusivity", "effective_words", "stability", "aligned_with"]


def diagnostics(
    topic_term: np.ndarray, vocabulary: list[str], doc_topic: np.ndarray, refit_top_terms: list[list[list[str]]],
    texts: list[list[str]], dictionary, n_tokens: np.ndarray, cfg,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-topic diagnostics and the model's summary measures.

    ``refit_top_terms`` are the top terms of the same model refitted with other seeds
    (``cfg.stability_seeds - 1`` runs); ``cfg`` is the ``evaluate`` config section.
    """
    top = top_terms(topic_term, vocabulary, cfg.coherence_top_n)
    scores = {m: coherence(top, texts, dictionary, m) for m in COHERENCE_MEASURES}
    stable = stability(top_terms(topic_term, vocabulary, cfg.stability_top_n), refit_top_terms)
    table = pd.DataFrame({
        "topic": range(len(topic_term)), "topic_label": "",
        **{f"coherence_{m}": v for m, v in scores.items()},
        "size": topic_size(doc_topic, n_tokens), "exclusivity": topic_exclusivity(topic_term),
        "effective_words": effective_number_of_words(topic_term), "stability": stable, "aligned_with": "",
    }, columns=DIAGNOSTIC_COLUMNS)
    summary = {
        "topic_diversity": topic_diversity(top_terms(topic_term, vocabulary, cfg.diversity_top_n)),
        **{f"mean_coherence_{m}": float(np.mean(v)) for m, v in scores.items()},
        "mean_stability": float(np.nanmean(stable)) if len(refit_top_terms) else None,
        "stability_seeds": len(refit_top_terms) + 1,
    }
    return table, summary


def alignment(first: np.ndarray, second: np.ndarray) -> pd.DataFrame:
    """All topic pairs of two models over one vocabulary: cosine similarity and Hungarian match."""
    similarity = cosine_matrix(first, second)
    matched, _ = match_topics(similarity)
    rows = [{"topic_a": a, "topic_b": b, "cosine": similarity[a, b], "matched": matched[a] == b}
            for a in range(similarity.shape[0]) for b in range(similarity.shape[1])]
    return pd.DataFrame(rows)
