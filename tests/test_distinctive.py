"""Fightin' Words: Monroe, Colaresi & Quinn's equations by hand, planted overuse, the null
rate of |z| > 3, and strata that keep a conference's agenda out of a speaker's words."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from pipeline.config import CompareConfig
from pipeline.design import design_report
from pipeline.distinctive import (chance_of_distinctive, distinctive_words, log_odds, pooled_log_odds, prior_from,
                                  shuffled_labels)


def test_log_odds_equal_a_hand_computation_of_equations_16_to_22():
    counts_a, counts_b = np.array([10.0, 5.0, 0.0]), np.array([2.0, 8.0, 5.0])
    prior = prior_from(counts_a + counts_b, 6.0)
    assert prior.tolist() == pytest.approx([2.4, 2.6, 1.0])  # 6 x (12, 13, 5) / 30
    delta, variance = log_odds(counts_a, counts_b, prior)
    # Word 0: n_a = n_b = 15, alpha_0 = 6. Eq. 16: log[12.4 / (15 + 6 - 10 - 2.4)] - log[4.4 / (15 + 6 - 2 - 2.4)].
    assert delta[0] == pytest.approx(math.log(12.4 / 8.6) - math.log(4.4 / 16.6))
    assert variance[0] == pytest.approx(1 / 12.4 + 1 / 4.4)  # eq. 20
    # Word 2, unused by A: log[1 / (21 - 1)] - log[6 / (21 - 6)].
    assert delta[2] == pytest.approx(math.log(1 / 20) - math.log(6 / 15))
    *_, z = pooled_log_odds([(counts_a, counts_b, prior)])
    assert z[0] == pytest.approx(delta[0] / math.sqrt(variance[0]))  # eq. 22


def two_groups(rng: np.random.Generator, words: int, tokens: int, overused: int = 0, rate: float = 4.0,
               units: int = 40) -> tuple[pd.DataFrame, sp.csr_matrix]:
    base = rng.dirichlet(np.full(words, 3.0))
    boosted = base.copy()
    boosted[:overused] *= rate
    boosted /= boosted.sum()
    rows = [rng.multinomial(tokens // units, boosted if i < units else base) for i in range(2 * units)]
    table = pd.DataFrame({"speaker": ["A"] * units + ["B"] * units, "conference_id": "c1", "year": 2020,
                          "answer_id": [f"a{i}" for i in range(2 * units)], "kind": "answer",
                          "position": "", "question_outlet": ""})
    return table, sp.csr_matrix(np.array(rows, dtype=float))


def z_scores(table: pd.DataFrame, counts: sp.csr_matrix, words: int) -> pd.DataFrame:
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}})
    result = distinctive_words(table, counts, [f"w{i:04d}" for i in range(words)], design_report(table, cfg), 500.0,
                               {"overall": np.ones(len(table))})
    return result.set_index("term")


def test_planted_overused_words_come_first_with_z_above_3():
    rng = np.random.default_rng(1)
    table, counts = two_groups(rng, words=500, tokens=40_000, overused=5)
    z = z_scores(table, counts, 500)
    top = z.sort_values("z", ascending=False).index[:5]
    assert sorted(top) == [f"w{i:04d}" for i in range(5)]
    assert (z.loc[top, "z"] > 3).all()


def test_a_null_corpus_gives_z_beyond_3_for_about_0_3_percent_of_words():
    rng = np.random.default_rng(2)
    beyond = total = 0
    for _ in range(5):
        table, counts = two_groups(rng, words=2000, tokens=100_000)
        z = z_scores(table, counts, 2000).z
        beyond, total = beyond + int((z.abs() > 3).sum()), total + len(z)
    # Measured 0.23% (10,000 z-scores); a standard normal gives 0.27%.
    assert 0.0005 <= beyond / total <= 0.008, beyond / total


def test_strata_keep_a_conference_agenda_out_of_a_speakers_words():
    # Conference c1 is about "w0000" (everyone says it a lot there); A speaks mostly at c1.
    rng = np.random.default_rng(3)
    rows, meta = [], []
    for conference, n_a, n_b in (("c1", 30, 5), ("c2", 5, 30)):
        for speaker, n in (("A", n_a), ("B", n_b)):
            for _ in range(n):
                probs = np.full(200, 1.0)
                if conference == "c1":
                    probs[0] = 40.0
                rows.append(rng.multinomial(100, probs / probs.sum()))
                meta.append({"speaker": speaker, "conference_id": conference, "year": 2020, "kind": "answer",
                             "position": "", "question_outlet": ""})
    table = pd.DataFrame(meta).assign(answer_id=lambda t: [f"a{i}" for i in range(len(t))])
    counts = sp.csr_matrix(np.array(rows, dtype=float))
    stratified = z_scores(table, counts, 200).loc["w0000"]
    assert stratified.within == "conference_id" and stratified.n_strata == 2 and abs(stratified.z) < 2
    pooled_cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"], "within": "year"}})
    pooled = distinctive_words(table, counts, [f"w{i:04d}" for i in range(200)], design_report(table, pooled_cfg),
                               500.0, {"overall": np.ones(len(table))}).set_index("term").loc["w0000"]
    assert pooled.z > 5  # one stratum for all: c1's agenda reads as A's vocabulary


def overdispersed_null(rng: np.random.Generator, conferences: int = 4, answers: int = 12, paragraphs: int = 3,
                       words: int = 300) -> tuple[pd.DataFrame, sp.csr_matrix]:
    """Two officials with the same vocabulary at every conference; each conference has its
    agenda, each answer its own word rates (a Dirichlet around the agenda), split into paragraphs."""
    rows, meta = [], []
    for c in range(conferences):
        agenda = rng.dirichlet(np.full(words, 0.5))
        for a in range(answers):
            rates = rng.dirichlet(40 * agenda + 0.01)
            for _ in range(paragraphs):
                rows.append(rng.multinomial(40, rates))
                meta.append({"speaker": "AB"[a % 2], "conference_id": f"c{c}", "year": 2020, "kind": "answer",
                             "answer_id": f"c{c}a{a}", "position": "", "question_outlet": ""})
    return pd.DataFrame(meta), sp.csr_matrix(np.array(rows, dtype=float))


def chance(table: pd.DataFrame, counts: sp.csr_matrix, permutations: int = 200, seed: int = 0) -> pd.Series:
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}})
    design = design_report(table.drop_duplicates("answer_id"), cfg)  # the design is of answers, as in a run
    return chance_of_distinctive(table, counts, design, 500.0, permutations, 3.0, seed).iloc[0]


def test_shuffles_move_whole_answers_within_their_conference():
    table, _ = overdispersed_null(np.random.default_rng(4), conferences=3, answers=6)
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}})
    contrast = design_report(table.drop_duplicates("answer_id"), cfg).contrasts[0]
    in_a, in_b = shuffled_labels(table, contrast, 50, np.random.default_rng(0))
    assert (in_a ^ in_b).all()
    for labels in in_a:
        by_answer = pd.Series(labels).groupby(table.answer_id.to_numpy()).nunique()
        assert (by_answer == 1).all()  # an answer's paragraphs move together
        per_conference = pd.Series(labels).groupby(table.conference_id.to_numpy()).sum()
        assert (per_conference == 3 * 3).all()  # 3 answers of A, 3 paragraphs each, in every conference
    assert len({labels.tobytes() for labels in in_a}) > 40  # the shuffles differ


def test_the_permutation_null_holds_its_size_where_the_normal_rate_does_not():
    # Overdispersed answers (words come in bursts): under no difference between the officials,
    # far more than 0.27% of words pass |z| > 3. The permutation p of the count is uniform.
    rng = np.random.default_rng(5)
    results = [chance(*overdispersed_null(rng), permutations=100, seed=i) for i in range(60)]
    shares = np.array([r.observed / r.words for r in results])
    p = np.array([r.p for r in results])
    expected = np.array([r.share_expected for r in results])
    assert shares.mean() > 3 * 0.0027, shares.mean()  # the normal reference undercounts chance
    assert abs(expected.mean() - shares.mean()) < 0.35 * shares.mean()
    assert (p <= 0.05).mean() <= 0.12 and (p <= 0.2).mean() <= 0.3, p  # size, within the noise of 60 replicates


def test_planted_overuse_gives_a_count_beyond_chance():
    rng = np.random.default_rng(6)
    table, counts = overdispersed_null(rng, conferences=4, answers=12)
    boosted = counts.toarray()
    in_a = (table.speaker == "A").to_numpy()
    boosted[np.ix_(in_a, np.arange(10))] += rng.poisson(3.0, (int(in_a.sum()), 10))
    result = chance(table, sp.csr_matrix(boosted))
    assert result.observed >= 10 > result.expected and result.p < 0.01
