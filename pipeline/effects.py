"""The joint model of emphasis, stm's ``estimateEffect`` for any backend.

Per topic, each answer's share is regressed on the formula's terms together
(``compare.formula``, speaker and year by default), by statsmodels (OLS, or WLS with
``compare.weight: tokens``). A contrast A - B is the difference of the two groups'
coefficients, L b, and each row says which estimand it is:

- *within conferences* (``compare.conference_effects``, the default, for a contrast whose label
  varies within conferences and that the conferences holding both groups identify): the
  formula plus conference fixed effects, so a conference's agenda is never read as a speaker's
  emphasis (officials attend the conferences on their own portfolio);
- *between conferences* (a label constant within each conference, such as year, which
  conference fixed effects would absorb; or a contrast no conference identifies): the formula
  alone, errors clustered by conference.

Each fit's covariance is clustered by conference (CR2, Bell & McCaffrey 2002, with the
contrast's Satterthwaite degrees of freedom as clubSandwich's ``coef_test``), when there are at
least ``compare.min_clusters`` conferences; with fewer the row has its estimate only (no
interval, no p: the permutation test of ``contrasts.csv`` is the test there), so that a row's
estimate, interval and p always come from one procedure.

Uncertainty from the topic model enters by Rubin's rules (Rubin 1987; as stm's
``estimateEffect`` composes it, Roberts, Stewart & Tingley 2019, sec. 3.4) over D fits of the
regression: total variance T = U + (1 + 1/D) B, U the mean CR2 variance, B the variance of the
estimates between draws, t with Barnard & Rubin's (1999) degrees of freedom (mice's
``R/barnard.rubin.R``, the Satterthwaite df as the complete-data df). The draws are Dirichlet
draws from the LDA posterior (the estimate is their mean); for a backend without a posterior
(NMF) they are refits on subsamples of m of the n units, whose spread is that of a delete-d
jackknife (Shao & Tu 1995, sec. 2.3): B is scaled by m / (n - m), the estimate is the reported
fit's, and a refit topic whose cosine to the reported one is below ``compare.draw_match`` is no
draw of that topic.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.clustered import CR2Contrast
from pipeline.config import CompareConfig
from pipeline.design import ContrastDesign, DesignReport, key
from pipeline.errors import ConfigError
from pipeline.schemas import EFFECTS

EFFECT_COLUMNS = list(EFFECTS.columns)
FORMULA_COLUMNS = ("speaker", "year", "position", "conference_id", "question_outlet")
CONFERENCE_EFFECTS = "C(conference_id)"
# Columns of an answer table that are its own measurements, not covariates.
ANSWER_OWN = {"answer_id", "date", "kind", "question_turn_id", "question_text", "n_units", "n_tokens", "answer_start",
              "answer_text", "source", "dominant_topic"}


def answer_draws(unit_draws: np.ndarray, unit_answers: pd.Series, unit_tokens: np.ndarray,
                 answer_ids: pd.Series) -> np.ndarray:
    """Draws x answers x k: each answer's token-weighted mean of its units' drawn mixtures, in
    the order of ``answer_ids`` (the estimand of ``answer_topics.csv``, draw by draw)."""
    codes = pd.Index(answer_ids).get_indexer(unit_answers)
    keep = (codes >= 0) & np.isfinite(unit_draws).all(axis=(0, 2))  # units with no mixture stay out
    sums = np.zeros((unit_draws.shape[0], len(answer_ids), unit_draws.shape[2]))
    np.add.at(sums, (slice(None), codes[keep]), unit_draws[:, keep] * unit_tokens[keep][None, :, None])
    tokens = np.bincount(codes[keep], weights=unit_tokens[keep], minlength=len(answer_ids))
    return sums / tokens[None, :, None]


def _contrast_vector(columns: list[str], column: str, group_a: str, group_b: str) -> np.ndarray | None:
    """L for coefficient(A) - coefficient(B) in patsy's treatment coding (the reference level's
    coefficient is 0), or None when the formula has no ``C(column)`` term."""
    if not any(name.startswith(f"C({column})[") for name in columns):
        return None
    vector = np.zeros(len(columns))
    for value, sign in ((group_a, 1.0), (group_b, -1.0)):
        name = f"C({column})[T.{value}]"
        if name in columns:
            vector[columns.index(name)] = sign
    return vector


def check_formula(formula: str, extra: Sequence[str] = ()) -> None:
    """The formula parses and names only the answers' grouping columns (and the corpus's
    ``extra`` metadata columns), else a one-line ``ConfigError`` (checked on placeholder
    values, before any data is read)."""
    import patsy

    placeholder = pd.DataFrame({column: ["a", "b", "a"] for column in (*FORMULA_COLUMNS, *extra)})
    try:
        patsy.dmatrix(formula, placeholder)
    except (patsy.PatsyError, NameError, KeyError) as exc:
        raise ConfigError(f"compare.formula {formula!r}: {' '.join(str(exc).split()[:30])} (columns: "
                          f"{', '.join((*FORMULA_COLUMNS, *extra))})") from None


def design_matrix(answers: pd.DataFrame, formula: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """patsy's design matrix of ``formula`` over the answers with a value in every column it
    names (an undated answer is left out under a year term), and those columns as strings:
    the grouping columns and any further metadata column the answers carry."""
    import patsy

    columns = [*FORMULA_COLUMNS, *(c for c in answers.columns if c not in FORMULA_COLUMNS and c not in ANSWER_OWN
                                   and not c.startswith("topic_"))]
    data = pd.DataFrame({column: answers[column].map(key).replace("", np.nan) for column in columns})
    used = [column for column in columns if re.search(rf"\b{re.escape(column)}\b", formula)]
    complete = data.dropna(subset=used)
    if complete.empty:
        return pd.DataFrame(), data
    return patsy.dmatrix(formula, complete, return_type="dataframe"), data


@dataclass(frozen=True)
class MixtureDraws:
    """The answers' mixtures the joint model is fitted on: the reported ones, and D draws
    (D x answers x k; NaN for a topic a refit did not match) whose spread carries the topic
    model's uncertainty."""

    reported: np.ndarray  # answers x k
    draws: np.ndarray  # D x answers x k
    posterior: bool  # draws from the posterior (Rubin's rules) or refits on subsamples
    between_scale: float = 1.0  # on the between-draw variance: m / (n - m) for subsamples of m of n units


def barnard_rubin_df(n_draws: np.ndarray, between: np.ndarray, total: np.ndarray, complete_df: np.ndarray) -> np.ndarray:
    """Barnard & Rubin's (1999) degrees of freedom for Rubin's rules, as mice's
    ``R/barnard.rubin.R``: lambda = (1 + 1/D) B / T (at least 1e-4), df_old = (D - 1) / lambda^2,
    df_obs = (df_com + 1) / (df_com + 3) df_com (1 - lambda), df = df_old df_obs / (df_old + df_obs)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.maximum(np.where(total > 0, (1 + 1 / n_draws) * between / total, 0.0), 1e-4)
        old = (n_draws - 1) / share ** 2
        observed = (complete_df + 1) / (complete_df + 3) * complete_df * (1 - share)
        return np.where(n_draws > 1, old * observed / (old + observed), complete_df)


@dataclass(frozen=True)
class ContrastModel:
    """Which model a contrast is estimated in, and what its coefficient then means."""

    formula: str
    within: bool

    def estimand(self, weight: str) -> str:
        outcome = "each answer's token-weighted topic share" + (" (weighted by tokens)" if weight == "tokens" else "")
        if self.within:
            return (f"coefficient of A minus B holding the conference fixed (conference fixed effects): A's and B's "
                    f"answers at the same conferences; the outcome {outcome}")
        return (f"coefficient of A minus B between conferences, the formula's other terms held fixed; the outcome "
                f"{outcome}")


def contrast_model(design: ContrastDesign, cfg: CompareConfig) -> ContrastModel:
    """The within-conference model where the label varies within conferences and some
    conference holds both groups, else the between-conference model (the formula itself)."""
    if CONFERENCE_EFFECTS in cfg.formula:  # the user's formula holds the conference fixed already
        return ContrastModel(cfg.formula, True)
    if cfg.conference_effects and design.unit == "answer" and design.blocks:
        return ContrastModel(f"{cfg.formula} + {CONFERENCE_EFFECTS}", True)
    return ContrastModel(cfg.formula, False)


def joint_effects(answers: pd.DataFrame, mixtures: MixtureDraws, design: DesignReport, cfg: CompareConfig, model: str,
                  question_shares: np.ndarray | None = None) -> pd.DataFrame:
    """One row per identified contrast and topic: the joint model's A - B with its interval and p.

    With ``question_shares`` (answers x k, NaN for an answer without a known question), the
    model of topic t also holds the question's share of t fixed (``compare.hold_question``):
    emphasis beyond what was asked; answers without a question are left out.
    """
    from scipy.stats import t as student_t
    from statsmodels.regression.linear_model import WLS  # not statsmodels.api: a third of a second less

    k = mixtures.reported.shape[1]
    # the reported mixtures first, then the draws: one outcome column each
    outcomes = np.concatenate([mixtures.reported[None], mixtures.draws])
    result = []
    for contrast_design in design.contrasts:
        if contrast_design.refused:
            continue
        name, column, group_a, group_b, _ = contrast_design.contrast
        chosen = contrast_model(contrast_design, cfg)
        fitted = _fit_contrast(answers, chosen, column, group_a, group_b, question_shares)
        if fitted is None and chosen.formula != cfg.formula:  # no conference identifies it: compare conferences
            chosen = ContrastModel(cfg.formula, False)
            fitted = _fit_contrast(answers, chosen, column, group_a, group_b, question_shares)
        if fitted is None:
            continue
        rows, design_for, vector, clusters, in_groups = fitted
        weights = answers.n_tokens.to_numpy(float)[rows] if cfg.weight == "tokens" else np.ones(len(rows))
        n_clusters = len(set(clusters))
        estimates, variances, dfs = np.empty((len(outcomes), k)), np.empty((len(outcomes), k)), np.empty(k)
        cr2 = None
        for topic in range(k):  # every draw at once: one column of the outcome each
            y = np.nan_to_num(outcomes[:, rows, topic].T)  # an unmatched draw is dropped below
            with warnings.catch_warnings():  # conference effects absorb year: estimable contrasts only are read
                warnings.filterwarnings("ignore", "The design matrix is rank-deficient")
                fit = WLS(y, design_for(topic), weights=weights).fit()
            if cr2 is None or question_shares is not None:  # else every topic has the same design
                cr2 = CR2Contrast.of(fit.model.wexog, clusters, vector)
            estimates[:, topic], variances[:, topic], dfs[topic] = vector @ fit.params, cr2.variance(fit.wresid), cr2.df
        matched = np.isfinite(outcomes[:, rows]).all(axis=1)  # draws x k
        estimate, total, df, n_draws = _pooled(estimates, variances, dfs, matched, mixtures)
        method_of_draws = draws_method(n_draws, mixtures)
        if n_clusters >= cfg.min_clusters:
            half = student_t.ppf((1 + cfg.level) / 2, df) * np.sqrt(total)
            low, high = estimate - half, estimate + half
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.where(total > 0, 2 * student_t.sf(np.abs(estimate) / np.sqrt(total), df), 1.0)
            usable = np.isfinite(total) & (n_draws >= (2 if len(mixtures.draws) else 0))
            low, high, p = (np.where(usable, v, np.nan) for v in (low, high, p))
            method = [f"CR2 errors clustered by conference ({n_clusters} conferences), t with {d:.1f} df "
                      f"(Satterthwaite, then Barnard-Rubin); {m}" for d, m in zip(df, method_of_draws)]
        else:
            low = high = p = np.full(k, np.nan)
            method = [f"estimate only: {n_clusters} conferences, fewer than {cfg.min_clusters}, too few for clustered "
                      f"errors (the permutation test of contrasts.csv is the test here); {m}" for m in method_of_draws]
        result.append(pd.DataFrame({
            "model": model, "contrast": name, "topic": range(k), "topic_label": "",
            "term": f"{column}: {group_a} - {group_b}",
            "formula": chosen.formula + (" + the question's share of the topic" if question_shares is not None else ""),
            "estimand": chosen.estimand(cfg.weight), "within_conferences": chosen.within,
            "estimate": estimate, "ci_low": low, "ci_high": high, "p": p, "q": np.nan,
            "method": method, "n_answers": int(in_groups.sum()),
            "n_conferences": int(pd.Series(clusters[in_groups]).nunique()),
        }))
    return pd.concat(result, ignore_index=True) if result else pd.DataFrame(columns=EFFECT_COLUMNS)


def draws_method(n_draws: np.ndarray, mixtures: MixtureDraws) -> list[str]:
    """How each topic's row carries the topic model's uncertainty."""
    if not len(mixtures.draws):
        return ["the reported mixtures only (the backend gives no draws: topic-model uncertainty not carried)"] * len(n_draws)
    if mixtures.posterior:
        return [f"Rubin's rules over {int(n)} posterior draws" for n in n_draws]
    return [f"Rubin's rules over {int(n)} of {len(mixtures.draws)} subsample refits matching the topic (between-refit "
            f"variance x {mixtures.between_scale:.3g}, delete-d jackknife)" for n in n_draws]


def _fit_contrast(answers: pd.DataFrame, chosen: ContrastModel, column: str, group_a: str, group_b: str,
                  question_shares: np.ndarray | None):
    """The rows, design (per topic), contrast vector, clusters and group rows of one contrast's
    model, or None when the model has no such term or does not identify the contrast."""
    matrix, data = design_matrix(answers, chosen.formula)
    if matrix.empty:
        return None
    rows = matrix.index.to_numpy()
    X, columns = matrix.to_numpy(), list(matrix.columns)
    if question_shares is not None:
        asked = np.isfinite(question_shares[rows]).all(axis=1)
        rows, X = rows[asked], X[asked]
        if not len(rows):
            return None
    vector = _contrast_vector(columns, column, group_a, group_b)
    if vector is None or not np.allclose(vector @ np.linalg.pinv(X) @ X, vector, atol=1e-8):
        return None
    if question_shares is not None:
        vector = np.append(vector, 0.0)

    def design_for(topic: int) -> np.ndarray:
        return X if question_shares is None else np.column_stack([X, question_shares[rows, topic]])

    clusters = pd.factorize(answers.conference_id.to_numpy()[rows])[0]
    in_groups = data[column].iloc[rows].isin([group_a, group_b]).to_numpy()
    return rows, design_for, vector, clusters, in_groups


def _pooled(estimates: np.ndarray, variances: np.ndarray, dfs: np.ndarray, matched: np.ndarray,
            mixtures: MixtureDraws) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rubin's rules per topic over the draws that matched it (row 0 of each array is the
    reported fit): the estimate, total variance, Barnard-Rubin df and the number of draws."""
    draws, within, used = estimates[1:], variances[1:], matched[1:]
    n_draws = used.sum(axis=0).astype(float)
    if not len(draws):  # a backend with neither posterior nor refits: the reported fit alone
        return estimates[0], variances[0], dfs, n_draws
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(used, draws, 0).sum(axis=0) / n_draws
        between = np.where(used, (draws - mean) ** 2, 0).sum(axis=0) / (n_draws - 1)
        between = np.where(n_draws > 1, between, np.nan)
    if mixtures.posterior:
        estimate, within_variance = mean, np.where(used, within, 0).sum(axis=0) / n_draws
    else:
        estimate, within_variance = estimates[0], variances[0]
    between = mixtures.between_scale * between
    total = within_variance + (1 + 1 / n_draws) * between
    return estimate, total, barnard_rubin_df(n_draws, between, total, dfs), n_draws
