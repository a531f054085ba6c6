"""Emphasis estimates: interval coverage by simulation, permutation tests, and the tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.config import CompareConfig
from pipeline.emphasis import (
    bootstrap_means,
    check_contrasts,
    clusters,
    emphasis_tables,
    percentile_interval,
    permutation_pvalues,
)
from pipeline.errors import ConfigError

TRUE_A, TRUE_B = 0.35, 0.25


def simulate_group(rng: np.random.Generator, mean: float, n_answers: int = 30):
    """Paragraph shares of topic 0 with strong within-answer correlation.

    Each answer has its own share s ~ Beta with the group's mean (between-answer variation);
    its 1 + Poisson(3) paragraphs scatter tightly around s. So E[paragraph share] = mean and
    paragraphs of one answer are far from independent.
    """
    answer_share = rng.beta(mean * 8, (1 - mean) * 8, size=n_answers)
    sizes = 1 + rng.poisson(3, size=n_answers)
    answer_of = np.repeat(np.arange(n_answers), sizes)
    x = rng.beta(answer_share[answer_of] * 200, (1 - answer_share[answer_of]) * 200)
    return np.column_stack([x, 1 - x]), answer_of


def covers(a_shares, a_ids, b_shares, b_ids, rng, replicates=1000) -> bool:
    ones_a, ones_b = np.ones(len(a_ids)), np.ones(len(b_ids))
    a, b = clusters(a_shares, ones_a, a_ids.astype(str)), clusters(b_shares, ones_b, b_ids.astype(str))
    boot = bootstrap_means(a, replicates, rng) - bootstrap_means(b, replicates, rng)
    low, high = percentile_interval(boot, 0.95)
    return bool(low[0] <= TRUE_A - TRUE_B <= high[0])


def test_cluster_bootstrap_covers_and_naive_bootstrap_undercovers():
    rng = np.random.default_rng(2024)
    cluster_hits = naive_hits = 0
    simulations = 200
    for _ in range(simulations):
        a_shares, a_answers = simulate_group(rng, TRUE_A)
        b_shares, b_answers = simulate_group(rng, TRUE_B)
        cluster_hits += covers(a_shares, a_answers, b_shares, b_answers, rng)
        # Naive: every paragraph its own cluster, as if paragraphs were independent.
        naive_hits += covers(a_shares, np.arange(len(a_shares)), b_shares, np.arange(len(b_shares)), rng)
    cluster_coverage, naive_coverage = cluster_hits / simulations, naive_hits / simulations
    assert 0.90 <= cluster_coverage <= 0.99, cluster_coverage
    assert naive_coverage < 0.80, naive_coverage  # why we cluster: about 2/3 on this design


def test_permutation_pvalues_are_calibrated_under_the_null():
    rng = np.random.default_rng(7)
    rejections = 0
    for _ in range(200):
        a_shares, a_ids = simulate_group(rng, 0.3, n_answers=15)
        b_shares, b_ids = simulate_group(rng, 0.3, n_answers=15)
        a = clusters(a_shares, np.ones(len(a_ids)), a_ids.astype(str))
        b = clusters(b_shares, np.ones(len(b_ids)), b_ids.astype(str))
        rejections += permutation_pvalues(a, b, 200, rng)[0] < 0.05
    assert rejections / 200 <= 0.09


def test_permutation_detects_a_real_difference():
    rng = np.random.default_rng(8)
    a_shares, a_ids = simulate_group(rng, 0.6, n_answers=20)
    b_shares, b_ids = simulate_group(rng, 0.2, n_answers=20)
    a = clusters(a_shares, np.ones(len(a_ids)), a_ids.astype(str))
    b = clusters(b_shares, np.ones(len(b_ids)), b_ids.astype(str))
    p = permutation_pvalues(a, b, 500, rng)
    assert p[0] == pytest.approx(1 / 501) and p[1] == p[0]


def unit_table() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_id": [f"u{i}" for i in range(6)],
        "answer_id": ["a1", "a1", "a2", "b1", "b2", "b3"],
        "speaker": ["Xiao", "Xiao", "Xiao", "Tian", "Tian", "Tian"],
        "year": [2021, 2021, 2022, 2021, 2021, 2023],
        "n_tokens": [10, 30, 20, 10, 10, 10],
        "topic_0": [1.0, 0.0, 0.5, 0.2, 0.4, 0.6],
        "topic_1": [0.0, 1.0, 0.5, 0.8, 0.6, 0.4],
    })


def test_group_shares_by_hand():
    cfg = CompareConfig(bootstrap={"replicates": 200}, min_answers=3, by=("speaker", ("speaker", "year")))
    tables = emphasis_tables(unit_table(), 2, cfg, root_seed=1, model="m")
    by_speaker = tables["by_speaker"].set_index(["group", "topic"])
    assert by_speaker.loc[("Xiao", 0), "share"] == pytest.approx(0.5)  # mean of 1, 0, .5
    assert by_speaker.loc[("Tian", 0), "share"] == pytest.approx(0.4)
    assert by_speaker.loc[("Xiao", 0), "n_units"] == 3 and by_speaker.loc[("Xiao", 0), "n_answers"] == 2
    assert bool(by_speaker.loc[("Xiao", 0), "flagged"]) and not bool(by_speaker.loc[("Tian", 0), "flagged"])
    low, high = by_speaker.loc[("Tian", 0), ["ci_low", "ci_high"]]
    assert 0.2 <= low <= 0.4 <= high <= 0.6
    crossed = tables["by_speaker_year"]
    assert list(crossed.group.unique()) == ["Tian | 2021", "Tian | 2023", "Xiao | 2021", "Xiao | 2022"]
    weighted = emphasis_tables(unit_table(), 2, cfg.model_copy(update={"weight_by_tokens": True}), 1, "m")
    xiao = weighted["by_speaker"].set_index(["group", "topic"]).loc[("Xiao", 0), "share"]
    assert xiao == pytest.approx((10 * 1.0 + 30 * 0.0 + 20 * 0.5) / 60)
    assert tables["design_counts"].to_dict("records")[0] == {"speaker": "Tian", "year": 2021, "n_answers": 2, "n_units": 2}


def test_contrasts_table_and_reproducibility():
    cfg = CompareConfig(bootstrap={"replicates": 200}, permutations=200, contrasts={"x_vs_t": {"speaker": ["Xiao", "Tian"]}})
    first = emphasis_tables(unit_table(), 2, cfg, root_seed=1, model="m")["contrasts"]
    second = emphasis_tables(unit_table(), 2, cfg, root_seed=1, model="m")["contrasts"]
    assert first.equals(second)
    assert first["diff"].tolist() == pytest.approx([0.1, -0.1])
    assert (first.ci_low <= first["diff"]).all() and (first["diff"] <= first.ci_high).all()
    assert (first.q_bh >= first.p_perm).all() and first.group_a.tolist() == ["Xiao", "Xiao"]


def test_unknown_group_value_lists_the_known_ones():
    cfg = CompareConfig(contrasts={"x_vs_nobody": {"speaker": ["Xiao", "Nobody"]}})
    with pytest.raises(ConfigError, match=r"compare.contrasts.x_vs_nobody: speaker has no value 'Nobody' \(known: Tian, Xiao\)"):
        check_contrasts(unit_table(), cfg)
    check_contrasts(unit_table(), CompareConfig(contrasts={"years": {"year": [2021, 2023]}}))
