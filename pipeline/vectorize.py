"""Token lists to the matrices every backend shares."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline.progress import Progress, silent


@dataclass(frozen=True)
class Matrices:
    """``counts`` and ``tfidf`` are units x terms (CSR); ``bow`` is gensim's view of ``counts``.

    Term ids are gensim ``Dictionary`` ids: order of first appearance over units in corpus
    order, so they are stable for the same inputs. ``covariates`` are the units' own metadata
    (speaker, year, ...; one row per unit) for a backend whose prior depends on them, None for
    texts that are no modelled unit (questions, new texts).
    """

    vocabulary: list[str]
    dictionary: object
    bow: list[list[tuple[int, int]]]
    counts: sp.csr_matrix
    tfidf: sp.csr_matrix
    idf: np.ndarray  # the corpus's inverse document frequencies (sklearn's smoothed idf)
    covariates: pd.DataFrame | None = None

    def subset(self, rows: np.ndarray) -> "Matrices":
        """The same vocabulary and dictionary over a subset of units (e.g. a held-out split)."""
        covariates = None if self.covariates is None else self.covariates.iloc[rows].reset_index(drop=True)
        return Matrices(self.vocabulary, self.dictionary, [self.bow[i] for i in rows], self.counts[rows],
                        self.tfidf[rows], self.idf, covariates)

    def with_counts(self, counts: sp.csr_matrix) -> "Matrices":
        """The same units with other counts (e.g. the observed halves of held-out units), over
        this vocabulary and idf, their covariates kept."""
        if counts.shape[0] != len(self.bow):
            raise ValueError(f"{counts.shape[0]} rows of counts for {len(self.bow)} units")
        return _from_counts(self.vocabulary, self.dictionary, counts, self.idf, self.covariates)

    def with_covariates(self, covariates: pd.DataFrame) -> "Matrices":
        """These units with their metadata (one row per unit, in unit order)."""
        if len(covariates) != len(self.bow):
            raise ValueError(f"{len(covariates)} rows of covariates for {len(self.bow)} units")
        return dataclasses.replace(self, covariates=covariates.reset_index(drop=True))

    @property
    def term_counts(self) -> np.ndarray:
        """Each term's count over all units."""
        return np.asarray(self.counts.sum(axis=0)).ravel()

    @property
    def unit_lengths(self) -> np.ndarray:
        """Each unit's token count."""
        return np.asarray(self.counts.sum(axis=1)).ravel()

    @property
    def term_frequency(self) -> np.ndarray:
        """Empirical p(w): each term's share of all tokens."""
        totals = self.term_counts
        return totals / totals.sum()


def over_vocabulary(matrices: Matrices, tokens: list[list[str]]) -> Matrices:
    """Other texts' tokens (questions, say) over these matrices' vocabulary and idf; words the
    vocabulary lacks are left out."""
    from gensim.matutils import corpus2csc

    bow = [matrices.dictionary.doc2bow(text) for text in tokens]
    counts = corpus2csc(bow, num_terms=len(matrices.vocabulary), num_docs=len(bow), dtype=np.float64).T.tocsr()
    return _from_counts(matrices.vocabulary, matrices.dictionary, counts, matrices.idf)


def counted(vocabulary: list[str], idf: np.ndarray, tokens: list[list[str]]) -> Matrices:
    """Token lists, every token in ``vocabulary``, counted over it and weighted by its ``idf``:
    new texts as a loaded run's matrices (which keep no gensim dictionary, so ``dictionary``
    is None) see them."""
    position = {term: i for i, term in enumerate(vocabulary)}
    rows = [i for i, unit in enumerate(tokens) for _ in unit]
    columns = [position[term] for unit in tokens for term in unit]
    counts = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(tokens), len(vocabulary)))
    counts.sum_duplicates()
    return _from_counts(vocabulary, None, counts, idf)


def _from_counts(vocabulary: list[str], dictionary: object, counts: sp.csr_matrix, idf: np.ndarray,
                 covariates: pd.DataFrame | None = None) -> Matrices:
    """Matrices of units given by their counts: bags of words, and tf-idf by ``idf`` (L2-normed rows)."""
    from sklearn.preprocessing import normalize

    counts = sp.csr_matrix(counts, dtype=np.float64)
    bow = [list(zip(row.indices.tolist(), row.data.astype(int).tolist())) for row in counts]
    return Matrices(vocabulary, dictionary, bow, counts, normalize(counts.multiply(idf[None, :]).tocsr()), idf,
                    covariates)


def vectorize(tokens: list[list[str]], progress: Progress = silent) -> Matrices:
    """The units' dictionary, bags of words, counts and tf-idf. One pass: each unit's bag of
    words is counted while its new words are added (the ids and bags ``Dictionary(tokens)``
    and ``doc2bow`` give, without gensim's pruning above two million distinct words)."""
    from gensim.corpora import Dictionary
    from gensim.matutils import corpus2csc
    from sklearn.feature_extraction.text import TfidfTransformer

    dictionary = Dictionary()
    bow = [dictionary.doc2bow(unit, allow_update=True) for unit in progress(tokens, len(tokens), "units")]
    counts = corpus2csc(bow, num_terms=len(dictionary), num_docs=len(bow), dtype=np.float64).T.tocsr()
    transformer = TfidfTransformer()
    tfidf = transformer.fit_transform(counts).tocsr()
    return Matrices([dictionary[i] for i in range(len(dictionary))], dictionary, bow, counts, tfidf,
                    transformer.idf_)
