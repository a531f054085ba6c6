"""Topic emphasis on answers: group shares with intervals over conferences, and contrasts
tested by a studentised permutation of the units that are exchangeable.

The estimand, everywhere: a group's share of topic k is the mean over its answers of each
answer's token-weighted share of k (``answer_topics.csv``), answers weighted equally
(``compare.weight: answers``) or by their tokens (``tokens``). Only the genres in
``compare.kinds`` (answers by default) are compared.

Answers at one conference share its agenda, so the conference is the unit of independent
information. A group's share gets an interval over its conferences (CR2 with Satterthwaite
df, on the logit scale: ``clustered.clustered_mean_interval``), and only from
``compare.min_conferences`` conferences and ``compare.min_answers`` answers (NA with the
reason otherwise; hollow in figures): the target is the group's share over conferences like
these, which one conference cannot tell apart from that conference's agenda.

A contrast A - B is compared within blocks of exchangeable units (``design.permutation_blocks``):
the answers of one conference when the label varies within conferences (speaker), whole
conferences within the strata they link when it does not (year). Its estimate is the
stratified difference sum_s w_s (mean_As - mean_Bs) / sum_s w_s with w_s = n_As n_Bs / (n_As +
n_Bs) over the stratum's units (the Cochran-Mantel-Haenszel weights; a conference-level unit is
its answers' weighted mean, weighted by their total weight). Its p-value is a permutation test
of the studentised statistic (estimate over its standard error; Chung & Romano 2013, valid for
equal means even with unequal variances) with labels permuted only within blocks, as in coin's
and permute's blocked designs: every arrangement when there are at most ``compare.exact_limit``
(p is then exact, the share of arrangements at least as extreme, the observed one included),
else ``compare.permutations`` random ones with p = (1 + exceed) / (1 + B) (Phipson & Smyth
2010). Its interval comes from the same permutation distribution: estimate +- c se, with c the
distribution's quantile of |t| at the interval's level (the studentised permutation
distribution estimates the sampling distribution of t: Chung & Romano 2013, Theorem 2.1).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.clustered import clustered_mean_interval
from pipeline.config import CompareConfig
from pipeline.design import ContrastDesign, DesignReport, count, key, plural
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


def interval_label(cfg: CompareConfig) -> str:
    """The interval of a group's share as tables and captions name it."""
    return f"{cfg.level:.0%} interval over conferences (CR2, Satterthwaite t, logit scale)"


def no_interval(n_answers: int, n_conferences: int, cfg: CompareConfig) -> str:
    """Why a group has no interval ("" when it has one)."""
    if n_answers < cfg.min_answers:
        return f"none: {n_answers} answer{'s' if n_answers != 1 else ''}, fewer than {cfg.min_answers}"
    if n_conferences < cfg.min_conferences:
        return (f"none: {n_conferences} conference{'s' if n_conferences != 1 else ''}, fewer than "
                f"{cfg.min_conferences} (a conference's agenda is not told apart from the group's emphasis)")
    return ""


def contrast_interval_label(cfg: CompareConfig, unit: str) -> str:
    """The interval of a contrast as captions and tables name it."""
    return f"{cfg.level:.0%} studentised permutation interval, {unit}s exchanged within blocks"


def estimand_label(cfg: CompareConfig) -> str:
    """The estimand as every caption and sentence names it."""
    weighting = "answers weighted equally" if cfg.weight == "answers" else "answers weighted by their tokens"
    return f"mean over {'/'.join(cfg.kinds)}s of each one's token-weighted topic share ({weighting})"


def _batch(n: int, k: int) -> int:
    """Arrangements per batch so that one batch holds about 4 million numbers."""
    return max(1, min(256, 4_000_000 // max(n * k, 1)))


def _chunks(total: int, size: int = 256) -> Iterator[int]:
    while total > 0:
        yield min(size, total)
        total -= size


def group_shares(answers: pd.DataFrame, columns: Sequence[str], k: int, cfg: CompareConfig,
                 progress: Progress = silent) -> pd.DataFrame:
    """One row per group and topic: the share, its interval over conferences (none below
    ``min_answers`` answers or ``min_conferences`` conferences), counts."""
    known = answers[list(columns)].map(key).ne("").all(axis=1)
    table = answers[known]  # answers with no value in a grouping column (an undated conference) are left out
    if table.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    shares_all, weights_all = table[topic_columns(k)].to_numpy(), _weights(table, cfg)
    conferences_all = table.conference_id.to_numpy()
    named = table[list(columns)].map(key)
    labels = functools.reduce(lambda joined, column: joined + " | " + named[column], columns[1:], named[columns[0]])
    rows_of = group_rows(labels)
    rows = []
    groups = sorted(rows_of, key=lambda g: _sort_key(table.iloc[rows_of[g][0]], columns))
    for group in progress(groups, len(groups), f"groups by {' x '.join(columns)}"):
        rows_in = rows_of[group]
        shares, weights, conferences = shares_all[rows_in], weights_all[rows_in], conferences_all[rows_in]
        n, n_conferences = len(rows_in), len(set(conferences))
        share = weights @ shares / weights.sum()
        method = no_interval(n, n_conferences, cfg)
        flagged = bool(method)
        if flagged:
            low = high = np.full(k, np.nan)
        else:
            low, high, _ = clustered_mean_interval(shares, weights, conferences, cfg.level)
            method = interval_label(cfg)
        for topic in range(k):
            rows.append({"group": group, "topic": topic, "topic_label": "", "estimand": estimand_label(cfg),
                         "share": share[topic],
                         "ci_low": low[topic], "ci_high": high[topic], "interval": method, "n_answers": n,
                         "n_conferences": n_conferences,
                         "n_tokens": int(table.n_tokens.iloc[rows_in].sum()), "flagged": flagged})
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def group_rows(labels: pd.Series) -> dict[str, np.ndarray]:
    """Each label's row positions, in order (one pass; a mask per group would cost groups x rows)."""
    return labels.groupby(labels, sort=False).indices


def _sort_key(first: pd.Series, columns: Sequence[str]) -> tuple:
    """A group's place in the table, from its first answer: numbers (years) in numeric order."""
    return tuple((0, first[c]) if isinstance(first[c], (int, np.integer)) else (1, str(first[c])) for c in columns)


@dataclass(frozen=True)
class Stratum:
    """The rows of one stratum: shares (n x k), weights, and each row's unit within its block
    (the row itself for answers; its conference for a conference-level label)."""

    shares: np.ndarray
    weights: np.ndarray
    unit: np.ndarray  # int, an index into the block's units


@dataclass(frozen=True)
class Block:
    """Strata whose units one permutation exchanges, with the units' observed labels."""

    strata: tuple[Stratum, ...]
    in_a: np.ndarray  # bool per unit

    @classmethod
    def of_answers(cls, shares: np.ndarray, weights: np.ndarray, in_a: np.ndarray) -> Block:
        """One stratum whose rows are the units (answers of one conference)."""
        return cls((Stratum(shares, weights, np.arange(len(in_a))),), np.asarray(in_a, bool))

    @property
    def n_a(self) -> int:
        return int(self.in_a.sum())

    def arrangements(self) -> np.ndarray:
        """Every assignment of n_a A-labels to the block's units (bool, arrangements x units)."""
        n = len(self.in_a)
        combos = np.array(list(itertools.combinations(range(n), self.n_a)), dtype=int).reshape(-1, self.n_a)
        result = np.zeros((len(combos), n), dtype=bool)
        np.put_along_axis(result, combos, True, axis=1)
        return result

    def shuffled(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return rng.permuted(np.tile(self.in_a, (count, 1)), axis=1)

    def members(self, labels: np.ndarray) -> list[np.ndarray]:
        """Each stratum's rows in A under unit labels (arrangements x units)."""
        return [labels[:, stratum.unit] for stratum in self.strata]


def _side(shares: np.ndarray, weights: np.ndarray, member: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted mean, variance of that mean, and size of one side, for each arrangement (rows of
    ``member``): var = n/(n-1) sum w^2 (y - mean)^2 / (sum w)^2, which is s^2/n for equal weights."""
    w = member * weights  # arrangements x n
    total = w.sum(axis=1)[:, None]
    n = member.sum(axis=1)[:, None].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty side (NaN) adds nothing: see studentised
        mean = (w @ shares) / total
        squares = (w ** 2) @ (shares ** 2) - 2 * mean * ((w ** 2) @ shares) + mean ** 2 * (w ** 2).sum(axis=1)[:, None]
        variance = np.where(n > 1, n / (n - 1) * squares / total ** 2, np.nan)
    return mean, np.maximum(variance, 0.0), n


def studentised(strata: Sequence[Stratum], members: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stratified difference, its standard error and t for each arrangement (arrangements x k).

    A side of one unit has no variance of its own; it borrows the stratum's pooled one
    (both sides' squared deviations over n - 2), and a stratum of two single units adds no
    variance at all (its difference still counts in the estimate). A stratum whose units an
    arrangement gives all to one side (whole conferences moved in a block of several strata)
    adds nothing to that arrangement.
    """
    weighted_difference, weighted_variance, total_weight = 0.0, 0.0, 0.0
    for stratum, member in zip(strata, members):
        mean_a, var_a, n_a = _side(stratum.shares, stratum.weights, member)
        mean_b, var_b, n_b = _side(stratum.shares, stratum.weights, ~member)
        pooled_df = n_a + n_b - 2
        both = (n_a > 0) & (n_b > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = np.where(pooled_df > 0, (np.nan_to_num(var_a) * n_a * (n_a - 1) + np.nan_to_num(var_b) * n_b
                                              * (n_b - 1)) / pooled_df, 0.0)
            var_a = np.where(np.isnan(var_a), pooled / n_a, var_a)
            var_b = np.where(np.isnan(var_b), pooled / n_b, var_b)
        weight = np.where(both, n_a * n_b / np.maximum(n_a + n_b, 1), 0.0)
        weighted_difference = weighted_difference + np.where(both, weight * (mean_a - mean_b), 0.0)
        weighted_variance = weighted_variance + np.where(both, weight ** 2 * (var_a + var_b), 0.0)
        total_weight = total_weight + weight
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = weighted_difference / total_weight
        se = np.sqrt(weighted_variance) / total_weight
        t = np.where(se > 0, estimate / np.where(se > 0, se, 1.0), np.sign(estimate) * np.inf)
    return estimate, se, np.nan_to_num(t, nan=0.0)


@dataclass(frozen=True)
class PermutationTest:
    """Per topic: the stratified estimate, its standard error, t, the two-sided p, and the
    permutation distribution's critical |t| at the p a finding needs and at the interval's level."""

    estimate: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    critical: np.ndarray  # at the p a finding needs (inf: no arrangement reaches it)
    interval_critical: np.ndarray  # at the interval's level
    method: str

    def detectable(self, power: float = 0.8) -> np.ndarray:
        """The smallest true difference this test detects with ``power``: (critical |t| +
        z_power) standard errors (Bloom 1995; 2.8 SE for a normal test at 0.05 and 80%),
        with the critical value from the permutation distribution itself (inf where no
        arrangement reaches the p a finding needs)."""
        from scipy.stats import norm

        return np.where(np.isfinite(self.critical), (np.minimum(self.critical, 1e300) + norm.ppf(power)) * self.se, np.inf)


def permutation_test(blocks: Sequence[Block], cfg: CompareConfig, rng: np.random.Generator,
                     finding_p: float | None = None) -> PermutationTest:
    """The studentised permutation test within blocks, exact when the arrangements are few;
    ``finding_p`` (default: the significance level) is the p at which the detectable difference
    is computed: the p a finding needs on the scale findings are declared on."""
    strata = [stratum for block in blocks for stratum in block.strata]

    def statistic(labels: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return studentised(strata, [m for block, unit_labels in zip(blocks, labels) for m in block.members(unit_labels)])

    estimate, se, t = statistic([block.in_a[None, :] for block in blocks])
    counts = [math.comb(len(block.in_a), block.n_a) for block in blocks]
    total = math.prod(counts)
    if total <= cfg.exact_limit:
        grids = np.meshgrid(*[np.arange(c) for c in counts], indexing="ij")
        permuted = np.abs(statistic([block.arrangements()[grid.ravel()] for block, grid in zip(blocks, grids)])[2])
        method = f"exact, {total} arrangements within blocks"
    else:
        chunks = []
        for size in _chunks(cfg.permutations, 8 * _batch(sum(len(s.weights) for s in strata), len(t[0]))):
            chunks.append(np.abs(statistic([block.shuffled(size, rng) for block in blocks])[2]))
        permuted = np.vstack(chunks)
        method = f"Monte Carlo, {cfg.permutations} of {total:.3g} arrangements within blocks"
    exceed = (permuted >= np.abs(t[0]) - 1e-9 * np.maximum(1.0, np.abs(t[0]))).sum(axis=0)
    # Exact: the observed arrangement is among those counted; Monte Carlo: add it (Phipson & Smyth).
    p = exceed / total if total <= cfg.exact_limit else (1.0 + exceed) / (1.0 + cfg.permutations)
    level = cfg.significance if finding_p is None else finding_p
    critical = np.quantile(permuted, 1 - level, axis=0) if level >= 1 / len(permuted) else np.full(len(p), np.inf)
    interval_critical = np.quantile(permuted, cfg.level, axis=0)
    return PermutationTest(estimate[0], se[0], t[0], p, critical, interval_critical, method)


def contrast_blocks(answers: pd.DataFrame, design: ContrastDesign, k: int, cfg: CompareConfig) -> list[Block]:
    """The design's permutation blocks as arrays: answers as they are, or (a conference-level
    label) each stratum's answers of one conference as one row, their weighted mean share."""
    _, column, group_a, group_b, within = design.contrast
    shares, weights = answers[topic_columns(k)].to_numpy(), _weights(answers, cfg)
    if design.unit == "answer":
        position = pd.Series(np.arange(len(answers)), index=answers.answer_id.to_numpy())
        return [Block.of_answers(shares[rows], weights[rows], np.array(block.in_a))
                for block in design.blocks for rows in [position[list(block.units)].to_numpy()]]
    strata_keys = answers[within].map(key).to_numpy()
    conferences = answers.conference_id.astype(str).to_numpy()
    in_groups = answers[column].map(key).isin([group_a, group_b]).to_numpy()
    result = []
    for block in design.blocks:
        unit_of = {conference: index for index, conference in enumerate(block.units)}
        strata = []
        for stratum in block.strata:
            rows = np.flatnonzero(in_groups & (strata_keys == stratum))
            cells = pd.factorize(conferences[rows], sort=True)
            totals = np.zeros((len(cells[1]), k))
            np.add.at(totals, cells[0], shares[rows] * weights[rows, None])
            cell_weights = np.bincount(cells[0], weights=weights[rows])
            strata.append(Stratum(totals / cell_weights[:, None], cell_weights,
                                  np.array([unit_of[c] for c in cells[1]])))
        result.append(Block(tuple(strata), np.array(block.in_a)))
    return result


def contrasts(answers: pd.DataFrame, k: int, design: DesignReport, cfg: CompareConfig, root_seed: int,
              model: str, progress: Progress = silent) -> pd.DataFrame:
    """One row per estimated contrast and topic (refused contrasts have none; see the design).

    The interval needs the sides to hold ``compare.min_answers`` units (answers, or conferences
    for a conference-level label) and enough arrangements for its level; the detectable
    difference is computed at the p a finding needs in the run's family (``finding_p``), and is
    NA where no difference could be detected (too few arrangements, or a difference beyond 1).
    """
    frames = []
    for contrast_design in progress(design.contrasts, len(design.contrasts), "contrasts"):
        if contrast_design.refused or not contrast_design.blocks:
            continue
        name, column, group_a, group_b, within = contrast_design.contrast
        rng = rng_for(root_seed, model, "contrast", name)
        test = permutation_test(contrast_blocks(answers, contrast_design, k, cfg), cfg, rng, contrast_design.finding_p)
        unit = contrast_design.unit
        units_a, units_b = contrast_design.n_units_a, contrast_design.n_units_b
        if min(units_a, units_b) >= cfg.min_answers and contrast_design.smallest_p <= 1 - cfg.level:
            low = np.maximum(test.estimate - test.interval_critical * test.se, -1.0)
            high = np.minimum(test.estimate + test.interval_critical * test.se, 1.0)
            interval = contrast_interval_label(cfg, unit)
        else:
            low = high = np.full(k, np.nan)
            interval = (f"none: {plural(min(units_a, units_b), unit)} on the smaller side, fewer than {cfg.min_answers}"
                        if min(units_a, units_b) < cfg.min_answers else
                        f"none: {count(contrast_design.arrangements)} arrangements, too few for a "
                        f"{cfg.level:.0%} interval")
        detectable = test.detectable()
        detectable = np.where(np.isfinite(detectable) & (detectable <= 1.0), detectable, np.nan)
        frames.append(pd.DataFrame({
            "contrast": name, "topic": range(k), "topic_label": "", "group_a": group_a, "group_b": group_b,
            "within": within, "estimand": "A minus B within strata, each the " + estimand_label(cfg),
            "estimate": test.estimate, "se": test.se, "detectable": detectable,
            "ci_low": low, "ci_high": high, "interval": interval, "t": test.t, "p": test.p, "q": np.nan,
            "p_method": f"{test.method} ({unit}s exchanged)", "smallest_p": contrast_design.smallest_p,
            "finding_p": contrast_design.finding_p, "testable": not contrast_design.untestable, "unit": unit,
            "n_answers_a": contrast_design.n_stratified_a, "n_answers_b": contrast_design.n_stratified_b,
            "n_conferences_a": contrast_design.n_stratified_conferences_a,
            "n_conferences_b": contrast_design.n_stratified_conferences_b,
            "n_strata": len(contrast_design.strata),
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
        tables[name] = group_shares(answers, columns, k, cfg, progress)
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
