"""Words a group uses distinctively: weighted log-odds with an informative Dirichlet prior.

Monroe, Colaresi & Quinn (2008), "Fightin' Words", Political Analysis 16(4), eqs. 16-22. For
word w, groups i and j with counts y_w^i, y_w^j and totals n^i, n^j, and a prior alpha_w from
the whole corpus (alpha_w = a0 * y_w / n, a0 = ``distinctive.prior_strength``; alpha_0 = a0):

    delta_w = log[(y_w^i + alpha_w) / (n^i + alpha_0 - y_w^i - alpha_w)]
              - log[(y_w^j + alpha_w) / (n^j + alpha_0 - y_w^j - alpha_w)]        (eq. 16)
    var(delta_w) ~= 1 / (y_w^i + alpha_w) + 1 / (y_w^j + alpha_w)                  (eq. 20)
    z_w = delta_w / sqrt(var(delta_w))                                              (eq. 22)

Within a topic, a unit's counts are weighted by its share of that topic. When the two groups
share strata (conferences by default), the log-odds are computed in each stratum, with the
prior from that stratum's text (every compared unit in it), and pooled by inverse variance, so a
conference's agenda is not read as a speaker's vocabulary; a prior from the whole corpus would
shrink the smaller side of each stratum toward the corpus rate and bias every stratum alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline.design import DesignReport, key
from pipeline.schemas import DISTINCTIVE

DISTINCTIVE_COLUMNS = list(DISTINCTIVE.columns)


def log_odds(counts_a: np.ndarray, counts_b: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """delta and its variance (eqs. 16 and 20) for every word; ``prior`` is alpha_w."""
    alpha_0 = prior.sum()
    odds_a = (counts_a + prior) / (counts_a.sum() + alpha_0 - counts_a - prior)
    odds_b = (counts_b + prior) / (counts_b.sum() + alpha_0 - counts_b - prior)
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


def distinctive_words(units: pd.DataFrame, counts: sp.csr_matrix, vocabulary: list[str], design: DesignReport,
                      prior_strength: float, scopes: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per contrast, scope and word used by either group: counts, log-odds, se and z.

    ``units`` are the compared units (rows of ``counts``); ``scopes`` maps a scope name to
    the units' weights in it ("overall": ones; "<model> T<k>": the units' shares of topic k).
    """
    frames = []
    estimated = [c for c in design.contrasts if not c.refused]
    # Each scope's weighted counts once, shared by every contrast.
    weighted_counts = {scope: sp.diags(weights) @ counts for scope, weights in scopes.items()} if estimated else {}
    for contrast_design in estimated:
        name, column, group_a, group_b, within = contrast_design.contrast
        labels, strata_keys = units[column].map(key).to_numpy(), units[within].map(key).to_numpy()
        strata = contrast_design.strata or ("",)
        for scope, weighted in weighted_counts.items():
            pairs = []
            for stratum in strata:
                in_stratum = strata_keys == stratum if contrast_design.strata else np.ones(len(units), bool)
                sides = [np.asarray(weighted[in_stratum & (labels == group)].sum(axis=0)).ravel()
                         for group in (group_a, group_b)]
                reference = np.asarray(weighted[in_stratum].sum(axis=0)).ravel()
                pairs.append((*sides, prior_from(reference, prior_strength)))
            delta, variance, z = pooled_log_odds(pairs)
            count_a, count_b = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
            used = (count_a + count_b) > 0
            frames.append(pd.DataFrame({
                "contrast": name, "scope": scope, "term": np.asarray(vocabulary)[used], "group_a": group_a,
                "group_b": group_b, "within": within if contrast_design.strata else "",
                "n_strata": len(contrast_design.strata), "count_a": count_a[used], "count_b": count_b[used],
                "log_odds": delta[used], "se": np.sqrt(variance[used]), "z": z[used],
            }).sort_values(["z", "term"], ascending=[False, True], kind="stable"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=DISTINCTIVE_COLUMNS)
