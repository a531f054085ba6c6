"""Topic emphasis on answers: group shares with studentised bootstrap intervals, and contrasts
tested by a studentised permutation within strata.

The estimand, everywhere: a group's share of topic k is the mean over its answers of each
answer's token-weighted share of k (``answer_topics.csv``), answers weighted equally
(``compare.weight: answers``) or by their tokens (``tokens``). Only the genres in
``compare.kinds`` (answers by default) are compared.

Intervals only for groups (or contrast sides) of at least ``compare.min_answers`` answers;
smaller groups get none (NA, with the reason). A group's share: scipy's BCa over answers
(Efron 1987), which stays within [0, 1]. A contrast: bootstrap-t within strata (Efron &
Tibshirani 1993, ch. 12.5): with 6 answers a side in 4 conferences it covers planted
differences 0.94 of the time at 95%, where BCa covers 0.90 (tests/test_emphasis.py).

A contrast A - B is compared within strata (``within``: conference by default), so that a
conference's agenda is not read as a speaker's emphasis: its estimate is the stratified
difference sum_s w_s (mean_As - mean_Bs) / sum_s w_s with w_s = n_As n_Bs / (n_As + n_Bs)
(the Cochran-Mantel-Haenszel weights). Its p-value is a permutation test of the studentised
statistic (estimate over its standard error; Chung & Romano 2013, valid for equal means even
with unequal variances) with labels permuted only within strata, as in coin's and permute's
blocked designs: every arrangement when there are at most ``compare.exact_limit`` (p is then
exact, the share of arrangements at least as extreme, the observed one included), else
``compare.permutations`` random ones with p = (1 + exceed) / (1 + B) (Phipson & Smyth 2010).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import CompareConfig
from pipeline.design import ContrastDesign, DesignReport, key
from pipeline.progress import Progress, silent
from pipeline.schemas import CONTRASTS, GROUP_SHARES, ROBUSTNESS, topic_columns
from pipeline.seeds import rng_for

GROUP_COLUMNS = list(GROUP_SHARES.columns)
CONTRAST_COLUMNS = list(CONTRASTS.columns)
ROBUSTNESS_COLUMNS = list(ROBUSTNESS.columns)


def compared_answers(answer_table: pd.DataFrame, k: int, cfg: CompareConfig) -> pd.DataFrame:
    """The answers that comparisons use: the compared genres, with a defined mixture."""
    return answer_table[answer_table.kind.isin(cfg.kinds)].dropna(subset=topic_columns(k)).reset_index(drop=True)


def _weights(answers: pd.DataFrame, cfg: CompareConfig) -> np.ndarray:
    return answers.n_tokens.to_numpy(float) if cfg.weight == "tokens" else np.ones(len(answers))


def interval_label(cfg: CompareConfig, n_answers: int | None = None) -> str:
    """The interval of a group's share as a table row (of ``n_answers``) or a caption names it."""
    if n_answers is not None:
        return f"{cfg.bootstrap.level:.0%} {interval_method(n_answers)} bootstrap over answers"
    return f"{cfg.bootstrap.level:.0%} BCa bootstrap over answers (percentile above {BCA_MAX_ANSWERS} answers)"


def contrast_interval_label(cfg: CompareConfig) -> str:
    """The interval of a contrast as captions and tables name it."""
    return f"{cfg.bootstrap.level:.0%} studentised bootstrap over answers within strata"


def estimand_label(cfg: CompareConfig) -> str:
    """The estimand as every caption and sentence names it."""
    weighting = "answers weighted equally" if cfg.weight == "answers" else "answers weighted by their tokens"
    return f"mean over {'/'.join(cfg.kinds)}s of each one's token-weighted topic share ({weighting})"


BCA_MAX_ANSWERS = 500  # BCa's jackknife costs answers^2 in time and memory; above this, percentile


def interval_method(n_answers: int) -> str:
    return "BCa" if n_answers <= BCA_MAX_ANSWERS else "percentile"


def _batch(n: int, k: int) -> int:
    """Replicates per batch so that one batch holds about 4 million numbers."""
    return max(1, min(256, 4_000_000 // max(n * k, 1)))


def bca_interval(shares: np.ndarray, weights: np.ndarray, cfg: CompareConfig,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """scipy's BCa interval (Efron 1987) of the weighted mean of each column of ``shares``
    (answers x k), resampling answers; percentile above ``BCA_MAX_ANSWERS`` answers, where
    the two agree and BCa's jackknife would cost answers^2. Both stay within [0, 1], where a
    bootstrap-t interval of a share with a few dominant answers does not."""
    from scipy.stats import bootstrap

    low, high = np.full(shares.shape[1], np.nan), np.full(shares.shape[1], np.nan)
    varying = shares.std(axis=0) > 0  # BCa is undefined for a constant column
    if not varying.any():
        return low, high
    columns = shares[:, varying]
    weighted = columns * weights[:, None]  # the products once, not once per resample

    def mean(index: np.ndarray, axis: int = -1) -> np.ndarray:
        rows = index.astype(int)
        return np.moveaxis(weighted[rows].sum(axis=-2) / weights[rows].sum(axis=-1)[..., None], -1, 0)

    with np.errstate(all="ignore"):
        result = bootstrap((np.arange(len(shares), dtype=float),), mean, method=interval_method(len(shares)),
                           vectorized=True, n_resamples=cfg.bootstrap.replicates,
                           confidence_level=cfg.bootstrap.level, batch=_batch(len(shares), columns.shape[1]),
                           random_state=rng)
    low[varying], high[varying] = result.confidence_interval.low, result.confidence_interval.high
    return low, high


def mean_and_variance(shares: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean over the answers axis (-2) and the variance of that mean,
    n/(n-1) sum w^2 (y - mean)^2 / (sum w)^2 (s^2/n for equal weights)."""
    n = shares.shape[-2]
    total = weights.sum(axis=-1)[..., None]
    mean = (weights[..., None] * shares).sum(axis=-2) / total
    squares = ((weights[..., None] * (shares - mean[..., None, :])) ** 2).sum(axis=-2)
    return mean, n / (n - 1) * squares / total ** 2


def studentised_interval(sides: Sequence[tuple[np.ndarray, np.ndarray, float]], cfg: CompareConfig,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap-t interval (Efron & Tibshirani 1993, ch. 12.5) of sum_j c_j mean_j, for
    ``sides`` of (shares n_j x k, weights, c_j), each resampled on its own (within its stratum).

    Each replicate is studentised by its own standard error, which keeps coverage near the
    nominal level with few answers where percentile and BCa intervals come out too narrow
    (measured in tests/test_emphasis.py).
    """
    parts = [mean_and_variance(shares, weights) for shares, weights, _ in sides]
    estimate = sum(c * mean for (_, _, c), (mean, _) in zip(sides, parts))
    se = np.sqrt(sum(c ** 2 * variance for (_, _, c), (_, variance) in zip(sides, parts)))
    t_star = []
    largest = max(len(weights) for _, weights, _ in sides)
    for size in _chunks(cfg.bootstrap.replicates, _batch(largest, sides[0][0].shape[1])):
        replicate_estimate, replicate_variance = 0.0, 0.0
        for shares, weights, c in sides:
            rows = rng.integers(0, len(weights), size=(size, len(weights)))
            mean, variance = mean_and_variance(shares[rows], weights[rows])
            replicate_estimate, replicate_variance = replicate_estimate + c * mean, replicate_variance + c ** 2 * variance
        # A replicate of identical values (all resampled answers with a zero share, say) has no
        # spread of its own; it is studentised by the sample's standard error instead.
        replicate_se = np.sqrt(replicate_variance)
        replicate_se = np.where(replicate_se > 0, replicate_se, se)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star.append(np.nan_to_num((replicate_estimate - estimate) / replicate_se, nan=0.0, posinf=0.0,
                                        neginf=0.0))
    upper_t, lower_t = np.quantile(np.vstack(t_star), [(1 + cfg.bootstrap.level) / 2, (1 - cfg.bootstrap.level) / 2],
                                   axis=0)
    return estimate - upper_t * se, estimate - lower_t * se


def _chunks(total: int, size: int = 256) -> Iterator[int]:
    while total > 0:
        yield min(size, total)
        total -= size


def group_shares(answers: pd.DataFrame, columns: Sequence[str], k: int, cfg: CompareConfig,
                 rng: np.random.Generator, progress: Progress = silent) -> pd.DataFrame:
    """One row per group and topic: the share, its interval (none below ``min_answers``), counts."""
    known = answers[list(columns)].map(key).ne("").all(axis=1)
    table = answers[known]  # answers with no value in a grouping column (an undated conference) are left out
    if table.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    shares_all, weights_all = table[topic_columns(k)].to_numpy(), _weights(table, cfg)
    named = table[list(columns)].map(key)
    labels = functools.reduce(lambda joined, column: joined + " | " + named[column], columns[1:], named[columns[0]])
    rows_of = group_rows(labels)
    rows = []
    groups = sorted(rows_of, key=lambda g: _sort_key(table.iloc[rows_of[g][0]], columns))
    for group in progress(groups, len(groups), f"groups by {' x '.join(columns)}"):
        rows_in = rows_of[group]
        shares, weights = shares_all[rows_in], weights_all[rows_in]
        n = len(rows_in)
        share = weights @ shares / weights.sum()
        if n >= cfg.min_answers:
            low, high = bca_interval(shares, weights, cfg, rng)
            method = interval_label(cfg, n)
        else:
            low = high = np.full(k, np.nan)
            method = f"none: {n} answer{'s' if n != 1 else ''}, fewer than {cfg.min_answers}"
        for topic in range(k):
            rows.append({"group": group, "topic": topic, "topic_label": "", "estimand": estimand_label(cfg),
                         "share": share[topic],
                         "ci_low": low[topic], "ci_high": high[topic], "interval": method, "n_answers": n,
                         "n_conferences": int(table.conference_id.iloc[rows_in].nunique()),
                         "n_tokens": int(table.n_tokens.iloc[rows_in].sum()), "flagged": n < cfg.min_answers})
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def group_rows(labels: pd.Series) -> dict[str, np.ndarray]:
    """Each label's row positions, in order (one pass; a mask per group would cost groups x rows)."""
    return labels.groupby(labels, sort=False).indices


def _sort_key(first: pd.Series, columns: Sequence[str]) -> tuple:
    """A group's place in the table, from its first answer: numbers (years) in numeric order."""
    return tuple((0, first[c]) if isinstance(first[c], (int, np.integer)) else (1, str(first[c])) for c in columns)


@dataclass(frozen=True)
class Stratum:
    """The answers of one stratum: shares (n x k), weights, and which rows are group A."""

    shares: np.ndarray
    weights: np.ndarray
    in_a: np.ndarray  # bool, the observed labels

    @property
    def n_a(self) -> int:
        return int(self.in_a.sum())

    def arrangements(self) -> np.ndarray:
        """Every assignment of n_a A-labels to the stratum's rows (bool, arrangements x n)."""
        n = len(self.in_a)
        combos = np.array(list(itertools.combinations(range(n), self.n_a)), dtype=int).reshape(-1, self.n_a)
        result = np.zeros((len(combos), n), dtype=bool)
        np.put_along_axis(result, combos, True, axis=1)
        return result

    def shuffled(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return rng.permuted(np.tile(self.in_a, (count, 1)), axis=1)


def _side(shares: np.ndarray, weights: np.ndarray, member: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted mean, variance of that mean, and size of one side, for each arrangement (rows of
    ``member``): var = n/(n-1) sum w^2 (y - mean)^2 / (sum w)^2, which is s^2/n for equal weights."""
    w = member * weights  # arrangements x n
    total = w.sum(axis=1)[:, None]
    mean = (w @ shares) / total
    n = member.sum(axis=1)[:, None].astype(float)
    squares = (w ** 2) @ (shares ** 2) - 2 * mean * ((w ** 2) @ shares) + mean ** 2 * (w ** 2).sum(axis=1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.where(n > 1, n / (n - 1) * squares / total ** 2, np.nan)
    return mean, np.maximum(variance, 0.0), n


def studentised(strata: Sequence[Stratum], members: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stratified difference, its standard error and t for each arrangement (arrangements x k).

    A side of one answer has no variance of its own; it borrows the stratum's pooled one
    (both sides' squared deviations over n - 2), and a stratum of two single answers adds no
    variance at all (its difference still counts in the estimate).
    """
    weighted_difference, weighted_variance, total_weight = 0.0, 0.0, 0.0
    for stratum, member in zip(strata, members):
        mean_a, var_a, n_a = _side(stratum.shares, stratum.weights, member)
        mean_b, var_b, n_b = _side(stratum.shares, stratum.weights, ~member)
        pooled_df = n_a + n_b - 2
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = np.where(pooled_df > 0, (np.nan_to_num(var_a) * n_a * (n_a - 1) + np.nan_to_num(var_b) * n_b
                                              * (n_b - 1)) / pooled_df, 0.0)
        var_a = np.where(np.isnan(var_a), pooled / n_a, var_a)
        var_b = np.where(np.isnan(var_b), pooled / n_b, var_b)
        weight = n_a * n_b / (n_a + n_b)
        weighted_difference = weighted_difference + weight * (mean_a - mean_b)
        weighted_variance = weighted_variance + weight ** 2 * (var_a + var_b)
        total_weight = total_weight + weight
    estimate = weighted_difference / total_weight
    se = np.sqrt(weighted_variance) / total_weight
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, estimate / np.where(se > 0, se, 1.0), np.sign(estimate) * np.inf)
    return estimate, se, np.nan_to_num(t, nan=0.0)


@dataclass(frozen=True)
class PermutationTest:
    """Per topic: the stratified estimate, its standard error, t, the two-sided p, and the
    permutation distribution's critical |t| at the significance level."""

    estimate: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    critical: np.ndarray
    method: str

    def detectable(self, power: float = 0.8) -> np.ndarray:
        """The smallest true difference this test detects with ``power``: (critical |t| +
        z_power) standard errors (Bloom 1995; 2.8 SE for a normal test at 0.05 and 80%),
        with the critical value from the permutation distribution itself."""
        from scipy.stats import norm

        return (self.critical + norm.ppf(power)) * self.se


def permutation_test(strata: Sequence[Stratum], cfg: CompareConfig, rng: np.random.Generator) -> PermutationTest:
    """The studentised permutation test within strata, exact when the arrangements are few."""
    observed = [s.in_a[None, :] for s in strata]
    estimate, se, t = studentised(strata, observed)
    counts = [math.comb(len(s.in_a), s.n_a) for s in strata]
    total = math.prod(counts)
    if total <= cfg.exact_limit:
        grids = np.meshgrid(*[np.arange(c) for c in counts], indexing="ij")
        members = [s.arrangements()[grid.ravel()] for s, grid in zip(strata, grids)]
        permuted = np.abs(studentised(strata, members)[2])
        method = f"exact, {total} arrangements within strata"
    else:
        chunks = []
        for size in _chunks(cfg.permutations, 8 * _batch(sum(len(s.in_a) for s in strata), len(t[0]))):
            chunks.append(np.abs(studentised(strata, [s.shuffled(size, rng) for s in strata])[2]))
        permuted = np.vstack(chunks)
        method = f"Monte Carlo, {cfg.permutations} of {total:.3g} arrangements within strata"
    exceed = (permuted >= np.abs(t[0]) - 1e-9 * np.maximum(1.0, np.abs(t[0]))).sum(axis=0)
    # Exact: the observed arrangement is among those counted; Monte Carlo: add it (Phipson & Smyth).
    p = exceed / total if total <= cfg.exact_limit else (1.0 + exceed) / (1.0 + cfg.permutations)
    critical = np.quantile(permuted, 1 - cfg.significance, axis=0)
    return PermutationTest(estimate[0], se[0], t[0], p, critical, method)


def _strata(answers: pd.DataFrame, design: ContrastDesign, k: int, cfg: CompareConfig) -> list[Stratum]:
    _, column, group_a, group_b, within = design.contrast
    labels, strata_keys = answers[column].map(key), answers[within].map(key)
    shares, weights = answers[topic_columns(k)].to_numpy(), _weights(answers, cfg)
    result = []
    for value in design.strata:
        mask = ((strata_keys == value) & labels.isin([group_a, group_b])).to_numpy()
        result.append(Stratum(shares[mask], weights[mask], (labels[mask] == group_a).to_numpy()))
    return result


def stratified_interval(strata: Sequence[Stratum], cfg: CompareConfig,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap-t interval of the stratified difference, answers resampled within each side
    of each stratum, intersected with [-1, 1], where a difference of shares lies (which keeps
    its coverage: the truth is never cut off)."""
    total = sum(s.n_a * (len(s.in_a) - s.n_a) / len(s.in_a) for s in strata)
    sides = []
    for s in strata:
        weight = s.n_a * (len(s.in_a) - s.n_a) / len(s.in_a) / total
        sides += [(s.shares[s.in_a], s.weights[s.in_a], weight), (s.shares[~s.in_a], s.weights[~s.in_a], -weight)]
    low, high = studentised_interval(sides, cfg, rng)
    return np.maximum(low, -1.0), np.minimum(high, 1.0)


def contrasts(answers: pd.DataFrame, k: int, design: DesignReport, cfg: CompareConfig, root_seed: int,
              model: str, progress: Progress = silent) -> pd.DataFrame:
    """One row per estimated contrast and topic (refused contrasts have none; see the design)."""
    frames = []
    for contrast_design in progress(design.contrasts, len(design.contrasts), "contrasts"):
        if contrast_design.refused or not contrast_design.strata:
            continue
        name, column, group_a, group_b, within = contrast_design.contrast
        rng = rng_for(root_seed, model, "contrast", name)
        strata = _strata(answers, contrast_design, k, cfg)
        test = permutation_test(strata, cfg, rng)
        stratified = answers[answers[within].map(key).isin(contrast_design.strata)]
        conferences = stratified.groupby(stratified[column].map(key)).conference_id.nunique()
        n_a, n_b = (sum(int(s.in_a.sum()) for s in strata), sum(int((~s.in_a).sum()) for s in strata))
        if min(n_a, n_b) >= cfg.min_answers and all(min(s.n_a, len(s.in_a) - s.n_a) >= 2 for s in strata):
            low, high = stratified_interval(strata, cfg, rng)
            interval = contrast_interval_label(cfg) + f" ({within})"
        else:
            low = high = np.full(k, np.nan)
            interval = (f"none: {min(n_a, n_b)} answers on the smaller side within {within}, fewer than "
                        f"{cfg.min_answers} (or a side with one answer in a stratum)")
        frames.append(pd.DataFrame({
            "contrast": name, "topic": range(k), "topic_label": "", "group_a": group_a, "group_b": group_b,
            "within": within, "estimand": "A minus B within strata, each the " + estimand_label(cfg),
            "estimate": test.estimate, "se": test.se, "detectable": test.detectable(),
            "ci_low": low, "ci_high": high, "interval": interval, "t": test.t, "p": test.p, "q": np.nan,
            "p_method": test.method, "smallest_p": contrast_design.smallest_p,
            "testable": not contrast_design.untestable, "n_answers_a": n_a, "n_answers_b": n_b,
            "n_conferences_a": conferences[group_a], "n_conferences_b": conferences[group_b], "n_strata": len(strata),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CONTRAST_COLUMNS)


def adjust(p: pd.Series, method: str) -> pd.Series:
    """q-values over one family of tests: Benjamini-Yekutieli (valid under any dependence, as
    between topic shares that sum to one) or Benjamini-Hochberg."""
    from scipy.stats import false_discovery_control

    q = pd.Series(np.nan, index=p.index)
    finite = p.notna()
    if finite.any():
        q[finite] = false_discovery_control(p[finite].to_numpy(float), method=method)
    return q


def group_file_name(columns: Sequence[str]) -> str:
    return "by_" + "_".join(columns)


def emphasis_tables(answer_table: pd.DataFrame, k: int, design: DesignReport, cfg: CompareConfig, root_seed: int,
                    model: str, progress: Progress = silent) -> dict[str, pd.DataFrame]:
    """All emphasis tables for one model, from its answer mixtures. The contrasts' q-values are
    set over the whole family a run reports (``family_q``), not here."""
    answers = compared_answers(answer_table, k, cfg)
    tables = {}
    for by in cfg.by:
        columns = [by] if isinstance(by, str) else list(by)
        name = group_file_name(columns)
        tables[name] = group_shares(answers, columns, k, cfg, rng_for(root_seed, model, name), progress)
    tables["contrasts"] = contrasts(answers, k, design, cfg, root_seed, model, progress)
    return tables


def family_q(contrast_tables: Sequence[pd.DataFrame], method: str) -> list[pd.DataFrame]:
    """Each table with ``q`` adjusted over all of them together (models x contrasts x topics)."""
    p = pd.concat([table.p for table in contrast_tables], ignore_index=True) if contrast_tables else pd.Series()
    q = adjust(p.astype(float), method).to_numpy()
    bounds = np.cumsum([0, *(len(table) for table in contrast_tables)])
    return [table.assign(q=q[start:end]) for table, start, end in zip(contrast_tables, bounds[:-1], bounds[1:])]


def robustness(reference: pd.DataFrame, refits: list[tuple[pd.DataFrame, np.ndarray]], significance: float) -> pd.DataFrame:
    """For each contrast and topic: in how many seeds the finding holds.

    A seed holds when its topic matched to the reference topic (``refits`` pairs each
    refit's contrasts with its topic matching, -1 where no refit topic is similar enough to
    count as the same topic) has an estimate of the same sign and permutation p below
    ``significance`` (unadjusted: each seed is one look at the same test); the reference run
    counts as one seed, an unmatched topic never holds.
    """
    rows = []
    for name, ref in reference.groupby("contrast", sort=False):
        ref = ref.set_index("topic")
        for topic, row in ref.iterrows():
            holds = [bool(row.p < significance)]
            for contrasts_of_refit, matches in refits:
                if matches[topic] < 0:
                    holds.append(False)
                    continue
                other = contrasts_of_refit[contrasts_of_refit.contrast == name].set_index("topic").loc[matches[topic]]
                holds.append(bool(np.sign(other.estimate) == np.sign(row.estimate) and other.p < significance))
            rows.append({"contrast": name, "topic": topic, "topic_label": "", "estimate": row.estimate, "p": row.p,
                         "seeds": len(holds), "seeds_holding": sum(holds), "share_holding": sum(holds) / len(holds)})
    return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
