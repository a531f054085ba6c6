"""Sweeps over k, seeds and backends: one job per fit, a summary per (backend, k), a suggested k.

Each job fits one model on its own seeded subsample of the units (``evaluate.resample_share``,
80% by default) and records coherence, diversity, its top terms and, for backends with a
likelihood, the held-out log perplexity of the units it did not see by document completion.
Stability at each k is computed afterwards from the top terms of its jobs: refits on different
subsamples with different seeds, so it is resampling stability (Greene et al. 2014), which a
seed alone barely perturbs for NMF. Results stream to a CSV one row per finished job, so an
interrupted sweep keeps its work and a rerun resumes it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.diagnostics import (
    COHERENCE_MEASURES,
    coherence,
    document_completion,
    average_jaccard_matrix,
    match_topics,
    resamples,
    topic_diversity,
)
from pipeline.models import BACKENDS, Backend, fit_model
from pipeline.sections import ModelSection
from pipeline.seeds import derive_seed
from pipeline.term_measures import top_terms
from pipeline.vectorize import Matrices

RESULT_COLUMNS = ["data_key", "backend", "k", "seed", "c_v", "c_npmi", "u_mass", "diversity",
                  "heldout_log_perplexity", "fit_seconds", "top_terms"]


@dataclass(frozen=True)
class Job:
    backend: str
    k: int
    seed_index: int

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.backend, self.k, self.seed_index)


def jobs(cfg: Config) -> list[Job]:
    return [Job(b, k, s) for b in cfg.sweep.backends for k in cfg.sweep.k_values() for s in range(cfg.sweep.seeds)]


def data_key(cfg: Config, normalization_key: str) -> str:
    """Names the data and settings a results row belongs to: rows of another key are not mixed in."""
    settings = json.dumps([normalization_key, cfg.run.seed, [model_config(cfg, BACKENDS[b], 2).params.model_dump()
                                                            for b in cfg.sweep.backends],
                           cfg.evaluate.model_dump()], sort_keys=True)
    return hashlib.sha256(settings.encode("utf-8")).hexdigest()[:16]


def model_config(cfg: Config, backend: Backend, k: int) -> ModelSection:
    """The config's own model of this backend (its params, and a covariate model's covariates)
    at k, else the backend's defaults."""
    own = next((m for m in cfg.models if m.backend == backend.name), None)
    settings = own.model_dump(exclude={"name", "k", "seed"}) if own else {"backend": backend.name}
    return backend.config.model_validate({**settings, "name": f"{backend.name}_k{k}", "k": k})


def run_job(job: Job, backend: Backend, cfg: Config, matrices: Matrices, texts: list[list[str]],
            data_key: str) -> dict[str, Any]:
    """Fits one grid point and measures it (runs in a worker process)."""
    model_cfg = model_config(cfg, backend, job.k)
    seed = derive_seed(cfg.run.seed, "sweep", job.backend, str(job.k), str(job.seed_index))
    ids = [str(i) for i in range(len(texts))]
    (sample,) = resamples(len(texts), cfg.evaluate.resample_share, 1, seed)
    result = fit_model(model_cfg, seed, matrices.subset(sample), [ids[i] for i in sample], backend)
    unseen = np.setdiff1d(np.arange(len(texts)), sample)
    heldout = float("nan")
    if backend.infer is not None and len(unseen):
        heldout = document_completion(backend.infer, result.native, result.topic_term, matrices, unseen,
                                      seed).log_perplexity
    top = top_terms(result.topic_term, result.vocabulary, cfg.evaluate.coherence_top_n)
    scores = {m: float(np.mean(coherence(top, texts, matrices.dictionary, m))) for m in COHERENCE_MEASURES}
    return {
        "data_key": data_key, "backend": job.backend, "k": job.k, "seed": job.seed_index, **scores,
        "diversity": topic_diversity(top_terms(result.topic_term, result.vocabulary, cfg.evaluate.diversity_top_n)),
        "heldout_log_perplexity": heldout, "fit_seconds": result.fit_seconds,
        "top_terms": json.dumps(top_terms(result.topic_term, result.vocabulary, cfg.evaluate.stability_top_n)),
    }


def csv_row(result: dict[str, Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(
        [("" if np.isnan(v) else f"{v:.6f}") if isinstance(v, float) else v for v in (result[c] for c in RESULT_COLUMNS)])
    return buffer.getvalue()


def read_results(text: str, data_key: str) -> tuple[pd.DataFrame, int]:
    """Complete rows for this data key from a results file, and how many lines were discarded.

    A sweep killed mid-write can leave a truncated last line; rows of another data key come
    from different texts or settings. Both are discarded, never mixed in.
    """
    rows, discarded = [], 0
    for fields in list(csv.reader(io.StringIO(text)))[1:]:
        try:
            if len(fields) != len(RESULT_COLUMNS) or fields[0] != data_key:
                raise ValueError
            json.loads(fields[-1])
            rows.append(dict(zip(RESULT_COLUMNS, fields)))
        except ValueError:
            discarded += 1
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    numeric = ["k", "seed", "c_v", "c_npmi", "u_mass", "diversity", "heldout_log_perplexity", "fit_seconds"]
    frame[numeric] = frame[numeric].replace("", np.nan).apply(pd.to_numeric)
    return frame.drop_duplicates(["backend", "k", "seed"]).reset_index(drop=True), discarded


def seed_stability(tops: list[list[list[str]]]) -> float:
    """Mean matched average Jaccard of the top terms over all pairs of jobs (Greene et al. 2014); the jobs are
    fits on different subsamples, so this is resampling stability."""
    pairs = list(combinations(tops, 2))
    if not pairs:
        return float("nan")
    return float(np.mean([np.nanmean(match_topics(average_jaccard_matrix(a, b))[1]) for a, b in pairs]))


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per backend and k: mean, standard error, min and max of each measure, and stability."""
    rows = []
    for (backend, k), group in results.groupby(["backend", "k"], sort=True):
        row: dict[str, Any] = {"backend": backend, "k": int(k), "seeds": len(group)}
        for measure in ("c_v", "c_npmi", "u_mass", "diversity", "heldout_log_perplexity"):
            values = group[measure].to_numpy(dtype=float)
            row[f"{measure}_mean"] = float(np.mean(values))
            row[f"{measure}_se"] = float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
            row[f"{measure}_min"], row[f"{measure}_max"] = float(np.min(values)), float(np.max(values))
        row["stability"] = seed_stability([json.loads(t) for t in group.top_terms])
        rows.append(row)
    return pd.DataFrame(rows)


def suggest_k(summary: pd.DataFrame, stability_threshold: float) -> dict[str, dict[str, Any]]:
    """The conservative rule, per backend: the smallest k whose mean c_npmi is within one
    standard error of the best mean c_npmi and whose resampling stability reaches the threshold.

    It is a suggestion with its reason, never applied to a config.
    """
    suggestions = {}
    for backend, rows in summary.groupby("backend"):
        best = rows.loc[rows.c_npmi_mean.idxmax()]
        floor = best.c_npmi_mean - best.c_npmi_se
        eligible = rows[(rows.c_npmi_mean >= floor) & (rows.stability >= stability_threshold)]
        if eligible.empty:
            suggestions[backend] = {"k": None, "reason": (
                f"no k has mean c_npmi within one SE of the best (k={int(best.k)}, {best.c_npmi_mean:.3f} ± "
                f"{best.c_npmi_se:.3f}) and stability >= {stability_threshold:g}; widen the grid or add seeds")}
            continue
        chosen = eligible.sort_values("k").iloc[0]
        suggestions[backend] = {"k": int(chosen.k), "reason": (
            f"smallest k with mean c_npmi {chosen.c_npmi_mean:.3f} within one SE of the best "
            f"(k={int(best.k)}, {best.c_npmi_mean:.3f} ± {best.c_npmi_se:.3f}) and resampling stability "
            f"{chosen.stability:.2f} >= {stability_threshold:g}")}
    return suggestions
