"""The joint model of emphasis on planted designs: confounded speaker and year, officials who
attend the conferences of their own portfolio, interval coverage with clustered answers, and
Rubin's rules over topic-model draws (posterior draws and subsample refits)."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

from pipeline.config import CompareConfig
from pipeline.design import design_report
from pipeline.clustered import CR2Contrast
from pipeline.effects import MixtureDraws, _pooled, answer_draws, barnard_rubin_df, joint_effects

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


def reported(answers: pd.DataFrame, draws: np.ndarray | None = None) -> MixtureDraws:
    """The answers' own shares as the reported mixtures, with posterior ``draws`` (none by default)."""
    shares = answers[["topic_0", "topic_1"]].to_numpy()
    return MixtureDraws(shares, np.zeros((0, *shares.shape)) if draws is None else draws, True)


def effect_rows(answers: pd.DataFrame, draws: np.ndarray | None = None, **settings) -> pd.DataFrame:
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}, "y21_vs_19": {"year": [2021, 2019]}},
                        **settings)
    table = joint_effects(answers, reported(answers, draws), design_report(answers, cfg), cfg, "m")
    return table[table.topic == 0].set_index("contrast")


def test_the_joint_model_gives_a_year_effect_to_year_not_to_the_speakers_of_that_year():
    rng = np.random.default_rng(10)
    replicates, speaker_covers_zero, year_covers_truth, marginal_covers_zero = 200, 0, 0, 0
    for _ in range(replicates):
        answers = planted_answers(rng, year_effect=0.12, speaker_effect=0.0)
        effects = effect_rows(answers)
        a_vs_b, year = effects.loc["a_vs_b"], effects.loc["y21_vs_19"]
        speaker_covers_zero += a_vs_b.ci_low <= 0 <= a_vs_b.ci_high
        year_covers_truth += year.ci_low <= 0.12 <= year.ci_high
        # Today's marginal comparison: A's answers against B's, year ignored.
        a, b = (answers[answers.speaker == s].topic_0 for s in ("A", "B"))
        half_width = 1.96 * np.sqrt(a.var() / len(a) + b.var() / len(b))
        marginal_covers_zero += abs(a.mean() - b.mean()) <= half_width
    assert effects.loc["a_vs_b"].method.startswith("CR2 errors clustered by conference (30 conferences), t with ")
    assert effects.loc["a_vs_b"].within_conferences and not effects.loc["y21_vs_19"].within_conferences
    # The speaker contrast holds the conference fixed, the year contrast compares conferences.
    # Measured on this stream: the marginal comparison covers zero in 0.115 (it reads the 2021
    # rise as B's). About 10 conferences link A and B, and the Satterthwaite df say so.
    # 200 replicates: three binomial sd around 0.95 is 0.046. Over 1000 replicates of another
    # stream the speaker interval covered zero 0.955 (this stream: 0.915).
    bound = 3 * np.sqrt(0.95 * 0.05 / replicates)
    assert abs(speaker_covers_zero / replicates - 0.95) <= bound, speaker_covers_zero
    assert abs(year_covers_truth / replicates - 0.95) <= bound, year_covers_truth
    assert marginal_covers_zero / replicates <= 0.2, marginal_covers_zero


def analytic_interval(answers: pd.DataFrame, level: float = 0.95) -> tuple[float, float]:
    """A - B's CR2 interval with Satterthwaite df in the speaker + year model, computed directly."""
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
    # Measured 0.963 (Monte Carlo standard error 0.006 at 1000 replicates).
    assert 0.93 <= hits / replicates <= 0.97, hits / replicates
    # Without draws and without conference effects, the joint model's interval is this one.
    for _ in range(3):
        answers = planted_answers(rng, year_effect=0.05, speaker_effect=0.08, confounded=False)
        a_vs_b, (low, high) = effect_rows(answers, conference_effects=False).loc["a_vs_b"], analytic_interval(answers)
        assert (a_vs_b.ci_low, a_vs_b.ci_high) == pytest.approx((low, high))


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
    fixed, composed = effect_rows(answers).loc["a_vs_b"], effect_rows(answers, draws).loc["a_vs_b"]
    assert composed.ci_high - composed.ci_low > 1.2 * (fixed.ci_high - fixed.ci_low)
    assert abs(composed.estimate - fixed.estimate) < 0.03


def test_answer_draws_are_token_weighted_means_of_unit_draws():
    unit_draws = np.array([[[0.2, 0.8], [0.6, 0.4], [1.0, 0.0]]])
    result = answer_draws(unit_draws, pd.Series(["x", "x", "y"]), np.array([1.0, 3.0, 5.0]), pd.Series(["y", "x"]))
    assert np.allclose(result[0], [[1.0, 0.0], [0.5, 0.5]])  # x: (0.2 + 3 * 0.6) / 4 = 0.5


def test_few_conferences_give_the_estimate_only_never_another_procedures_p():
    rng = np.random.default_rng(40)
    answers = planted_answers(rng, 0.0, 0.0)
    answers = answers[answers.conference_id.isin(["c10", "c11", "c12"])].reset_index(drop=True)
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}})
    table = joint_effects(answers, reported(answers), design_report(answers, cfg), cfg, "m")
    assert table.ci_low.isna().all() and table.p.isna().all() and table.estimate.notna().all()
    assert table.method.iloc[0].startswith("estimate only: 3 conferences, fewer than 20")


def portfolio_answers(rng: np.random.Generator, speaker_effect: float = 0.0) -> pd.DataFrame:
    """24 conferences with agendas (sd 0.08); officials attend the conferences of their own
    portfolio, so A answers more at high-agenda conferences (6 answers there, 2 elsewhere) and B
    the reverse; answer noise sd 0.10. The first 12 conferences are the high ones (agenda
    |N(0, 0.08)|), so every replicate has the same layout."""
    rows = []
    for conference in range(24):
        high = conference < 12
        agenda = abs(rng.normal(0, 0.08)) * (1 if high else -1)
        for speaker, n in (("A", 6 if high else 2), ("B", 2 if high else 6)):
            for _ in range(n):
                share = 0.3 + agenda + speaker_effect * (speaker == "A") + rng.normal(0, 0.10)
                rows.append({"answer_id": f"a{len(rows)}", "speaker": speaker, "position": "",
                             "year": 2020 + conference % 2, "conference_id": f"c{conference:02d}", "kind": "answer",
                             "question_outlet": "", "n_tokens": 100, "topic_0": share, "topic_1": 1 - share})
    return pd.DataFrame(rows)


def test_conference_effects_keep_an_officials_portfolio_out_of_the_speaker_effect():
    # The design, with A at every high-agenda conference: with C(speaker) + C(year) alone
    # the agenda reads as A's emphasis; holding the conference fixed restores coverage.
    rng = np.random.default_rng(70)
    replicates, compared, within_covers, between_covers, between_mean = 400, 100, 0, 0, 0.0
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}})
    design = design_report(portfolio_answers(rng), cfg)  # one layout: the design is read once

    def a_vs_b(answers: pd.DataFrame, settings: CompareConfig) -> pd.Series:
        return joint_effects(answers, reported(answers), design, settings, "m").query("topic == 0").iloc[0]

    for replicate in range(replicates):
        answers = portfolio_answers(rng)
        within = a_vs_b(answers, cfg)
        assert within.within_conferences and "holding the conference fixed" in within.estimand
        within_covers += within.ci_low <= 0 <= within.ci_high
        if replicate < compared:
            between = a_vs_b(answers, cfg.model_copy(update={"conference_effects": False}))
            between_covers += between.ci_low <= 0 <= between.ci_high
            between_mean += between.estimate / compared
    # Measured: within conferences 0.9425 (binomial sd 0.011); between conferences 0.04 of the
    # first 100 cover zero, mean A - B 0.063.
    assert 0.93 <= within_covers / replicates <= 0.97, within_covers / replicates
    assert between_covers / compared < 0.88 and between_mean > 0.02, (between_covers, between_mean)


def test_barnard_rubin_df_is_mices_formula_by_hand():
    # mice R/barnard.rubin.R with m = 10, b = 0.2, t = 1, dfcom = 30.
    m, b, t, dfcom = 10, 0.2, 1.0, 30.0
    lam = (1 + 1 / m) * b / t
    old, observed = (m - 1) / lam ** 2, (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    assert barnard_rubin_df(np.array([m]), np.array([b]), np.array([t]), np.array([dfcom]))[0] == pytest.approx(
        old * observed / (old + observed))


def test_refit_draws_scale_their_spread_and_drop_unmatched_topics():
    # The reported fit's estimate 0.1 (variance 0.01); refits 0.1 +- 0.05 on topic 0, and topic 1
    # unmatched in two of four refits.
    estimates = np.array([[0.1, 0.2], [0.05, 0.25], [0.15, 0.15], [0.05, 9.0], [0.15, 9.0]])
    variances = np.full_like(estimates, 0.01)
    matched = np.array([[True, True], [True, True], [True, True], [True, False], [True, False]])
    refits = MixtureDraws(np.zeros((1, 2)), np.zeros((4, 1, 2)), posterior=False, between_scale=4.0)
    estimate, total, df, n_draws = _pooled(estimates, variances, np.array([20.0, 20.0]), matched, refits)
    between_0 = np.var([0.05, 0.15, 0.05, 0.15], ddof=1)
    assert estimate.tolist() == [0.1, 0.2] and n_draws.tolist() == [4, 2]
    assert total[0] == pytest.approx(0.01 + (1 + 1 / 4) * 4 * between_0)
    assert total[1] == pytest.approx(0.01 + (1 + 1 / 2) * 4 * np.var([0.25, 0.15], ddof=1))  # 9.0 left out
    assert df[0] < 20


def test_the_delete_d_factor_makes_subsample_spread_the_full_samples_variance():
    # The mean of n units over subsamples of 80% (the pipeline's own resamples): their spread
    # times m / (n - m) estimates the variance of the full-sample mean, sigma^2 / n.
    from pipeline.diagnostics import resamples

    rng = np.random.default_rng(80)
    n, estimates = 200, []
    for replicate in range(300):
        values = rng.normal(0, 1, n)
        subsample_means = [values[rows].mean() for rows in resamples(n, 0.8, 20, replicate)]
        estimates.append(np.var(subsample_means, ddof=1) * 160 / 40)
    assert np.mean(estimates) == pytest.approx(1 / n, rel=0.08)


def test_the_formula_takes_further_covariates_and_unknown_names_are_config_errors():
    from pipeline.effects import check_formula, design_matrix
    from pipeline.errors import ConfigError

    rng = np.random.default_rng(50)
    answers = planted_answers(rng, 0.0, 0.0).assign(venue=lambda a: np.where(a.index % 2, "Beijing", "Shanghai"))
    matrix, _ = design_matrix(answers, "C(speaker) + C(year) + C(venue)")
    assert "C(venue)[T.Shanghai]" in matrix.columns and "topic_0" not in matrix.columns
    effects = effect_rows(answers, formula="C(speaker) + C(year) + C(venue)")
    assert effects.loc["a_vs_b"].formula == "C(speaker) + C(year) + C(venue) + C(conference_id)"
    assert effects.loc["y21_vs_19"].formula == "C(speaker) + C(year) + C(venue)"
    # A formula that holds the conference fixed itself: its speaker rows are within conferences,
    # and year, which conference effects absorb, has no row.
    own = effect_rows(answers, formula="C(speaker) + C(conference_id)")
    assert own.loc["a_vs_b"].within_conferences and own.loc["a_vs_b"].formula == "C(speaker) + C(conference_id)"
    assert "y21_vs_19" not in own.index
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
    marginal = effect_rows(answers).loc["a_vs_b"]
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}}, hold_question=True)
    held = joint_effects(answers, reported(answers), design_report(answers, cfg), cfg, "m", questions)
    held = held[held.topic == 0].iloc[0]
    assert marginal.ci_low > 0.1  # A seems to emphasise topic 0 ...
    assert held.ci_low < 0 < held.ci_high and abs(held.estimate) < 0.03  # ... because A is asked about it
    assert held.formula.endswith("+ the question's share of the topic")
