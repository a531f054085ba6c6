"""Emphasis on answers: size and coverage by simulation of designs real archives have (few
conferences, many answers each, agendas that differ), exact permutation p-values against a
hand enumeration, and the tables' honesty rules."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from pipeline.clustered import clustered_mean_interval
from pipeline.config import CompareConfig
from pipeline.design import design_report
from pipeline.emphasis import Block, contrasts, emphasis_tables, family_q, group_shares, permutation_test


def conference_answers(rng: np.random.Generator, sizes: dict[str, tuple[int, int]], effect: float,
                       conference_sd: float = 0.15) -> list[Block]:
    """Per conference, (answers by A, answers by B): each conference has its own agenda (a shift
    of every share there), A adds ``effect``; answer-level noise is heavy-tailed-ish (Beta)."""
    blocks = []
    for n_a, n_b in sizes.values():
        agenda = rng.normal(0, conference_sd)
        base = np.clip(0.3 + agenda, 0.05, 0.6)
        a = rng.beta(8 * (base + effect), 8 * (1 - base - effect), size=n_a)
        b = rng.beta(8 * base, 8 * (1 - base), size=n_b)
        shares = np.concatenate([a, b])[:, None]
        blocks.append(Block.of_answers(shares, np.ones(n_a + n_b), np.arange(n_a + n_b) < n_a))
    return blocks


def answer_rows(conference: str, year: int, speaker: str, shares: np.ndarray, start: int) -> list[dict]:
    return [{"answer_id": f"a{start + i}", "speaker": speaker, "position": "", "year": year,
             "conference_id": conference, "kind": "answer", "question_outlet": "", "n_tokens": 100,
             "topic_0": share, "topic_1": 1 - share} for i, share in enumerate(shares)]


def yearly_conferences(rng: np.random.Generator, per_year: int, answers_each: int, year_effect: float,
                       agenda_sd: float = 0.08, answer_sd: float = 0.10) -> pd.DataFrame:
    """One official answering at ``per_year`` conferences in 2021 and as many in 2023: each
    conference's agenda shifts all its answers (sd 0.08), answers vary around it (sd 0.10)."""
    rows: list[dict] = []
    for c in range(2 * per_year):
        year = 2021 if c < per_year else 2023
        mean = 0.3 + rng.normal(0, agenda_sd) + year_effect * (year == 2021)
        rows += answer_rows(f"c{c:02d}", year, "S", mean + rng.normal(0, answer_sd, answers_each), len(rows))
    return pd.DataFrame(rows)


YEAR_CONTRAST = CompareConfig(contrasts={"y": {"year": [2021, 2023], "within": "speaker"}}, permutations=500)


def year_contrasts(rng: np.random.Generator, replicates: int, per_year: int, answers_each: int,
                   year_effect: float, agenda_sd: float = 0.08) -> list[tuple[pd.DataFrame, pd.Series]]:
    """Replicates of one layout: the design depends on who answers where, not on the shares,
    so it is read once."""
    design = design_report(yearly_conferences(rng, per_year, answers_each, year_effect), YEAR_CONTRAST)
    result = []
    for _ in range(replicates):
        answers = yearly_conferences(rng, per_year, answers_each, year_effect, agenda_sd)
        result.append((answers, contrasts(answers, 2, design, YEAR_CONTRAST, int(rng.integers(2**31)), "m").iloc[0]))
    return result


def test_exact_permutation_p_equals_a_hand_enumeration():
    # One stratum, A = (0.10, 0.20), B = (0.30, 0.50, 0.40): C(5, 2) = 10 arrangements. By hand:
    # Welch t = (mean_A - mean_B) / sqrt(s2_A / n_A + s2_B / n_B) for every choice of two A's.
    values = np.array([0.10, 0.20, 0.30, 0.50, 0.40])
    block = Block.of_answers(values[:, None], np.ones(5), np.array([True, True, False, False, False]))

    def welch(chosen: tuple[int, ...]) -> float:
        a = values[list(chosen)]
        b = np.delete(values, list(chosen))
        return (a.mean() - b.mean()) / math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))

    observed = welch((0, 1))
    by_hand = sum(abs(welch(c)) >= abs(observed) - 1e-12 for c in itertools.combinations(range(5), 2)) / 10
    test = permutation_test([block], CompareConfig(), np.random.default_rng(0))
    assert test.t[0] == pytest.approx(observed)
    assert test.estimate[0] == pytest.approx(0.15 - 0.40)
    assert test.p[0] == pytest.approx(by_hand) and test.p[0] == pytest.approx(0.2)  # the two extreme arrangements
    assert test.method == "exact, 10 arrangements within blocks"
    # At 0.05, below 1 / 10 arrangements, no arrangement reaches the level: nothing is detectable.
    assert np.isinf(test.critical[0]) and np.isinf(test.detectable()[0])
    # At 0.2 the critical |t| is the 80th percentile of the ten |t| values; detectable = (critical + z_0.8) SE.
    every = [abs(welch(c)) for c in itertools.combinations(range(5), 2)]
    at_020 = permutation_test([block], CompareConfig(), np.random.default_rng(0), finding_p=0.2)
    assert at_020.critical[0] == pytest.approx(np.quantile(every, 0.8))
    assert at_020.detectable()[0] == pytest.approx((np.quantile(every, 0.8) + 0.8416212) * test.se[0])
    # The interval: estimate +- the 95th percentile of |t| times the standard error.
    assert test.interval_critical[0] == pytest.approx(np.quantile(every, 0.95))


def test_two_strata_enumerate_the_product_of_their_arrangements():
    rng = np.random.default_rng(3)
    blocks = conference_answers(rng, {"c1": (2, 3), "c2": (3, 2)}, effect=0.0)
    test = permutation_test(blocks, CompareConfig(), rng)
    assert test.method == "exact, 100 arrangements within blocks"  # C(5,2) * C(5,3)
    assert 0.01 <= test.p[0] <= 1.0 and test.p[0] * 100 == pytest.approx(round(test.p[0] * 100))


def test_restricted_permutation_holds_its_size_where_conferences_confound_the_groups():
    # A answers mostly at conferences with a high agenda, B at low ones: pooling every answer
    # would read the agenda as A's emphasis. Within conferences the test keeps its level.
    rng = np.random.default_rng(11)
    cfg = CompareConfig(permutations=400, exact_limit=5000)
    rejections, pooled_rejections, replicates = 0, 0, 400
    for _ in range(replicates):
        blocks = []
        for agenda, (n_a, n_b) in ((0.3, (5, 2)), (-0.2, (2, 5)), (0.0, (3, 3))):
            base = 0.35 + agenda
            shares = rng.beta(8 * base, 8 * (1 - base), size=n_a + n_b)[:, None]
            blocks.append(Block.of_answers(shares, np.ones(n_a + n_b), np.arange(n_a + n_b) < n_a))
        rejections += permutation_test(blocks, cfg, rng).p[0] < 0.05
        pooled = Block.of_answers(np.vstack([b.strata[0].shares for b in blocks]), np.ones(20),
                                  np.concatenate([b.in_a for b in blocks]))
        pooled_rejections += permutation_test([pooled], cfg, rng).p[0] < 0.05
    size, pooled_size = rejections / replicates, pooled_rejections / replicates
    # Measured: 0.0475 within conferences; 0.1025, twice the level, when answers are pooled.
    assert 0.03 <= size <= 0.07, size
    assert pooled_size > 0.075, pooled_size


def test_restricted_permutation_finds_a_real_difference():
    rng = np.random.default_rng(8)
    blocks = conference_answers(rng, {f"c{i}": (6, 6) for i in range(4)}, effect=0.25)
    test = permutation_test(blocks, CompareConfig(permutations=2000), rng)
    assert test.method.startswith("Monte Carlo, 2000 of")
    assert test.p[0] < 0.01


@pytest.mark.parametrize("agenda_sd", [0.08, 0.0])
def test_a_year_contrast_permutes_whole_conferences_and_keeps_its_size(agenda_sd):
    # Year is constant within a conference: shuffling answers between years reads the agenda of
    # each conference as a year effect (0.21 to 0.27 of replicates rejected at 0.05 before); the
    # test by conferences keeps its size with agendas and without them.
    rng = np.random.default_rng(2025)
    replicates, rejected, answer_level = 400, 0, 0
    for answers, row in year_contrasts(rng, replicates, per_year=6, answers_each=5, year_effect=0.0,
                                       agenda_sd=agenda_sd):
        assert row.unit == "conference" and row.p_method == "exact, 924 arrangements within blocks (conferences exchanged)"
        rejected += row.p < 0.05
        shares = answers.topic_0.to_numpy()[:, None]
        shuffled = Block.of_answers(shares, np.ones(len(answers)), (answers.year == 2021).to_numpy())
        answer_level += permutation_test([shuffled], YEAR_CONTRAST, rng).p[0] < 0.05
    # Measured with agendas: 0.045 by conferences (binomial sd 0.011), 0.24 with answers
    # shuffled; without agendas 0.0425 and 0.0375: both hold their size.
    assert 0.03 <= rejected / replicates <= 0.07, rejected / replicates
    if agenda_sd:
        assert answer_level / replicates > 0.15, answer_level / replicates


def test_a_year_contrast_of_four_conferences_a_side_rejects_at_its_attainable_level():
    # 4 vs 4 conferences: 70 arrangements, mirrored in pairs, so p is a multiple of 2/70 and a
    # test at 0.05 rejects only at p = 2/70: its exact size is 2/70 = 0.029 under the null.
    rng = np.random.default_rng(7)
    replicates = 400
    rejected = sum(row.p < 0.05 for _, row in year_contrasts(rng, replicates, 4, 5, 0.0))
    bound = 3 * math.sqrt(2 / 70 * (1 - 2 / 70) / replicates)  # three binomial sd; measured 0.035
    assert abs(rejected / replicates - 2 / 70) <= bound, rejected / replicates


def test_contrast_intervals_cover_at_their_level_within_and_between_conferences():
    rng = np.random.default_rng(2026)
    cfg = CompareConfig(permutations=500)
    # Speakers within 4 conferences, 6 answers a side in each, A 0.1 above B (a Beta(8m, 8(1 - m))
    # share has mean m); the interval is estimate +- the permutation quantile of |t| times se.
    replicates, hits = 800, 0
    for _ in range(replicates):
        test = permutation_test(conference_answers(rng, {f"c{i}": (6, 6) for i in range(4)}, effect=0.1), cfg, rng)
        hits += abs(test.estimate[0] - 0.1) <= test.interval_critical[0] * test.se[0]
    # Measured 0.95 here, 0.952 over 2000 replicates of another stream (bootstrap-t before: 0.943).
    assert 0.93 <= hits / replicates <= 0.97, hits / replicates
    # A year contrast of 6 vs 6 conferences, 2021 0.1 above 2023, through the contrasts table.
    replicates = 400
    hits = sum(row.ci_low <= 0.1 <= row.ci_high for _, row in year_contrasts(rng, replicates, 6, 5, 0.1))
    # Measured 0.9325 here, 0.9475 over 2000 replicates of another stream.
    assert 0.93 <= hits / replicates <= 0.97, hits / replicates


def one_group(rng: np.random.Generator, conferences: int, answers_each: int, agenda_sd: float = 0.08,
              answer_sd: float = 0.10) -> pd.DataFrame:
    rows: list[dict] = []
    for c in range(conferences):
        mean = 0.3 + rng.normal(0, agenda_sd)
        rows += answer_rows(f"c{c:02d}", 2021, "S", mean + rng.normal(0, answer_sd, answers_each), len(rows))
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("conferences", "answers_each"), [(3, 5), (6, 5), (5, 1), (9, 1), (20, 1), (4, 12)])
def test_group_share_intervals_cover_over_conferences(conferences, answers_each):
    # The designs: BCa over answers covered 0.77 (3 x 5), 0.78 (6 x 5), 0.80 (5 independent
    # answers), 0.89 (9), 0.91 (20). The target is the group's share over conferences like these.
    # group_shares' interval (clustered_mean_interval) on arrays, 600 replicates.
    rng = np.random.default_rng(conferences * 100 + answers_each)
    clusters = np.repeat(np.arange(conferences), answers_each)
    replicates, hits = 600, 0
    for _ in range(replicates):
        shares = 0.3 + np.repeat(rng.normal(0, 0.08, conferences), answers_each) + rng.normal(0, 0.10, len(clusters))
        low, high, _ = clustered_mean_interval(shares[:, None], np.ones(len(clusters)), clusters, 0.95)
        hits += low[0] <= 0.3 <= high[0]
    # Measured 0.935 to 0.960 over these designs (binomial sd 0.009).
    assert 0.93 <= hits / replicates <= 0.97, hits / replicates


def test_group_interval_with_one_answer_per_conference_equals_a_hand_computation():
    # One answer per conference: CR2 is HC2, s^2 / n, with n - 1 df (Bell & McCaffrey 2002); the
    # interval is the delta-method t interval of logit(mean), mapped back.
    from scipy.special import expit, logit
    from scipy.stats import t

    values = np.array([0.12, 0.30, 0.25, 0.41, 0.18, 0.22])
    answers = pd.DataFrame(answer_rows("c0", 2021, "S", values, 0)).assign(conference_id=[f"c{i}" for i in range(6)])
    row = group_shares(answers, ["speaker"], 2, CompareConfig()).iloc[0]
    mean, se = values.mean(), values.std(ddof=1) / math.sqrt(6)
    half = t.ppf(0.975, 5) * se / (mean * (1 - mean))
    assert (row.ci_low, row.ci_high) == pytest.approx((expit(logit(mean) - half), expit(logit(mean) + half)))


def test_a_group_from_one_conference_gets_no_interval():
    # 12 answers at one conference: BCa covered the year's share 0.56 of the time; the agenda of
    # that conference cannot be told apart from the group's emphasis.
    row = group_shares(one_group(np.random.default_rng(0), 1, 12), ["speaker"], 2, CompareConfig()).iloc[0]
    assert np.isnan(row.ci_low) and row.flagged and row.interval.startswith("none: 1 conference, fewer than 3")


def test_detectable_difference_and_testability_are_on_the_scale_of_the_finding():
    # 9 vs 3 answers at one conference (220 arrangements) and a year contrast of 1 vs 1
    # conference, 8 topics in each of two models: a family of 32 tests.
    rng = np.random.default_rng(1)
    rows = answer_rows("c1", 2021, "X", rng.uniform(0.1, 0.5, 9), 0) + answer_rows("c1", 2021, "T", rng.uniform(
        0.1, 0.5, 3), 9) + answer_rows("c2", 2023, "T", [0.3], 12)
    answers = pd.DataFrame(rows)
    cfg = CompareConfig(contrasts={"x": {"speaker": ["X", "T"]}, "y": {"year": [2021, 2023], "within": "speaker"}})
    x, y = design_report(answers, cfg, tests_each=16).contrasts
    c_m = sum(1 / i for i in range(1, 33))
    assert x.finding_p == pytest.approx(0.05 / (32 * c_m))  # a single finding among 32 by BY
    # Best case: all 16 tests of x at p = 1/220, those of y at 1: q = 32 c(32) (1/220) / 16.
    assert x.best_q == pytest.approx(32 * c_m / 220 / 16) and not x.untestable
    assert y.arrangements == 2 and "q can never be below 1" in y.untestable
    row = contrasts(answers, 2, design_report(answers, cfg, tests_each=16), cfg, 1, "m").iloc[0]
    # The smallest p (1/220) is above what a finding needs (0.00038): no difference is detectable.
    assert row.smallest_p > row.finding_p and np.isnan(row.detectable)
    # With one test in the family, a finding needs p < 0.05, and the detectable difference is a share.
    alone = design_report(answers, CompareConfig(contrasts={"x": {"speaker": ["X", "T"]}}), tests_each=1)
    row = contrasts(answers, 2, alone, cfg, 1, "m").iloc[0]
    assert 0 < row.detectable <= 1


def answers_table(rows: list[tuple[str, str, int, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame([{
        "answer_id": f"a{i}", "speaker": speaker, "position": "Official", "conference_id": conference, "year": year,
        "kind": kind, "question_outlet": "", "n_tokens": tokens, "topic_0": share, "topic_1": 1 - share,
    } for i, (speaker, conference, year, kind, tokens, share) in enumerate(rows)])


def test_groups_below_min_answers_get_no_interval_and_the_weight_changes_the_estimand():
    rows = [("Xiao", f"c{1 + i % 3}", 2021, "answer", 100 + 50 * i, 0.2 + 0.05 * i) for i in range(6)]
    rows += [("Tian", "c1", 2021, "answer", 100, 0.5), ("Tian", "c1", 2021, "answer", 300, 0.7),
             ("Xiao", "c1", 2021, "statement", 900, 0.9)]
    answers = answers_table(rows)
    cfg = CompareConfig(min_answers=5)
    table = group_shares(answers[answers.kind == "answer"], ["speaker"], 2, cfg)
    xiao, tian = table[(table.group == "Xiao") & (table.topic == 0)].iloc[0], table[
        (table.group == "Tian") & (table.topic == 0)].iloc[0]
    assert xiao.share == pytest.approx(np.mean([0.2 + 0.05 * i for i in range(6)]))
    assert xiao.ci_low < xiao.share < xiao.ci_high and xiao.n_conferences == 3
    assert xiao.interval == "95% interval over conferences (CR2, Satterthwaite t, logit scale)"
    assert np.isnan(tian.ci_low) and np.isnan(tian.ci_high) and tian.interval == "none: 2 answers, fewer than 5"
    by_tokens = group_shares(answers[answers.kind == "answer"], ["speaker"], 2,
                             cfg.model_copy(update={"weight": "tokens"}))
    assert by_tokens[(by_tokens.group == "Tian") & (by_tokens.topic == 0)].share.iloc[0] == pytest.approx(0.65)


def test_statements_are_not_compared_unless_the_config_says_so():
    rows = [("Xiao", "c1", 2021, "answer", 100, 0.2), ("Xiao", "c1", 2021, "answer", 100, 0.3),
            ("Tian", "c1", 2021, "answer", 100, 0.4), ("Xiao", "c1", 2021, "statement", 100, 0.9)]
    answers = answers_table(rows)
    cfg = CompareConfig(by=("speaker",), contrasts={"x": {"speaker": ["Xiao", "Tian"]}})
    tables = emphasis_tables(answers, 2, design_report(answers, cfg), cfg, 1, "m")
    assert tables["by_speaker"].set_index(["group", "topic"]).loc[("Xiao", 0), "share"] == pytest.approx(0.25)
    assert tables["contrasts"].estimate.iloc[0] == pytest.approx(0.25 - 0.4)
    mixed = cfg.model_copy(update={"kinds": ("statement", "answer")})
    tables = emphasis_tables(answers, 2, design_report(answers, mixed), mixed, 1, "m")
    assert tables["by_speaker"].set_index(["group", "topic"]).loc[("Xiao", 0), "share"] == pytest.approx(
        (0.2 + 0.3 + 0.9) / 3)


def test_q_values_are_adjusted_over_the_whole_family_of_models_and_contrasts():
    first = pd.DataFrame({"p": [0.001, 0.02, 0.04, np.nan]})
    second = pd.DataFrame({"p": [0.01, 0.5]})
    by, bh = family_q([first, second], "by"), family_q([first, second], "bh")
    every_p = np.array([0.001, 0.02, 0.04, 0.01, 0.5])
    assert np.allclose(np.concatenate([by[0].q[:3], by[1].q]), false_discovery_control(every_p, method="by"))
    assert np.isnan(by[0].q.iloc[3])
    assert (np.concatenate([by[0].q[:3], by[1].q]) >= np.concatenate([bh[0].q[:3], bh[1].q])).all()
