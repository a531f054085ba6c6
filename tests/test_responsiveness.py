"""Responsiveness against its chance baseline: the other questions of a conference by hand,
and the coverage of the gain's interval over conferences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.clustered import clustered_difference_interval
from pipeline.config import CompareConfig
from pipeline.responsiveness import answer_responsiveness, js_divergence, summaries


def test_the_baseline_is_the_mean_divergence_from_the_other_questions_of_the_conference():
    questions = pd.DataFrame([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.9, 0.1]], index=["q1", "q2", "q3", "q4"],
                             columns=["topic_0", "topic_1"])
    answers = pd.DataFrame({
        "answer_id": ["a1", "a2", "a3", "a4", "a5"], "question_turn_id": ["q1", "q2", "q3", "q1", "q4"],
        "speaker": "S", "year": 2021, "conference_id": ["c1", "c1", "c1", "c1", "c2"], "question_outlet": "",
        "topic_0": [0.8, 0.3, 0.6, 0.9, 0.7], "topic_1": [0.2, 0.7, 0.4, 0.1, 0.3]})
    table = answer_responsiveness(answers, questions, 2).set_index("answer_id")
    answer = lambda i: answers.loc[[i], ["topic_0", "topic_1"]].to_numpy()  # noqa: E731
    question = lambda q: questions.loc[[q]].to_numpy()  # noqa: E731
    # a1 (asked q1 at c1, where q1, q2 and q3 were asked): the others are q2 and q3; a4 asked q1
    # again, which is no other question.
    expected = (js_divergence(question("q2"), answer(0)) + js_divergence(question("q3"), answer(0)))[0] / 2
    assert table.loc["a1", "js_other_questions"] == pytest.approx(expected)
    assert table.loc["a1", "n_other_questions"] == 2
    assert table.loc["a1", "js_gain"] == pytest.approx(expected - js_divergence(question("q1"), answer(0))[0])
    assert table.loc["a4", "n_other_questions"] == 2
    assert np.isnan(table.loc["a5", "js_other_questions"]) and table.loc["a5", "n_other_questions"] == 0
    assert table.js_reinferred.isna().all()
    summary = summaries(table.reset_index().assign(all="all"), ("all",), CompareConfig())
    gain = summary.set_index("measure").loc["js_gain"]
    assert gain.n_answers == 4 and gain.n_conferences == 1  # a5 has no baseline
    assert gain.interval.startswith("none: 4 answers")
    assert gain["mean"] == pytest.approx(table.js_gain.dropna().mean())


@pytest.mark.parametrize("conferences,answers_each", [(3, 10), (5, 8), (8, 4)])
def test_the_gain_interval_covers_over_conferences(conferences, answers_each):
    # Gains of either sign around a true mean 0.05, each conference with its own shift (its
    # agenda makes its questions alike or not) and answers noisy around it: 600 replicates.
    rng = np.random.default_rng(conferences * 10 + answers_each)
    clusters = np.repeat(np.arange(conferences), answers_each)
    hits = 0
    for _ in range(600):
        gains = 0.05 + np.repeat(rng.normal(0, 0.06, conferences), answers_each) + rng.normal(0, 0.12, len(clusters))
        low, high, _ = clustered_difference_interval(gains[:, None], np.ones(len(clusters)), clusters, 0.95)
        hits += low[0] <= 0.05 <= high[0]
    # Measured 0.933 (3 x 10), 0.952 (5 x 8), 0.950 (8 x 4) (binomial sd 0.009).
    assert 0.92 <= hits / 600 <= 0.97, hits / 600


def test_the_gain_interval_is_named_as_a_difference_not_on_the_logit_scale():
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"all": "all", "conference_id": np.repeat([f"c{i}" for i in range(4)], 6),
                          "js_divergence": rng.uniform(0.1, 0.3, 24), "js_other_questions": rng.uniform(0.2, 0.4, 24),
                          "share_on_question_topic": rng.uniform(0.2, 0.6, 24)})
    table["js_gain"] = table.js_other_questions - table.js_divergence
    rows = summaries(table, ("all",), CompareConfig()).set_index("measure")
    assert rows.loc["js_gain", "interval"] == "95% interval over conferences (CR2, Satterthwaite t)"
    assert rows.loc["js_divergence", "interval"].endswith("logit scale)")
    low, high, _ = clustered_difference_interval(table[["js_gain"]].to_numpy(), np.ones(24),
                                                 table.conference_id.to_numpy(), 0.95)
    assert (rows.loc["js_gain", "ci_low"], rows.loc["js_gain", "ci_high"]) == pytest.approx((low[0], high[0]))


def test_answers_without_a_known_question_are_left_out_with_their_reason():
    from pipeline.report import left_out_phrase
    from pipeline.responsiveness import NO_QUESTION, UNKNOWN_QUESTION, left_out

    questions = pd.DataFrame([[1.0, 0.0]], index=["q1"], columns=["topic_0", "topic_1"])
    answers = pd.DataFrame({
        "answer_id": ["a1", "a2", "a3"], "question_turn_id": ["q1", "q9", ""], "speaker": ["S", "S", "T"],
        "year": 2021, "conference_id": "c1", "question_outlet": "", "topic_0": 0.5, "topic_1": 0.5})
    assert answer_responsiveness(answers, questions, 2).answer_id.tolist() == ["a1"]
    out = left_out(answers, questions)
    assert out.to_dict("records") == [{"answer_id": "a2", "speaker": "S", "reason": UNKNOWN_QUESTION},
                                      {"answer_id": "a3", "speaker": "T", "reason": NO_QUESTION}]
    phrase = left_out_phrase(out.to_dict("records"))
    assert f"1 answer of S ({UNKNOWN_QUESTION})" in phrase and f"1 answer of T ({NO_QUESTION})" in phrase
    assert left_out_phrase([]) == ""
