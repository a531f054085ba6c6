"""Topic emphasis by group, with a cluster bootstrap over answers, and group contrasts.

A group's share of topic k is the mean of its units' proportions of k (weighted by token
count when configured). Paragraphs of one answer are not independent, so every interval
resamples whole answers (a cluster bootstrap: Cameron, Gelbach & Miller 2008; Field &
Welsh 2007), within each group. Contrasts between two groups report the difference, its
bootstrap percentile interval, a two-sided permutation p-value over answer labels, and
Benjamini-Hochberg q-values across topics (Benjamini & Hochberg 1995).

Everything is vectorised on per-answer sums: a bootstrap replicate is a vector of counts
(how often each answer is drawn), and a group mean is (counts @ sums) / (counts @ weights).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from pipeline.config import CompareConfig
from pipeline.errors import ConfigError
from pipeline.schemas import CONTRASTS, GROUP_SHARES, ROBUSTNESS, topic_columns
from pipeline.seeds import rng_for

GROUP_COLUMNS = list(GROUP_SHARES.columns)
CONTRAST_COLUMNS = list(CONTRASTS.columns)
_CHUNK = 256


@dataclass(frozen=True)
class Clusters:
    """Per-answer sums: ``sums`` (answers x k) of weighted unit shares, ``weights`` their weights."""

    sums: np.ndarray
    weights: np.ndarray
    n_units: int

    @property
    def n(self) -> int:
        return len(self.weights)

    def mean(self) -> np.ndarray:
        return self.sums.sum(axis=0) / self.weights.sum()


def clusters(shares: np.ndarray, weights: np.ndarray, cluster_ids: Sequence[str]) -> Clusters:
    codes, uniques = pd.factorize(pd.Series(cluster_ids), sort=True)
    sums = np.zeros((len(uniques), shares.shape[1]))
    np.add.at(sums, codes, shares * weights[:, None])
    return Clusters(sums, np.bincount(codes, weights=weights, minlength=len(uniques)), len(shares))


def bootstrap_means(c: Clusters, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Replicates x k group means, each from answers drawn with replacement."""
    counts = rng.multinomial(c.n, np.full(c.n, 1.0 / c.n), size=replicates).astype(float)
    return (counts @ c.sums) / (counts @ c.weights)[:, None]


def percentile_interval(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return low, high


def _chunks(total: int) -> Iterator[int]:
    while total > 0:
        yield min(_CHUNK, total)
        total -= _CHUNK


def permutation_pvalues(a: Clusters, b: Clusters, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """Two-sided p-values per topic for mean(a) - mean(b), shuffling answers between groups.

    p = (1 + #{|permuted diff| >= |observed diff|}) / (1 + permutations) (Phipson & Smyth 2010).
    """
    sums = np.vstack([a.sums, b.sums])
    weights = np.concatenate([a.weights, b.weights])
    observed = np.abs(a.mean() - b.mean())
    exceed = np.zeros_like(observed)
    total_sum, total_weight = sums.sum(axis=0), weights.sum()
    for size in _chunks(permutations):
        order = rng.permuted(np.tile(np.arange(len(weights)), (size, 1)), axis=1)[:, : a.n]
        in_a = np.zeros((size, len(weights)))
        np.put_along_axis(in_a, order, 1.0, axis=1)
        sum_a, weight_a = in_a @ sums, in_a @ weights
        diff = sum_a / weight_a[:, None] - (total_sum - sum_a) / (total_weight - weight_a)[:, None]
        exceed += (np.abs(diff) >= observed - 1e-12).sum(axis=0)
    return (1.0 + exceed) / (1.0 + permutations)


def _key(value: object) -> str:
    return str(value)


def _group_labels(table: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    return table[list(columns)].astype(str).agg(" | ".join, axis=1)


def group_shares(
    table: pd.DataFrame, columns: Sequence[str], share_columns: list[str], cfg: CompareConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per group and topic: share, bootstrap interval, counts, small-group flag."""
    known = table[list(columns)].notna().all(axis=1) & (table[list(columns)].astype(str) != "").all(axis=1)
    table = table[known]  # units with no value in a grouping column (an undated conference) are left out
    if table.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    weights = _weights(table, cfg)
    labels = _group_labels(table, columns)
    rows = []
    for group in sorted(labels.unique(), key=lambda g: _sort_key(table, labels, g, columns)):
        mask = (labels == group).to_numpy()
        c = clusters(table.loc[mask, share_columns].to_numpy(), weights[mask], table.answer_id[mask].tolist())
        low, high = percentile_interval(bootstrap_means(c, cfg.bootstrap.replicates, rng), cfg.bootstrap.level)
        for topic, share in enumerate(c.mean()):
            rows.append({"group": group, "topic": topic, "topic_label": "", "share": share,
                         "ci_low": low[topic], "ci_high": high[topic], "n_units": c.n_units,
                         "n_answers": c.n, "flagged": c.n < cfg.min_answers})
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def _sort_key(table: pd.DataFrame, labels: pd.Series, group: str, columns: Sequence[str]) -> tuple:
    first = table[labels == group].iloc[0]
    return tuple((0, first[c]) if isinstance(first[c], (int, np.integer)) else (1, str(first[c])) for c in columns)


def _weights(table: pd.DataFrame, cfg: CompareConfig) -> np.ndarray:
    return table.n_tokens.to_numpy(dtype=float) if cfg.weight_by_tokens else np.ones(len(table))


def check_contrasts(table: pd.DataFrame, cfg: CompareConfig) -> None:
    """Every contrast names values that exist, else a one-line error listing the known ones."""
    for name, spec in cfg.contrasts.items():
        ((column, values),) = spec.items()
        known = sorted({_key(v) for v in table[column].dropna()})
        for value in values:
            if _key(value) not in known:
                raise ConfigError(
                    f"compare.contrasts.{name}: {column} has no value {_key(value)!r} (known: {', '.join(known)})"
                )


def contrasts(table: pd.DataFrame, share_columns: list[str], cfg: CompareConfig, root_seed: int, model: str) -> pd.DataFrame:
    weights = _weights(table, cfg)
    frames = []
    for name, spec in cfg.contrasts.items():
        ((column, (value_a, value_b)),) = spec.items()
        keys = table[column].map(_key)
        sides = []
        for value in (value_a, value_b):
            mask = (keys == _key(value)).to_numpy()
            sides.append(clusters(table.loc[mask, share_columns].to_numpy(), weights[mask], table.answer_id[mask].tolist()))
        a, b = sides
        rng = rng_for(root_seed, model, "contrast", name)
        boot = bootstrap_means(a, cfg.bootstrap.replicates, rng) - bootstrap_means(b, cfg.bootstrap.replicates, rng)
        low, high = percentile_interval(boot, cfg.bootstrap.level)
        p = permutation_pvalues(a, b, cfg.permutations, rng)
        frames.append(pd.DataFrame({
            "contrast": name, "topic": range(len(share_columns)), "topic_label": "", "diff": a.mean() - b.mean(),
            "ci_low": low, "ci_high": high, "p_perm": p, "q_bh": false_discovery_control(p, method="bh"),
            "group_a": _key(value_a), "group_b": _key(value_b), "n_answers_a": a.n, "n_answers_b": b.n,
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CONTRAST_COLUMNS)


def design_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Answers and units per speaker and year: the design behind every comparison."""
    return (
        table.groupby(["speaker", "year"])
        .agg(n_answers=("answer_id", "nunique"), n_units=("unit_id", "size"))
        .reset_index()
    )


def group_file_name(columns: Sequence[str]) -> str:
    return "by_" + "_".join(columns)


def emphasis_tables(
    table: pd.DataFrame, k: int, cfg: CompareConfig, root_seed: int, model: str
) -> dict[str, pd.DataFrame]:
    """All emphasis tables for one model's unit table (units with undefined mixtures left out)."""
    shares = topic_columns(k)
    table = table.dropna(subset=shares)
    tables = {}
    for by in cfg.by:
        columns = [by] if isinstance(by, str) else list(by)
        name = group_file_name(columns)
        tables[name] = group_shares(table, columns, shares, cfg, rng_for(root_seed, model, name))
    tables["contrasts"] = contrasts(table, shares, cfg, root_seed, model)
    tables["design_counts"] = design_counts(table)
    return tables


ROBUSTNESS_COLUMNS = list(ROBUSTNESS.columns)


def robustness(reference: pd.DataFrame, refits: list[tuple[pd.DataFrame, np.ndarray]], significance: float) -> pd.DataFrame:
    """For each contrast and topic: in how many seeds the finding holds.

    A seed holds when its topic matched to the reference topic (``refits`` pairs each
    refit's contrasts with its topic matching, -1 where no refit topic is similar enough to
    count as the same topic) has a difference of the same sign and BH q below
    ``significance``; the reference run counts as one seed, an unmatched topic never holds.
    """
    rows = []
    for name, ref in reference.groupby("contrast", sort=False):
        ref = ref.set_index("topic")
        for topic, row in ref.iterrows():
            holds = [bool(row.q_bh < significance)]
            for contrasts_of_refit, matches in refits:
                if matches[topic] < 0:
                    holds.append(False)
                    continue
                other = contrasts_of_refit[contrasts_of_refit.contrast == name].set_index("topic").loc[matches[topic]]
                holds.append(bool(np.sign(other["diff"]) == np.sign(row["diff"]) and other.q_bh < significance))
            rows.append({"contrast": name, "topic": topic, "topic_label": "", "diff": row["diff"], "q_bh": row.q_bh,
                         "seeds": len(holds), "seeds_holding": sum(holds), "share_holding": sum(holds) / len(holds)})
    return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
