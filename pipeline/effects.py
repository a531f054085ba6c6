"""The joint model of emphasis, stm's ``estimateEffect`` for any backend.

Per topic, each answer's share is regressed on the formula's terms together
(``compare.formula``, speaker and year by default), by statsmodels (OLS, or WLS with
``compare.weight: tokens``). A contrast A - B is the difference of the two groups'
coefficients, L b. Uncertainty from the topic model enters by the method of composition
(Treier & Jackman 2008, as stm's ``estimateEffect``, Roberts, Stewart & Tingley 2019, sec.
3.4): the regression is refitted on D draws of every answer's mixture (Dirichlet draws from
the LDA posterior, or an NMF refitted on resampled units), and from each fit S coefficient
draws are taken; the pooled draws give the estimate (their mean) and the interval (their
quantiles).

Each fit's covariance is clustered by conference (CR2, Bell & McCaffrey 2002), with coefficient
draws from a t with the contrast's Satterthwaite degrees of freedom (Bell & McCaffrey's, as
clubSandwich's ``coef_test``: fewer than G - 1 when few conferences inform the contrast), when
there are at least ``compare.min_clusters`` conferences; its p-value combines the draws by
Rubin's rules (Rubin 1987: total variance = mean within-draw variance + (1 + 1/D) x
between-draw variance, t with the same df). With fewer, clustered errors are not trustworthy:
the effect gets no interval
and its p-value is the restricted permutation test of the same contrast (``contrasts.csv``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import CompareConfig
from pipeline.design import DesignReport, key
from pipeline.errors import ConfigError
from pipeline.schemas import EFFECTS

EFFECT_COLUMNS = list(EFFECTS.columns)
FORMULA_COLUMNS = ("speaker", "year", "position", "conference_id", "question_outlet")
# Columns of an answer table that are its own measurements, not covariates.
ANSWER_OWN = {"answer_id", "date", "kind", "question_turn_id", "question_text", "n_units", "n_tokens", "answer_start",
              "dominant_topic"}


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


@dataclass(frozen=True)
class CR2Contrast:
    """The bias-reduced cluster-robust variance CR2 (Bell & McCaffrey 2002; clubSandwich's
    ``vcovCR(type = "CR2")``, Pustejovsky & Tipton 2018) of one contrast L b of a (W)LS design,
    with its Satterthwaite degrees of freedom; statsmodels has CR1 only (its ``cluster``, too
    small with few clusters).

    Both depend on the design alone, so they are computed once and applied to every draw's
    residuals. With whitened X, M = (X'X)^-1 and A_g = (I - X_g M X_g')^(-1/2), the variance is
    sum_g (p_g' e_g)^2 with p_g = A_g X_g M L (``loadings``, p_g stacked in row order) and e the
    whitened residuals; with one observation per cluster it is HC2 (tested against statsmodels).
    The degrees of freedom are clubSandwich's ``Satterthwaite_df`` (R/coef_test.R) under the
    working model of independent errors: tr(P)^2 / sum(P^2), P_gh = u_g'u_h, u_g = (I - H)_(.,g) p_g,
    so P = diag(p_g'p_g) - Q'MQ with the columns of Q the X_g'p_g. An intercept alone gives n - 1.
    """

    loadings: np.ndarray
    clusters: np.ndarray
    df: float

    @classmethod
    def of(cls, exog: np.ndarray, clusters: np.ndarray, vector: np.ndarray) -> CR2Contrast:
        bread = np.linalg.pinv(exog.T @ exog)
        direction = bread @ vector
        codes = pd.factorize(clusters)[0]
        loadings = np.zeros(len(exog))
        for g in range(codes.max() + 1):
            rows = np.flatnonzero(codes == g)
            x = exog[rows]
            values, vectors = np.linalg.eigh(np.eye(len(rows)) - x @ bread @ x.T)
            inverse_root = vectors @ np.diag(np.where(values > 1e-12, values, np.inf) ** -0.5) @ vectors.T
            loadings[rows] = inverse_root @ (x @ direction)
        indicator = np.zeros((len(exog), codes.max() + 1))
        indicator[np.arange(len(exog)), codes] = 1.0
        q = exog.T @ (loadings[:, None] * indicator)
        gram = np.diag(indicator.T @ loadings**2) - q.T @ bread @ q
        return cls(loadings, codes, float(np.trace(gram) ** 2 / (gram**2).sum()))

    def variance(self, residuals: np.ndarray) -> np.ndarray:
        """The CR2 variance of L b for each column of whitened ``residuals`` (n, or n x draws)."""
        scores = np.zeros((self.clusters.max() + 1, *residuals.shape[1:]))
        np.add.at(scores, self.clusters, self.loadings.reshape(-1, *[1] * (residuals.ndim - 1)) * residuals)
        return (scores**2).sum(axis=0)


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


def joint_effects(answers: pd.DataFrame, draws: np.ndarray, design: DesignReport, stratified: pd.DataFrame,
                  cfg: CompareConfig, rng: np.random.Generator, model: str,
                  question_shares: np.ndarray | None = None) -> pd.DataFrame:
    """One row per identified contrast and topic: the joint model's A - B with its interval and p.

    With ``question_shares`` (answers x k, NaN for an answer without a known question), the
    model of topic t also holds the question's share of t fixed (``compare.hold_question``):
    emphasis beyond what was asked; answers without a question are left out.
    """
    from scipy.stats import t as student_t
    from statsmodels.regression.linear_model import WLS  # not statsmodels.api: a third of a second less

    matrix, data = design_matrix(answers, cfg.formula)
    if matrix.empty:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    rows = matrix.index.to_numpy()
    X, columns = matrix.to_numpy(), list(matrix.columns)
    if question_shares is not None:
        asked = np.isfinite(question_shares[rows]).all(axis=1)
        rows, X = rows[asked], X[asked]
        if not len(rows):
            return pd.DataFrame(columns=EFFECT_COLUMNS)

    def design_for(topic: int) -> np.ndarray:
        return X if question_shares is None else np.column_stack([X, question_shares[rows, topic]])

    weights = answers.n_tokens.to_numpy(float)[rows] if cfg.weight == "tokens" else np.ones(len(rows))
    clusters = pd.factorize(answers.conference_id.to_numpy()[rows])[0]
    n_clusters = len(set(clusters))
    clustered = n_clusters >= cfg.min_clusters
    k = draws.shape[2]
    result = []
    for contrast_design in design.contrasts:
        name, column, group_a, group_b, within = contrast_design.contrast
        vector = None if contrast_design.refused else _contrast_vector(columns, column, group_a, group_b)
        if vector is None or not np.allclose(vector @ np.linalg.pinv(X) @ X, vector, atol=1e-8):
            continue
        if question_shares is not None:
            vector = np.append(vector, 0.0)
        in_groups = data[column].iloc[rows].isin([group_a, group_b]).to_numpy()
        if clustered:
            pooled = np.empty((draws.shape[0], cfg.coefficient_draws, k))
            estimates, variances, dfs = np.empty((draws.shape[0], k)), np.empty((draws.shape[0], k)), np.empty(k)
            cr2 = None
            for topic in range(k):  # every mixture draw at once: one column of the outcome each
                fit = WLS(draws[:, rows, topic].T, design_for(topic), weights=weights).fit()
                if cr2 is None or question_shares is not None:  # else every topic has the same design
                    cr2 = CR2Contrast.of(fit.model.wexog, clusters, vector)
                estimates[:, topic], variances[:, topic], dfs[topic] = vector @ fit.params, cr2.variance(fit.wresid), cr2.df
                noise = rng.standard_t(cr2.df, size=(draws.shape[0], cfg.coefficient_draws))
                pooled[:, :, topic] = estimates[:, topic, None] + np.sqrt(variances[:, topic, None]) * noise
            estimate = pooled.mean(axis=(0, 1))
            low, high = np.quantile(pooled, [(1 - cfg.bootstrap.level) / 2, (1 + cfg.bootstrap.level) / 2], axis=(0, 1))
            # p by Rubin's rules over the same draws (total variance: within + (1 + 1/D) between),
            # so its precision does not depend on how many draws were taken.
            between = estimates.var(axis=0, ddof=1) if len(estimates) > 1 else np.zeros(k)
            total = variances.mean(axis=0) + (1 + 1 / len(estimates)) * between
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.where(total > 0, 2 * student_t.sf(np.abs(estimates.mean(axis=0)) / np.sqrt(total), dfs), 1.0)
            method = [f"composition: {draws.shape[0]} mixture draws x {cfg.coefficient_draws} coefficient draws, "
                      f"errors clustered by conference (CR2, {n_clusters} conferences, t with {df:.1f} df by "
                      "Satterthwaite); p by Rubin's rules" for df in dfs]
        else:  # point estimates only: per topic, one least-squares fit of every draw at once
            estimate = np.array([(vector @ np.asarray(WLS(draws[:, rows, topic].T, design_for(topic),
                                                          weights=weights).fit().params)).mean()
                                 for topic in range(k)])
            low = high = np.full(k, np.nan)
            same = stratified[stratified.contrast == name].set_index("topic")
            p = same.p.reindex(range(k)).to_numpy(float) if not same.empty else np.full(k, np.nan)
            method = (f"randomisation within {within} (the p of contrasts.csv): {n_clusters} conferences, fewer "
                      f"than {cfg.min_clusters}, too few for clustered errors, so no interval")
        result.append(pd.DataFrame({
            "model": model, "contrast": name, "topic": range(k), "topic_label": "", "term": f"{column}: {group_a} - {group_b}",
            "formula": cfg.formula + (" + the question's share of the topic" if question_shares is not None else ""),
            "estimand": "coefficient of A minus B, the outcome each answer's token-weighted "
                                                "topic share" + (" (weighted by tokens)" if cfg.weight == "tokens" else ""),
            "estimate": estimate, "ci_low": low, "ci_high": high, "p": p, "q": np.nan,
            "method": method, "n_answers": int(in_groups.sum()),
            "n_conferences": int(pd.Series(clusters[in_groups]).nunique()),
        }))
    return pd.concat(result, ignore_index=True) if result else pd.DataFrame(columns=EFFECT_COLUMNS)
