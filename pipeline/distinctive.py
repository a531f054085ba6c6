"""Words a group uses distinctively: weighted log-odds with an informative Dirichlet prior.

Monroe, Colaresi & Quinn (2008), "Fightin' Words", Political Analysis 16(4), eqs. 16-22. For
word w, groups i and j with counts y_w^i, y_w^j and totals n^i, n^j, and a prior alpha_w from
the compared text (alpha_w = a0 * y_w / n, a0 = ``distinctive.prior_strength``; alpha_0 = a0):

    delta_w = log[(y_w^i + alpha_w) / (n^i + alpha_0 - y_w^i - alpha_w)]
              - log[(y_w^j + alpha_w) / (n^j + alpha_0 - y_w^j - alpha_w)]        (eq. 16)
    var(delta_w) ~= 1 / (y_w^i + alpha_w) + 1 / (y_w^j + alpha_w)                  (eq. 20)
    z_w = delta_w / sqrt(var(delta_w))                                              (eq. 22)

Within a topic, a unit's counts are weighted by its share of that topic. When the two groups
share strata (conferences by default), the log-odds are computed in each stratum, with the
prior from that stratum's text (every compared unit in it), and pooled by inverse variance, so a
conference's agenda is not read as a speaker's vocabulary; a prior from the whole corpus would
shrink the smaller side of each stratum toward the corpus rate and bias every stratum alike.

The z are not independent normal deviates (words share answers, answers share conferences), so
the count of words beyond |z| = 3 is calibrated by permutation (``chance_of_distinctive``):
the design's permutation blocks shuffle whole answers within a conference (whole conferences
for a conference-level label such as year), the z are recomputed, and the count under each
shuffle gives the number expected by chance and the permutation p of the observed count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline.design import ContrastDesign, DesignReport, key
from pipeline.schemas import DISTINCTIVE, DISTINCTIVE_CHANCE
from pipeline.seeds import rng_for

DISTINCTIVE_COLUMNS = list(DISTINCTIVE.columns)
CHANCE_COLUMNS = list(DISTINCTIVE_CHANCE.columns)


def log_odds(counts_a: np.ndarray, counts_b: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """delta and its variance (eqs. 16 and 20) for every word (the last axis; leading axes are
    labellings); ``prior`` is alpha_w."""
    alpha_0 = prior.sum()
    odds_a = (counts_a + prior) / (counts_a.sum(axis=-1, keepdims=True) + alpha_0 - counts_a - prior)
    odds_b = (counts_b + prior) / (counts_b.sum(axis=-1, keepdims=True) + alpha_0 - counts_b - prior)
    return np.log(odds_a) - np.log(odds_b), 1.0 / (counts_a + prior) + 1.0 / (counts_b + prior)


def prior_from(corpus_counts: np.ndarray, strength: float) -> np.ndarray:
    """alpha_w = strength x the word's share of the corpus (a floor keeps unseen words finite)."""
    return strength * np.maximum(corpus_counts, 0.5) / np.maximum(corpus_counts, 0.5).sum()


def pooled_log_odds(strata: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Inverse-variance pooling of each stratum's log-odds (its counts of A, of B, and its
    prior): delta, its variance, and z."""
    weights_sum, weighted = 0.0, 0.0
    for counts_a, counts_b, prior in strata:
        delta, variance = log_odds(counts_a, counts_b, prior)
        weighted, weights_sum = weighted + delta / variance, weights_sum + 1.0 / variance
    delta, variance = weighted / weights_sum, 1.0 / weights_sum
    return delta, variance, delta / np.sqrt(variance)


def _strata_rows(units: pd.DataFrame, design: ContrastDesign) -> list[np.ndarray]:
    """The rows of each stratum the contrast is compared within (all rows when it has none)."""
    if not design.strata:
        return [np.arange(len(units))]
    strata_keys = units[design.contrast.within].map(key).to_numpy()
    return [np.flatnonzero(strata_keys == stratum) for stratum in design.strata]


def _pooled_z(counts: sp.csr_matrix, strata: Sequence[np.ndarray], in_a: np.ndarray, in_b: np.ndarray,
              prior_strength: float) -> tuple[np.ndarray, ...]:
    """Counts of A and B summed over strata, and the pooled delta, variance and z, for each
    labelling (``in_a``, ``in_b``: labellings x rows, bool)."""
    pairs = []
    for rows in strata:
        within = counts[rows]
        sides = [np.asarray((sp.csr_matrix(mask[:, rows].astype(float)) @ within).todense()) for mask in (in_a, in_b)]
        pairs.append((*sides, prior_from(np.asarray(within.sum(axis=0)).ravel(), prior_strength)))
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs), *pooled_log_odds(pairs)


def _group_masks(units: pd.DataFrame, design: ContrastDesign) -> tuple[np.ndarray, np.ndarray]:
    labels = units[design.contrast.column].map(key).to_numpy()
    return labels == design.contrast.group_a, labels == design.contrast.group_b


def shuffled_labels(units: pd.DataFrame, design: ContrastDesign, count: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` relabellings of the rows (in A, in B: count x rows) under the design's null:
    within each permutation block the units' labels are shuffled, and every row takes its unit's
    label (its answer's, or its conference's for a conference-level label); rows outside the
    blocks keep theirs."""
    in_a, in_b = _group_masks(units, design)
    in_a, in_b = np.tile(in_a, (count, 1)), np.tile(in_b, (count, 1))
    unit_column = units.answer_id if design.unit == "answer" else units.conference_id
    unit_keys = unit_column.astype(str).to_numpy()
    in_groups = in_a[0] | in_b[0]
    strata = units[design.contrast.within].map(key).to_numpy() if design.unit == "conference" else None
    for block in design.blocks:
        shuffled = rng.permuted(np.tile(np.array(block.in_a, bool), (count, 1)), axis=1)
        index_of = {unit: i for i, unit in enumerate(block.units)}
        rows = np.flatnonzero(in_groups & np.isin(unit_keys, block.units))
        if strata is not None:  # a conference moves in the strata of its block only
            rows = rows[np.isin(strata[rows], block.strata)]
        columns = shuffled[:, [index_of[u] for u in unit_keys[rows]]]
        in_a[:, rows], in_b[:, rows] = columns, ~columns
    return in_a, in_b


def chance_of_distinctive(units: pd.DataFrame, counts: sp.csr_matrix, design: DesignReport, prior_strength: float,
                          permutations: int, threshold: float, seed: int) -> pd.DataFrame:
    """Per estimated contrast: the words beyond |z| = ``threshold`` overall, the mean count under
    ``permutations`` shuffles within the design's blocks (the count expected by chance), and
    the permutation p of the observed count, (1 + shuffles reaching it) / (1 + shuffles)."""
    rows = []
    for contrast_design in (c for c in design.contrasts if not c.refused):
        name = contrast_design.contrast.name
        strata = _strata_rows(units, contrast_design)
        in_a, in_b = _group_masks(units, contrast_design)
        count_a, count_b, *_, z = _pooled_z(counts, strata, in_a[None], in_b[None], prior_strength)
        used = (count_a + count_b)[0] > 0
        observed = int((np.abs(z[0, used]) > threshold).sum())
        expected = at_least = np.nan
        if contrast_design.blocks:
            shuffled_a, shuffled_b = shuffled_labels(units, contrast_design, permutations, rng_for(seed, name))
            null = (np.abs(_pooled_z(counts, strata, shuffled_a, shuffled_b, prior_strength)[-1][:, used])
                    > threshold).sum(axis=1)
            expected, at_least = float(null.mean()), int((null >= observed).sum())
        rows.append({"contrast": name, "threshold": threshold, "words": int(used.sum()), "observed": observed,
                     "expected": expected, "share_expected": expected / max(int(used.sum()), 1),
                     "p": (1 + at_least) / (1 + permutations), "permutations": permutations if contrast_design.blocks
                     else 0, "unit": contrast_design.unit})
    return pd.DataFrame(rows, columns=CHANCE_COLUMNS)


def distinctive_words(units: pd.DataFrame, counts: sp.csr_matrix, vocabulary: list[str], design: DesignReport,
                      prior_strength: float, scopes: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per contrast, scope and word used by either group: counts, log-odds, se and z.

    ``units`` are the compared units (rows of ``counts``); ``scopes`` maps a scope name to
    the units' weights in it ("overall": ones; "<model> T<k>": the units' shares of topic k).
    """
    frames = []
    estimated = [c for c in design.contrasts if not c.refused]
    # Each scope's weighted counts once, shared by every contrast.
    weighted_counts = {scope: sp.csr_matrix(sp.diags(weights) @ counts) for scope, weights in scopes.items()} \
        if estimated else {}
    for contrast_design in estimated:
        name, _, group_a, group_b, within = contrast_design.contrast
        strata = _strata_rows(units, contrast_design)
        in_a, in_b = _group_masks(units, contrast_design)
        for scope, weighted in weighted_counts.items():
            count_a, count_b, delta, variance, z = (values[0] for values in
                                                    _pooled_z(weighted, strata, in_a[None], in_b[None], prior_strength))
            used = (count_a + count_b) > 0
            frames.append(pd.DataFrame({
                "contrast": name, "scope": scope, "term": np.asarray(vocabulary)[used], "group_a": group_a,
                "group_b": group_b, "within": within if contrast_design.strata else "",
                "n_strata": len(contrast_design.strata), "count_a": count_a[used], "count_b": count_b[used],
                "log_odds": delta[used], "se": np.sqrt(variance[used]), "z": z[used],
            }).sort_values(["z", "term"], ascending=[False, True], kind="stable"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=DISTINCTIVE_COLUMNS)
