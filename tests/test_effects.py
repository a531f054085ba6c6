"""The joint model of emphasis on planted designs: confounded speaker and year, interval
coverage with clustered answers, and the composition of topic-model draws."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

from pipeline.config import CompareConfig
from pipeline.design import design_report
from pipeline.effects import CR2Contrast, answer_draws, joint_effects

YEARS = (2019, 2020, 2021)


def planted_answers(rng: np.random.Generator, year_effect: float, speaker_effect: float,
                    confounded: bool = True) -> pd.DataFrame:
    """30 conferences, 10 a year. Confounded: A speaks in 2019-2020, B in 2020-2021, C every
    year; else all three every year (2 to 4 answers each per conference). Topic 0's share: 0.3,
    plus ``year_effect`` in 2021, plus ``speaker_effect`` for A, plus the conference's agenda
    (sd 0.05), plus answer noise (sd 0.08)."""
    rows = []
    spans = (("A", YEARS[:2]), ("B", YEARS[1:]), ("C", YEARS)) if confounded else [(s, YEARS) for s in "ABC"]
    for conference in range(30):
        year = YEARS[conference // 10]
        agenda = rng.normal(0, 0.05)
        for speaker, years in spans:
            if year not in years:
                continue
            for _ in range(rng.integers(2, 5)):
                mean = 0.3 + year_effect * (year == 2021) + speaker_effect * (speaker == "A") + agenda
                share = float(np.clip(rng.normal(mean, 0.08), 0.01, 0.99))
                rows.append({"answer_id": f"a{len(rows)}", "speaker": speaker, "position": "", "year": year,
                             "conference_id": f"c{conference:02d}", "kind": "answer", "question_outlet": "",
                             "n_tokens": 100, "topic_0": share, "topic_1": 1 - share})
    return pd.DataFrame(rows)


def effect_rows(answers: pd.DataFrame, rng: np.random.Generator, draws: np.ndarray | None = None,
                **settings) -> pd.DataFrame:
    if draws is None:
        draws = answers[["topic_0", "topic_1"]].to_numpy()[None]
    # 1000 pooled draws, as the defaults give (50 mixture draws x 20 coefficient draws).
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}, "y21_vs_19": {"year": [2021, 2019]}},
                        coefficient_draws=1000 // len(draws), **settings)
    table = joint_effects(answers, draws, design_report(answers, cfg), pd.DataFrame(columns=["contrast"]), cfg, rng,
                          "m")
    return table[table.topic == 0].set_index("contrast")


def test_the_joint_model_gives_a_year_effect_to_year_not_to_the_speakers_of_that_year():
    rng = np.random.default_rng(10)
    replicates, speaker_covers_zero, year_covers_truth, marginal_covers_zero = 200, 0, 0, 0
    for _ in range(replicates):
        answers = planted_answers(rng, year_effect=0.12, speaker_effect=0.0)
        effects = effect_rows(answers, rng)
        a_vs_b, year = effects.loc["a_vs_b"], effects.loc["y21_vs_19"]
        speaker_covers_zero += a_vs_b.ci_low <= 0 <= a_vs_b.ci_high
        year_covers_truth += year.ci_low <= 0.12 <= year.ci_high
        # Today's marginal comparison: A's answers against B's, year ignored.
        a, b = (answers[answers.speaker == s].topic_0 for s in ("A", "B"))
        half_width = 1.96 * np.sqrt(a.var() / len(a) + b.var() / len(b))
        marginal_covers_zero += abs(a.mean() - b.mean()) <= half_width
    assert effects.loc["a_vs_b"].method.startswith("composition: 1 mixture draws x 1000 coefficient draws, errors "
                                                   "clustered by conference (CR2, 30 conferences, t with ")
    # This stream of 200: 0.945 of speaker intervals cover zero, 0.95 of year intervals cover
    # 0.12, and the marginal comparison covers zero in 0.115 (it reads the 2021 rise as B's).
    # Over 2000 replicates of two other streams: 0.9485 and 0.947. About 10 conferences link A
    # and B, and the Satterthwaite df (about 18, not 29) say so: with t(G - 1) the speaker
    # coverage was 0.933 over 1000.
    assert speaker_covers_zero / replicates >= 0.93, speaker_covers_zero
    assert year_covers_truth / replicates >= 0.93, year_covers_truth
    assert marginal_covers_zero / replicates <= 0.2, marginal_covers_zero


def analytic_interval(answers: pd.DataFrame, level: float = 0.95) -> tuple[float, float]:
    """A - B's CR2 interval with Satterthwaite df, computed directly (the interval the joint
    model's coefficient draws approximate)."""
    import statsmodels.api as sm
    from scipy.stats import t as student_t

    exog = pd.get_dummies(answers[["speaker", "year"]].astype(str), drop_first=True).assign(c=1.0).to_numpy(float)
    fit = sm.OLS(answers.topic_0.to_numpy(), exog).fit()
    cr2 = CR2Contrast.of(fit.model.wexog, answers.conference_id.to_numpy(), np.array([-1.0, 0, 0, 0, 0]))
    half = student_t.ppf((1 + level) / 2, cr2.df) * np.sqrt(cr2.variance(fit.wresid))
    return float(-fit.params[0] - half), float(-fit.params[0] + half)


def test_effect_intervals_cover_a_planted_speaker_effect_at_their_level():
    rng = np.random.default_rng(20)
    replicates, hits = 1000, 0
    for _ in range(replicates):
        low, high = analytic_interval(planted_answers(rng, year_effect=0.05, speaker_effect=0.08, confounded=False))
        hits += low <= 0.08 <= high
    # Measured 0.963 (Monte Carlo standard error 0.006 at 1000 replicates); through
    # joint_effects, with its 1000 coefficient draws, 0.942 over 2000 replicates of other streams.
    assert 0.93 <= hits / replicates <= 0.97, hits / replicates
    # The joint model's interval is this one, up to the Monte Carlo error of its draws.
    for _ in range(5):
        answers = planted_answers(rng, year_effect=0.05, speaker_effect=0.08, confounded=False)
        a_vs_b, (low, high) = effect_rows(answers, rng).loc["a_vs_b"], analytic_interval(answers)
        assert (a_vs_b.ci_low, a_vs_b.ci_high) == pytest.approx((low, high), abs=0.1 * (high - low))


def test_cr2_is_hc2_for_singletons_and_its_degrees_of_freedom_are_the_hand_computed_ones():
    import statsmodels.api as sm

    rng = np.random.default_rng(25)
    x = sm.add_constant(rng.normal(size=(30, 2)))
    fit = sm.WLS(x @ [1.0, 2.0, 3.0] + rng.normal(size=30), x, weights=rng.uniform(0.5, 2, 30)).fit()
    contrast = np.array([0.0, 1.0, -1.0])
    hc2 = fit.get_robustcov_results("HC2").cov_params()
    assert CR2Contrast.of(fit.model.wexog, np.arange(30), contrast).variance(fit.wresid) == pytest.approx(
        contrast @ hc2 @ contrast)
    # An intercept alone: P = c (I - J/G) for G equal clusters, so tr(P)^2 / sum(P^2) = G - 1;
    # singletons give n - 1, the one-sample t.
    ones, one = np.ones((24, 1)), np.array([1.0])
    assert CR2Contrast.of(ones, np.repeat(np.arange(6), 4), one).df == pytest.approx(5)
    assert CR2Contrast.of(ones, np.arange(24), one).df == pytest.approx(23)
    # The confounded design: only the conferences both speakers share inform A - B, so fewer df
    # than its 30 conferences.
    answers = planted_answers(rng, 0.0, 0.0)
    matrix = pd.get_dummies(answers[["speaker", "year"]].astype(str), drop_first=True).assign(c=1.0).to_numpy(float)
    speaker_b = np.array([-1.0, 0, 0, 0, 0])
    assert 10 < CR2Contrast.of(matrix, answers.conference_id.to_numpy(), speaker_b).df < 25


def test_composition_widens_the_interval_by_the_topic_models_uncertainty():
    rng = np.random.default_rng(30)
    answers = planted_answers(rng, year_effect=0.0, speaker_effect=0.1)
    shares = answers[["topic_0", "topic_1"]].to_numpy()
    draws = np.array([[rng.dirichlet(20 * row) for row in shares] for _ in range(20)])
    fixed, composed = effect_rows(answers, rng).loc["a_vs_b"], effect_rows(answers, rng, draws).loc["a_vs_b"]
    assert composed.ci_high - composed.ci_low > 1.2 * (fixed.ci_high - fixed.ci_low)
    assert abs(composed.estimate - fixed.estimate) < 0.03


def test_answer_draws_are_token_weighted_means_of_unit_draws():
    unit_draws = np.array([[[0.2, 0.8], [0.6, 0.4], [1.0, 0.0]]])
    result = answer_draws(unit_draws, pd.Series(["x", "x", "y"]), np.array([1.0, 3.0, 5.0]), pd.Series(["y", "x"]))
    assert np.allclose(result[0], [[1.0, 0.0], [0.5, 0.5]])  # x: (0.2 + 3 * 0.6) / 4 = 0.5


def test_few_conferences_give_no_interval_and_the_restricted_permutation_p():
    rng = np.random.default_rng(40)
    answers = planted_answers(rng, 0.0, 0.0)
    answers = answers[answers.conference_id.isin(["c10", "c11", "c12"])].reset_index(drop=True)
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}})
    stratified = pd.DataFrame({"contrast": "a_vs_b", "topic": [0, 1], "p": [0.31, 0.31]})
    table = joint_effects(answers, answers[["topic_0", "topic_1"]].to_numpy()[None], design_report(answers, cfg),
                          stratified, cfg, rng, "m")
    assert table.ci_low.isna().all() and table.p.tolist() == [0.31, 0.31]
    assert table.method.iloc[0].startswith("randomisation within conference_id (the p of contrasts.csv): 3 "
                                           "conferences, fewer than 20")


def test_the_formula_takes_further_covariates_and_unknown_names_are_config_errors():
    from pipeline.effects import check_formula, design_matrix
    from pipeline.errors import ConfigError

    rng = np.random.default_rng(50)
    answers = planted_answers(rng, 0.0, 0.0).assign(venue=lambda a: np.where(a.index % 2, "Beijing", "Shanghai"))
    matrix, _ = design_matrix(answers, "C(speaker) + C(year) + C(venue)")
    assert "C(venue)[T.Shanghai]" in matrix.columns and "topic_0" not in matrix.columns
    effects = effect_rows(answers, rng, formula="C(speaker) + C(year) + C(venue)")
    assert effects.loc["a_vs_b"].formula == "C(speaker) + C(year) + C(venue)"
    check_formula("C(speaker) + C(venue)", extra=("venue",))
    with pytest.raises(ConfigError, match=r"compare.formula 'C\(speaker\) \+ C\(venue\)'.*\(columns: speaker, year, "
                                          r"position, conference_id, question_outlet\)"):
        check_formula("C(speaker) + C(venue)")


def test_holding_the_question_fixed_separates_what_was_asked_from_what_was_said():
    # A is asked about topic 0 more often, and answers follow questions; no speaker effect beyond that.
    rng = np.random.default_rng(60)
    answers = planted_answers(rng, 0.0, 0.0, confounded=False)
    asked = np.clip(rng.normal(0.3 + 0.2 * (answers.speaker == "A"), 0.1), 0.01, 0.99)
    share = np.clip(0.1 + 0.8 * asked + rng.normal(0, 0.05, len(answers)), 0.01, 0.99)
    answers = answers.assign(topic_0=share, topic_1=1 - share)
    questions = np.column_stack([asked, 1 - asked])
    marginal = effect_rows(answers, rng).loc["a_vs_b"]
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}}, coefficient_draws=1000, hold_question=True)
    held = joint_effects(answers, answers[["topic_0", "topic_1"]].to_numpy()[None], design_report(answers, cfg),
                         pd.DataFrame(columns=["contrast"]), cfg, rng, "m", questions)
    held = held[held.topic == 0].iloc[0]
    assert marginal.ci_low > 0.1  # A seems to emphasise topic 0 ...
    assert held.ci_low < 0 < held.ci_high and abs(held.estimate) < 0.03  # ... because A is asked about it
    assert held.formula.endswith("+ the question's share of the topic")
