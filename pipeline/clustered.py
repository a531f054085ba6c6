"""Cluster-robust inference with few clusters: the CR2 variance of a linear contrast and its
Satterthwaite degrees of freedom (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018), and the
interval of a clustered mean built on it.

The conference is the cluster everywhere in this pipeline: answers at one conference share its
agenda, so their errors are not independent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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


def clustered_mean(values: np.ndarray, weights: np.ndarray,
                   clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The weighted mean of each column of ``values`` (n x k), its CR2 standard error over
    ``clusters`` (an intercept-only weighted regression) and the Satterthwaite df. With one
    cluster the error is NaN. For an intercept the CR2 variance has a closed form,
    sum_g (sum_(i in g) w_i (v_i - mean))^2 / (W^2 (1 - W_g / W)), W the total weight and W_g
    cluster g's (tests/test_diagnostics.py checks it)."""
    root = np.sqrt(weights)
    mean = weights @ values / weights.sum()
    if len(set(clusters)) < 2:
        return mean, np.full(mean.shape, np.nan), float("nan")
    cr2 = CR2Contrast.of(root[:, None], clusters, np.ones(1))
    return mean, np.sqrt(cr2.variance(root[:, None] * (values - mean))), cr2.df


def clustered_difference_interval(values: np.ndarray, weights: np.ndarray, clusters: np.ndarray,
                                  level: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The weighted mean of each column of ``values`` (n x k, differences of any sign) with its
    interval over clusters on the original scale: mean +- t(df) x CR2 SE. Returns low, high and
    the df; NaN below 2 clusters or with no spread between them."""
    from scipy.stats import t as student_t

    mean, se, df = clustered_mean(values, weights, clusters)
    with np.errstate(invalid="ignore"):
        half = np.where(se > 0, student_t.ppf((1 + level) / 2, df) * se, np.nan)
    return mean - half, mean + half, df


def clustered_mean_interval(values: np.ndarray, weights: np.ndarray, clusters: np.ndarray,
                            level: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The weighted mean of each column of ``values`` (n x k, shares in [0, 1]) with its interval
    over clusters: the CR2 variance of the mean (an intercept-only regression, weighted) and t
    with its Satterthwaite df, on the logit scale (a delta-method interval mapped back, so it
    stays within (0, 1) and follows the skew of a small share). Returns low, high and the df;
    a column whose mean is 0 or 1, or with no spread between clusters, gets NaN.

    Coverage at 95% (tests/test_emphasis.py, 600 replicates each, conference agenda sd 0.08,
    answer sd 0.10): 0.950 for 3 conferences x 5 answers, 0.960 for 6 x 5, 0.935 to 0.958 for
    5, 9 or 20 independent answers; BCa over answers gave 0.77, 0.78 and 0.80 to 0.91 there.
    """
    from scipy.special import expit, logit
    from scipy.stats import t as student_t

    mean, se, df = clustered_mean(values, weights, clusters)
    quantile = student_t.ppf((1 + level) / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = quantile * se / (mean * (1 - mean))
        usable = (mean > 0) & (mean < 1) & (se > 0)
        low = np.where(usable, expit(logit(mean) - spread), np.nan)
        high = np.where(usable, expit(logit(mean) + spread), np.nan)
    return low, high, df
