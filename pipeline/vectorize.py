"""Token lists to the matrices every backend shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Matrices:
    """``counts`` and ``tfidf`` are units x terms (CSR); ``bow`` is gensim's view of ``counts``.

    Term ids are gensim ``Dictionary`` ids: order of first appearance over units in corpus
    order, so they are stable for the same inputs.
    """

    vocabulary: list[str]
    dictionary: object
    bow: list[list[tuple[int, int]]]
    counts: sp.csr_matrix
    tfidf: sp.csr_matrix

    def subset(self, rows: np.ndarray) -> "Matrices":
        """The same vocabulary and dictionary over a subset of units (e.g. a held-out split)."""
        return Matrices(self.vocabulary, self.dictionary, [self.bow[i] for i in rows], self.counts[rows],
                        self.tfidf[rows])

    @property
    def term_frequency(self) -> np.ndarray:
        """Empirical p(w): each term's share of all tokens."""
        totals = np.asarray(self.counts.sum(axis=0)).ravel()
        return totals / totals.sum()


def vectorize(tokens: list[list[str]]) -> Matrices:
    from gensim.corpora import Dictionary
    from gensim.matutils import corpus2csc
    from sklearn.feature_extraction.text import TfidfTransformer

    dictionary = Dictionary(tokens)
    bow = [dictionary.doc2bow(unit) for unit in tokens]
    counts = corpus2csc(bow, num_terms=len(dictionary), num_docs=len(bow), dtype=np.float64).T.tocsr()
    tfidf = TfidfTransformer().fit_transform(counts).tocsr()
    return Matrices([dictionary[i] for i in range(len(dictionary))], dictionary, bow, counts, tfidf)
