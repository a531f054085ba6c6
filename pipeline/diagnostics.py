"""Diagnostics of a fitted model, as the literature defines them: coherence, size,
exclusivity, effective number of words, diversity, stability across refits, alignment of two
models.

All functions take plain arrays: ``topic_term`` is k x V with rows summing to 1 (p(w|k)),
``doc_topic`` is D x k.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline.clustered import clustered_mean
from pipeline.progress import Progress, silent
from pipeline.schemas import TOPIC_DIAGNOSTICS
from pipeline.seeds import rng_for
from pipeline.term_measures import frex, top_terms
from pipeline.vectorize import Matrices


def topic_exclusivity(topic_term: np.ndarray, top_n: int = 10, weight: float = 0.7) -> np.ndarray:
    """Per-topic exclusivity as stm's ``exclusivity(model, M = 10, frexw = 0.7)`` (R/exclusivity.R).

    The sum of FREX scores over the topic's ``top_n`` most probable terms, with ``weight`` on
    exclusivity and the rest on frequency, no shrinkage, as that function has it (Roberts et al.
    2014, "Structural topic models for open-ended survey responses"; Bischof & Airoldi 2012).
    stm's ``calcfrex`` puts its weight on frequency instead, hence ``1 - weight`` here. Each
    score is at most 1, so the sum is at most ``top_n``: a topic whose most probable words are
    also among its most exclusive scores near it. The measure ranks topics of one model; its
    level says little on its own (all topics of a model often lie within a few tenths of it).
    """
    scores = frex(topic_term, 1.0 - weight)
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


def _coherence_model(top_terms: list[list[str]], texts: list[list[str]], dictionary, measure: str,
                     progress: Progress = silent):
    from gensim.models.coherencemodel import CoherenceModel

    # gensim reads the texts once, when it counts the windows: the bar follows that pass.
    read = progress(texts, len(texts), f"coherence {measure}")
    corpus = [dictionary.doc2bow(t) for t in read] if measure == "u_mass" else None
    return CoherenceModel(topics=top_terms, texts=None if measure == "u_mass" else read, corpus=corpus,
                          dictionary=dictionary, coherence=measure, topn=len(top_terms[0]), processes=1)


def coherence(top_terms: list[list[str]], texts: list[list[str]], dictionary, measure: str,
              progress: Progress = silent) -> np.ndarray:
    """Per-topic coherence by gensim's ``CoherenceModel`` (Röder, Both & Hinneburg 2015).

    ``c_v`` and ``c_npmi`` use sliding windows over the normalised units; ``u_mass``
    (Mimno et al. 2011) uses document co-occurrence in the bag-of-words corpus, smoothed as
    gensim does (epsilon = 1e-12 where the paper adds 1 to the co-document count).
    """
    model = _coherence_model(top_terms, texts, dictionary, measure, progress)
    return np.asarray(model.get_coherence_per_topic(), dtype=float)


@dataclass(frozen=True)
class _Presence:
    """Which of the topics' top words each of gensim's counting units holds (a sliding window
    of a text, or a whole unit for ``u_mass``), and the text each unit comes from. gensim's
    counts are sums over these units, so a resample of the texts is a reweighting of them."""

    model: Any  # the CoherenceModel whose measure scores the counts
    counts: Any  # gensim's WordOccurrenceAccumulator over the relevant words, given each resample's counts
    presence: sp.csr_matrix  # rows of counting units x relevant words, 0/1
    text_of_unit: np.ndarray
    units_in_row: np.ndarray  # a row stands for this many consecutive windows that mark the same words

    def scores(self, text_weights: np.ndarray) -> np.ndarray:
        """Per-topic coherence of the texts repeated ``text_weights`` times, as gensim would
        score that corpus: occurrence and co-occurrence counts are weighted sums of the units'."""
        weights = text_weights[self.text_of_unit] * self.units_in_row
        occurrences = np.asarray(self.presence.T @ weights).ravel()
        co_occurrences = (self.presence.T @ sp.diags(weights, dtype=np.int64) @ self.presence).toarray()
        if self.model.coherence == "u_mass":
            # Python ints, as CorpusAccumulator's set sizes are: gensim's u_mass then scores a
            # pair whose conditioning word is absent 0 (its ZeroDivisionError), not -inf.
            occurrences, co_occurrences = occurrences.astype(object), co_occurrences.astype(object)
        self.counts._occurrences, self.counts._co_occurrences = occurrences, co_occurrences
        self.counts._num_docs = int(weights.sum())
        self.model._accumulator = self.counts
        return np.asarray(self.model.get_coherence_per_topic(), dtype=float)


def _presence(top_terms: list[list[str]], texts: list[list[str]], dictionary, measure: str) -> _Presence:
    """gensim's own counting units for ``measure``, each reduced to the relevant words it holds:
    bag-of-words units for ``u_mass``; for the windowed measures, the windows of gensim's
    ``WordOccurrenceAccumulator`` with the words its sliding update marks in each (which is not
    always every word the window holds: a word leaving one edge is unmarked even when it occurs
    again inside), and an empty text's one empty window, which gensim counts too. Consecutive
    windows of a text that mark the same words are one row (about a tenth of the windows when
    the top words are a few percent of the vocabulary)."""
    from gensim.topic_coherence.probability_estimation import unique_ids_from_segments
    from gensim.topic_coherence.text_analysis import WordOccurrenceAccumulator

    model = _coherence_model(top_terms, texts, dictionary, measure)
    relevant_ids = unique_ids_from_segments(model.measure.seg(model.topics))
    counts = WordOccurrenceAccumulator(relevant_ids, dictionary)
    if measure == "u_mass":
        units = [(i, [counts.id2contiguous[w] for w, _ in dictionary.doc2bow(t) if w in counts.id2contiguous])
                 for i, t in enumerate(texts)]
        units_in_row = [1] * len(units)
    else:
        units, units_in_row = [], []

        class Recorder(WordOccurrenceAccumulator):
            def analyze_text(self, window, doc_num=None):
                self._slide_window(window, doc_num)
                marked = np.flatnonzero(self._uniq_words[:-1])
                if units and units[-1][0] == doc_num and np.array_equal(units[-1][1], marked):
                    units_in_row[-1] += 1
                else:
                    units.append((doc_num, marked))
                    units_in_row.append(1)

        Recorder(relevant_ids, dictionary).partial_accumulate(texts, model.window_size)
        empty = [i for i, text in enumerate(texts) if not text]
        units += [(i, []) for i in empty]
        units_in_row += [1] * len(empty)
    rows = np.repeat(np.arange(len(units)), [len(held) for _, held in units])
    columns = np.concatenate([np.asarray(held, dtype=int) for _, held in units]) if units else np.zeros(0, int)
    presence = sp.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, columns)), shape=(len(units), len(relevant_ids)))
    return _Presence(model, counts, presence, np.array([text for text, _ in units], dtype=int),
                     np.array(units_in_row, dtype=np.int64))


def coherence_bootstrap_sd(top_terms: list[list[str]], texts: list[list[str]], dictionary, measure: str,
                           draws: int, rng: np.random.Generator) -> float:
    """The bootstrap standard deviation of the mean coherence over topics when the reference
    texts are resampled with replacement (``draws`` resamples; NaN below 2): how much the
    in-sample score depends on which texts happened to be there. A topic whose top word is
    missing from a resample has no score there (gensim gives it inf) and is left out of that
    resample's mean. gensim counts once; each resample reweights those counts by how often it
    drew each text, which is the score gensim gives the resampled texts."""
    if draws < 2:
        return float("nan")
    counted = _presence(top_terms, texts, dictionary, measure)
    means = []
    for _ in range(draws):
        drawn = np.bincount(rng.integers(len(texts), size=len(texts)), minlength=len(texts))
        with np.errstate(divide="ignore", invalid="ignore"):  # gensim's log(0) for a word the resample lacks
            scores = counted.scores(drawn)
        means.append(scores[np.isfinite(scores)].mean())
    return float(np.std(means, ddof=1))


def average_jaccard_matrix(first: list[list[str]], second: list[list[str]]) -> np.ndarray:
    """Average Jaccard of every pair of ranked top-term lists (rows: first, columns: second):
    AJ(x, y) = (1/t) sum_(d=1..t) |x_d & y_d| / |x_d | y_d|, x_d the top d terms of x (Greene,
    O'Callaghan & Cunningham 2014, sec. 3.1; their derekgreene/topic-stability,
    unsupervised/rankings.py, ``AverageJaccard``). It weighs the top of the lists most: two lists
    of 10 sharing 7 terms score 0.90 when the 7 lead both lists in one order, 0.26 when they
    trail both, 0.12 when they trail in opposite orders (plain Jaccard: 0.54 for all three)."""
    depth = min(len(terms) for terms in [*first, *second])
    depths = np.arange(1, depth + 1)
    result = np.zeros((len(first), len(second)))
    for i, x in enumerate(first):
        rank_in_x = {term: rank for rank, term in enumerate(x[:depth])}
        for j, y in enumerate(second):
            # A shared term is in both top-d lists from depth max(its two ranks) + 1 on.
            entering = np.zeros(depth)
            for rank, term in enumerate(y[:depth]):
                if term in rank_in_x:
                    entering[max(rank, rank_in_x[term])] += 1
            shared = np.cumsum(entering)
            result[i, j] = np.mean(shared / (2 * depths - shared))
    return result


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

    Each other run's topics are matched to the reference run's by the Hungarian method on the
    average Jaccard of their ranked top terms; a topic's stability is its mean matched average
    Jaccard over runs (their agreement score, per topic).
    """
    if not others:
        return np.full(len(reference), np.nan)
    return np.mean([match_topics(average_jaccard_matrix(reference, run))[1] for run in others], axis=0)


# Document completion scores a unit only if both halves hold a token: the observed half gives
# the mixture, the other is scored.
COMPLETION_MIN_TOKENS = 2


def heldout_split(n_tokens: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit indices held out and the rest, in a seeded order: ``share`` (at least one) of the
    units with ``COMPLETION_MIN_TOKENS`` tokens or more; shorter units are never held out."""
    order = rng_for(seed, "heldout").permutation(len(n_tokens))
    completable = order[np.asarray(n_tokens)[order] >= COMPLETION_MIN_TOKENS]
    held = completable[:max(1, round(share * len(completable)))]
    return held, order[~np.isin(order, held)]


def resamples(n_units: int, share: float, count: int, seed: int) -> list[np.ndarray]:
    """``count`` seeded subsamples of ``share`` of the units (sorted indices, without replacement),
    as Greene, O'Callaghan & Cunningham (2014) refit a model on to measure its stability."""
    size = max(1, round(share * n_units))
    return [np.sort(rng_for(seed, "resample", str(i)).choice(n_units, size=size, replace=False))
            for i in range(count)]


def completion_halves(counts: sp.csr_matrix, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Each unit's tokens in a seeded random order, split into an observed first half and a
    held-out second half (the document-completion split of Wallach et al. 2009)."""
    rng = rng_for(seed, "completion")
    halves: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])  # per unit: its terms and counts in each half
    for row in range(counts.shape[0]):
        start, end = counts.indptr[row], counts.indptr[row + 1]
        tokens = rng.permutation(np.repeat(counts.indices[start:end], counts.data[start:end].astype(int)))
        half = len(tokens) // 2
        for parts, part in zip(halves, (tokens[:half], tokens[half:])):
            parts.append(np.unique(part, return_counts=True))
    return tuple(_csr(parts, counts.shape) for parts in halves)


def _csr(rows: list[tuple[np.ndarray, np.ndarray]], shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix from each row's sorted column indices and values."""
    indptr = np.cumsum([0, *(len(terms) for terms, _ in rows)])
    indices = np.concatenate([np.zeros(0, dtype=int), *(terms for terms, _ in rows)])
    data = np.concatenate([np.zeros(0), *(number for _, number in rows)])
    return sp.csr_matrix((data, indices, indptr), shape=shape)


@dataclass(frozen=True)
class Completion:
    """Document completion of held-out units: which units were scored, each one's held-out half
    (a row of ``held``) and the log likelihood the model gives it."""

    units: np.ndarray
    held: sp.csr_matrix
    log_likelihood: np.ndarray

    @property
    def log_perplexity(self) -> float:
        """Minus the mean log likelihood per held-out word (NaN if no unit was scored)."""
        return float(-self.log_likelihood.sum() / self.held.sum()) if len(self.units) else float("nan")


def document_completion(infer: Callable[[Any, Matrices], np.ndarray], native: Any, topic_term: np.ndarray,
                        matrices: Matrices, unseen: np.ndarray, seed: int,
                        progress: Progress = silent) -> Completion:
    """Document completion of the ``unseen`` units by a fit that never saw them: each unit's
    observed half gives its mixture (``infer``, topics fixed), its other half is scored; units
    of fewer than ``COMPLETION_MIN_TOKENS`` tokens are left out.

    The score is a plug-in estimate: each held-out word gets log sum_k theta_dk phi_kw with
    theta_d the backend's point estimate from the observed half (a variational or Gibbs mean).
    For one word that is its posterior predictive probability; for a unit's held-out half it is
    the product of those per-word predictives, which leaves out what the held-out words tell
    about each other (Wallach et al. 2009's left-to-right estimator keeps it, at the cost of
    resampling theta word by word).
    """
    unseen = unseen[matrices.unit_lengths[unseen] >= COMPLETION_MIN_TOKENS]
    if not len(unseen):
        return Completion(unseen, sp.csr_matrix((0, matrices.counts.shape[1])), np.zeros(0))
    observed, held = completion_halves(matrices.counts[unseen], seed)
    theta = infer_in_chunks(infer, native, matrices.subset(unseen).with_counts(observed), progress, "held-out units")
    return Completion(unseen, held, completion_log_likelihoods(theta, topic_term, held))


def infer_in_chunks(infer: Callable[[Any, Matrices], np.ndarray], native: Any, matrices: Matrices,
                    progress: Progress = silent, description: str = "units") -> np.ndarray:
    """``infer`` over the units (at least one) in chunks, one step of ``progress`` each. Every
    backend infers each unit on its own, so the mixtures are those of one call (checked for
    each backend in tests/test_models.py)."""
    n = len(matrices.bow)
    starts = range(0, n, INFER_CHUNK)
    return np.vstack([infer(native, matrices.subset(np.arange(start, min(start + INFER_CHUNK, n))))
                      for start in progress(starts, len(starts), description)])


def completion_log_likelihoods(doc_topic: np.ndarray, topic_term: np.ndarray, held: sp.csr_matrix) -> np.ndarray:
    """Each unit's held-out log likelihood by document completion (Wallach, Murray, Salakhutdinov
    & Mimno 2009, "Evaluation methods for topic models", ICML): the sum over its held-out words
    of log sum_k theta_dk phi_kw, with theta_d inferred from the unit's observed half and the
    topics phi fixed. Minus their sum over the words is the log perplexity per word."""
    held = held.tocoo()
    probability = np.einsum("nk,kn->n", doc_topic[held.row], topic_term[:, held.col])
    return np.bincount(held.row, held.data * np.log(probability), minlength=held.shape[0])


def unigram_log_likelihoods(training_counts: np.ndarray, held: sp.csr_matrix) -> np.ndarray:
    """The same for a unigram model of the training units (add-one-half smoothing): a topic model
    that does not beat it has learned nothing a word list would not."""
    probability = (training_counts + 0.5) / (training_counts.sum() + 0.5 * len(training_counts))
    held = held.tocoo()
    return np.bincount(held.row, held.data * np.log(probability[held.col]), minlength=held.shape[0])


@dataclass(frozen=True)
class Gain:
    """A model's held-out log likelihood per word minus a baseline's (nats; above 0 the model
    predicts the held-out words better), its standard error clustered by conference, and that
    error's degrees of freedom."""

    per_word: float
    se: float
    df: float
    conferences: int

    def distinguishable(self, level: float) -> bool:
        """Whether the level-``level`` t interval of the gain excludes 0."""
        from scipy.stats import t as student_t

        return bool(self.se > 0 and abs(self.per_word) > student_t.ppf((1 + level) / 2, self.df) * self.se)


def heldout_gain(model: np.ndarray, baseline: np.ndarray, words: np.ndarray, conferences: np.ndarray) -> Gain:
    """The gain of ``model`` over ``baseline`` (per-unit held-out log likelihoods of the units'
    ``words`` held-out words): sum(model - baseline) / sum(words), the words-weighted mean of the
    units' gains per word, with its CR2 standard error over ``conferences`` (units of one
    conference share its agenda, so their gains are not independent). NaN SE below 2 conferences."""
    gain = (model - baseline) / words
    mean, se, df = clustered_mean(gain[:, None], words, conferences)
    return Gain(float(mean[0]), float(se[0]), df, len(set(conferences)))


def cosine_matrix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    a = first / np.linalg.norm(first, axis=1, keepdims=True)
    b = second / np.linalg.norm(second, axis=1, keepdims=True)
    return a @ b.T


INFER_CHUNK = 2000  # units inferred per step of a progress bar
COHERENCE_MEASURES = ("c_v", "c_npmi", "u_mass")
DIAGNOSTIC_COLUMNS = list(TOPIC_DIAGNOSTICS.columns)


# gensim's default sliding windows (coherencemodel.py, SLIDING_WINDOW_SIZES); u_mass counts
# co-occurrence in whole units.
COHERENCE_WINDOWS = {"c_v": 110, "c_npmi": 10, "u_mass": "unit"}


def diagnostics(
    topic_term: np.ndarray, vocabulary: list[str], doc_topic: np.ndarray, refit_top_terms: list[list[list[str]]],
    resample_top_terms: list[list[list[str]]], texts: list[list[str]], dictionary, n_tokens: np.ndarray, cfg,
    reference: str = "the modelled units", progress: Progress = silent, seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-topic diagnostics and the model's summary measures.

    ``refit_top_terms`` are the top terms of the same model refitted with other seeds on all
    units, ``resample_top_terms`` of refits on subsamples of the units (Greene et al. 2014);
    ``texts`` are the reference texts for coherence (``reference`` says what they are);
    ``cfg`` is the ``evaluate`` config section; ``seed`` draws the coherence bootstrap.
    """
    top = top_terms(topic_term, vocabulary, cfg.coherence_top_n)
    scores = {m: coherence(top, texts, dictionary, m, progress) for m in COHERENCE_MEASURES}
    own_top = top_terms(topic_term, vocabulary, cfg.stability_top_n)
    seeds, resampled = stability(own_top, refit_top_terms), stability(own_top, resample_top_terms)
    table = pd.DataFrame({
        "topic": range(len(topic_term)), "topic_label": "",
        **{f"coherence_{m}": v for m, v in scores.items()},
        "size": topic_size(doc_topic, n_tokens), "exclusivity": topic_exclusivity(topic_term),
        "effective_words": effective_number_of_words(topic_term), "stability": seeds,
        "resample_stability": resampled, "aligned_with": "", "exploratory": False,
    }, columns=DIAGNOSTIC_COLUMNS)
    lengths = [len(t) for t in texts]
    summary = {
        "topic_diversity": topic_diversity(top_terms(topic_term, vocabulary, cfg.diversity_top_n)),
        **{f"mean_coherence_{m}": float(np.mean(v)) for m, v in scores.items()},
        **{f"coherence_{m}_bootstrap_sd": None if np.isnan(sd) else round(sd, 6) for m in COHERENCE_MEASURES
           for sd in [coherence_bootstrap_sd(top, texts, dictionary, m, cfg.coherence_bootstrap,
                                             rng_for(seed, "coherence", m))]},
        "coherence_setup": {"top_n": cfg.coherence_top_n, "windows": COHERENCE_WINDOWS, "reference": reference,
                            "bootstrap": cfg.coherence_bootstrap if cfg.coherence_bootstrap >= 2 else 0,
                            "reference_units": len(texts), "reference_mean_tokens": round(float(np.mean(lengths)), 1)},
        "mean_stability": float(np.nanmean(seeds)) if refit_top_terms else None,
        "stability_seeds": len(refit_top_terms) + 1,
        "mean_resample_stability": float(np.nanmean(resampled)) if resample_top_terms else None,
        "resamples": len(resample_top_terms),
        "tokens_per_parameter": float(n_tokens.sum() / (topic_term.shape[0] * topic_term.shape[1])),
    }
    return table, summary


def alignment(first: np.ndarray, second: np.ndarray, threshold: float) -> pd.DataFrame:
    """All topic pairs of two models over one vocabulary: cosine similarity, Hungarian match, and
    ``found_by_both`` where the matched pair's cosine reaches ``threshold`` (a matched pair below
    it is no match: the one-to-one matching pairs every topic, similar or not)."""
    similarity = cosine_matrix(first, second)
    matched, _ = match_topics(similarity)
    rows = [{"topic_a": a, "topic_b": b, "cosine": similarity[a, b], "matched": matched[a] == b,
             "found_by_both": bool(matched[a] == b and similarity[a, b] >= threshold)}
            for a in range(similarity.shape[0]) for b in range(similarity.shape[1])]
    return pd.DataFrame(rows)


def aligned_with(pairs: pd.DataFrame) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """For an ``alignment`` table of two models: per topic of each model, the topics of the
    other found by both, as ``"model:topic (cosine)"``."""
    found = pairs[pairs.found_by_both]
    notes_a: dict[int, list[str]] = {}
    notes_b: dict[int, list[str]] = {}
    for row in found.itertuples():
        notes_a.setdefault(int(row.topic_a), []).append(f"{row.model_b}:{int(row.topic_b)} ({row.cosine:.2f})")
        notes_b.setdefault(int(row.topic_b), []).append(f"{row.model_a}:{int(row.topic_a)} ({row.cosine:.2f})")
    return notes_a, notes_b
