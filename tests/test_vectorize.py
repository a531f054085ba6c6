"""The shared matrices: one pass over the units gives gensim's own dictionary and bags."""

from __future__ import annotations

import numpy as np
from gensim.corpora import Dictionary
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.vectorize import vectorize

# The run drops units left empty by normalisation before it vectorises.
units = st.lists(st.lists(st.sampled_from(["chip", "wafer", "fab", "steel", "coal", "5G", "sme"]), min_size=1, max_size=12),
                 min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(units)
def test_one_pass_gives_gensims_dictionary_and_bags(tokens):
    theirs = Dictionary(tokens)
    matrices = vectorize(tokens)
    assert matrices.dictionary.token2id == theirs.token2id
    assert (matrices.dictionary.dfs, matrices.dictionary.cfs) == (theirs.dfs, theirs.cfs)
    assert (matrices.dictionary.num_docs, matrices.dictionary.num_pos, matrices.dictionary.num_nnz) == (
        theirs.num_docs, theirs.num_pos, theirs.num_nnz)
    assert matrices.bow == [theirs.doc2bow(unit) for unit in tokens]
    assert matrices.vocabulary == [theirs[i] for i in range(len(theirs))]
    assert np.array_equal(matrices.counts.sum(axis=1).A1, [len(unit) for unit in tokens])
