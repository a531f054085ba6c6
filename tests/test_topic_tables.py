"""Term measures against hand-computed values, and the mixture tables' arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pipeline import topic_tables as tables
from pipeline.config import TablesConfig
from pipeline.term_measures import exclusivity, frex, lift, relevance
from pipeline.models import TopicModelResult

BETA = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
P_W = np.array([0.3, 0.2, 0.5])


def test_exclusivity_by_hand():
    assert np.allclose(exclusivity(BETA), [[0.5 / 0.6, 0.3 / 0.4, 0.2 / 1.0], [0.1 / 0.6, 0.1 / 0.4, 0.8 / 1.0]])


def test_frex_by_hand():
    """stm's calcfrex: ranks / V with average ties, weight w on frequency, 1 - w on exclusivity."""
    # Topic 0: freq (.5,.3,.2) -> (1, 2/3, 1/3); excl (.833,.75,.2) -> (1, 2/3, 1/3).
    # Topic 1: freq (.1,.1,.8) -> the tie shares the average rank 1.5: (.5, .5, 1); excl (.167,.25,.8) -> (1/3, 2/3, 1).
    expected = np.array([
        [1.0, 2 / 3, 1 / 3],
        [1 / (0.5 / 0.5 + 0.5 / (1 / 3)), 1 / (0.5 / 0.5 + 0.5 / (2 / 3)), 1.0],  # 0.4, 4/7, 1
    ])
    assert np.allclose(frex(BETA, 0.5), expected)
    # weight 1 is pure frequency, weight 0 pure exclusivity (stm's frexweight is on frequency)
    assert np.allclose(frex(BETA, 1.0)[1], [0.5, 0.5, 1.0])
    assert np.allclose(frex(BETA, 0.0)[1], [1 / 3, 2 / 3, 1.0])


def test_james_stein_shrinkage_and_frex_with_counts_by_hand():
    """stm's js.estimate on each term's distribution over topics, with its corpus count."""
    counts = np.array([2, 10, 1000])
    # Term 0 (.833, .167), seen twice: lambda = (2 x .833 x .167 / 1) / (2 x .333^2) = 1.25 -> 1: uniform.
    # Term 1 (.75, .25), 10 times: lambda = (2 x .1875 / 9) / (2 x .25^2) = 1/3 -> (2/3, 1/3).
    # Term 2 (.2, .8), 1000 times: lambda = (2 x .16 / 999) / (2 x .3^2) = .00178 -> barely moves.
    shrunk = exclusivity(BETA, counts)
    assert np.allclose(shrunk[:, 0], [0.5, 0.5]) and np.allclose(shrunk[:, 1], [2 / 3, 1 / 3])
    lam = (2 * 0.16 / 999) / (2 * 0.3**2)
    assert np.allclose(shrunk[:, 2], [lam / 2 + (1 - lam) * 0.2, lam / 2 + (1 - lam) * 0.8])
    # Exclusivity ranks become topic 0: (2/3, 1, 1/3), topic 1: (2/3, 1/3, 1); frequency ranks as above.
    expected = np.array([
        [1 / (0.5 / 1 + 0.5 / (2 / 3)), 1 / (0.5 / (2 / 3) + 0.5 / 1), 1 / 3],  # 0.8, 0.8, 1/3
        [1 / (0.5 / 0.5 + 0.5 / (2 / 3)), 1 / (0.5 / 0.5 + 0.5 / (1 / 3)), 1.0],  # 4/7, 0.4, 1
    ])
    assert np.allclose(frex(BETA, 0.5, counts), expected)
    # A term's column that is already uniform stays; a count of 1 or less makes it uniform.
    assert np.allclose(exclusivity(np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([5, 5])), 0.5)
    assert np.allclose(exclusivity(BETA, np.array([1, 1, 1])), 0.5)


def test_lift_and_relevance_by_hand():
    assert np.allclose(lift(BETA, P_W)[0], [0.5 / 0.3, 0.3 / 0.2, 0.2 / 0.5])
    lam = 0.6
    expected = lam * np.log(0.5) + (1 - lam) * np.log(0.5 / 0.3)
    assert relevance(BETA, P_W, lam)[0, 0] == pytest.approx(expected)
    assert np.allclose(relevance(BETA, P_W, 1.0), np.log(BETA))


@given(arrays(np.float64, (6, 5), elements=st.floats(0.001, 1.0)))
def test_rounded_rows_sum_to_one(matrix):
    proportions = matrix / matrix.sum(axis=1, keepdims=True)
    rounded = tables.round_rows(proportions)
    assert np.allclose(rounded.sum(axis=1), 1.0, atol=1e-12)
    assert np.abs(rounded - proportions).max() <= 5e-6 + 1e-12
    text = pd.DataFrame(rounded).to_csv(index=False, float_format="%.6f")
    reread = pd.read_csv(pd.io.common.StringIO(text)).to_numpy()
    assert np.abs(reread.sum(axis=1) - 1).max() < 1e-6


def result_for(doc_topic: np.ndarray, vocabulary=("chip", "steel", "sme")) -> TopicModelResult:
    return TopicModelResult(
        name="m", backend="sklearn_nmf", k=doc_topic.shape[1], seed=1, vocabulary=list(vocabulary),
        topic_term=BETA, doc_topic=doc_topic, unit_ids=[f"u{i}" for i in range(len(doc_topic))], params={},
        fit_seconds=0.0, iterations=1, metrics={}, zero_rows=[], native=None,
    )


def units_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_id": ["a/p0", "a/p1", "b/p0"], "answer_id": ["a", "a", "b"], "conference_id": "c",
        "date": "2021-03-01", "year": 2021, "speaker": ["X", "X", "Y"], "role": "official",
        "position": "", "kind": "answer", "question_turn_id": ["q1", "q1", "q2"],
        "question_outlet": ["CCTV", "CCTV", "unknown"], "question_text": ["Why?", "Why?", "How?"],
        "text": ["one two three", "four five", "six"], "n_words": [3, 2, 1], "source_file": "f.txt",
        "line_start": [3, 5, 9], "line_end": [3, 6, 9],
    })


def test_answer_topics_are_token_weighted_means():
    doc_topic = np.array([[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]])
    result = result_for(doc_topic)
    units = units_frame()
    unit_table = tables.unit_topics(units, result, n_tokens=[30, 10, 5])
    answers = tables.answer_topics(unit_table, units, 2)
    assert list(answers.answer_id) == ["a", "b"]
    assert answers.topic_0.iloc[0] == pytest.approx((0.9 * 30 + 0.3 * 10) / 40)
    assert list(answers.n_units) == [2, 1] and list(answers.n_tokens) == [40, 5]
    assert answers.question_outlet.tolist() == ["CCTV", "unknown"]
    assert list(unit_table.dominant_topic) == [0, 1, 0]


def test_representative_passages_cite_their_lines():
    doc_topic = np.array([[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]])
    units = units_frame()
    unit_table = tables.unit_topics(units, result_for(doc_topic), n_tokens=[3, 2, 1])
    passages = tables.representative_passages(unit_table, units, 2, n=2)
    top = passages[passages.topic == 1]
    assert list(top.unit_id) == ["a/p1", "b/p0"]
    assert list(top.source) == ["f.txt:5-6", "f.txt:9-9"]


@given(st.lists(st.sampled_from([0.1, 0.5, 0.5, 0.9, np.nan]), min_size=1, max_size=40), st.integers(0, 6))
def test_representative_passages_are_the_top_shares_ties_by_id(shares, n):
    """Only the units tied with or above the n-th share are sorted: the same rows as sorting all."""
    ids = [f"u{i:02d}" for i in range(len(shares))][::-1]
    unit_table = pd.DataFrame({"unit_id": ids, "topic_0": shares, "speaker": "X", "date": "2021-03-01"})
    units = pd.DataFrame({"unit_id": ids, "source_file": "f.txt", "line_start": 1, "line_end": 1, "text": "t"})
    everything = unit_table.dropna(subset=["topic_0"]).sort_values(["topic_0", "unit_id"], ascending=[False, True])
    passages = tables.representative_passages(unit_table, units, 1, n)
    assert list(passages.unit_id) == list(everything.unit_id.head(n))
    assert list(passages["rank"]) == list(range(1, len(passages) + 1))


def test_topic_terms_order_and_markdown():
    result = result_for(np.array([[1.0, 0.0]]))
    terms = tables.topic_terms(result, P_W * 100, TablesConfig(top_n=2))
    assert terms[terms.topic == 0].term.tolist() == ["chip", "steel"]
    assert terms[terms.topic == 1].term.tolist() == ["sme", "chip"]  # tie chip/steel broken by term
    overview = tables.topics_overview(BETA, result.vocabulary, P_W * 100, {0: "T0: chip", 1: "Small firms"}, 0.5)
    markdown = tables.topics_markdown("m", "sklearn_nmf", 1, overview)
    assert "| Small firms | sme, chip, steel | sme, steel, chip |" in markdown
    assert markdown.startswith("Topics of model `m` (sklearn_nmf, k = 2, seed 1).")
