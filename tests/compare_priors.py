"""DMR (speaker and year in the prior) against the blind LDA and NMF on planted SCIO corpora.

Run ``python -m tests.compare_priors [seeds]`` (5 by default, about 4 minutes on 2 cores). Each
corpus is written by the test suite's generator (tests/planted.py) in two designs: its normal
form (10 conferences x 12 answers, 4 officials) and small groups (16 officials answering 2 to
4 times each over 6 conferences); every official prefers two topics (prior 2.0 on them, 0.1
elsewhere). All three models run through the whole pipeline with the default config at the
planted k, the same seeds for each. Per run and model: topic recovery (each planted topic's
cosine to its best fitted topic, mean) and each official's share of each planted topic in
``emphasis/<model>/by_speaker.csv`` against the planted share (the mean of the official's
drawn mixtures): their correlation r and the mean absolute error. DESIGN, "A model with
covariates in its prior", has the table it printed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.cli import main
from pipeline.rundir import load_run
from tests.conftest import make_project
from tests.planted import K, PLANTED_INPUTS, best_match_cosines, write_planted_corpus

DESIGNS = {"normal": {}, "small groups": {"conferences": 6, "answers": 8, "small_groups": (16, 2, 4)}}
MODELS = (f"[{{name: lda, backend: tomotopy_lda, k: {K}}}, {{name: nmf, backend: sklearn_nmf, k: {K}}}, "
          f"{{name: dmr, backend: tomotopy_dmr, k: {K}, covariates: [speaker, year]}}]")


def speaker_share_errors(planted_shares: pd.DataFrame, by_speaker: pd.DataFrame,
                         matched: np.ndarray) -> tuple[float, float]:
    """Correlation and mean absolute error of the estimated against the planted speaker shares,
    fitted topics matched to planted ones."""
    estimated = by_speaker.pivot(index="group", columns="topic", values="share")
    pairs = np.array([(planted_shares.loc[s, t], estimated.loc[s, matched[t]])
                      for s in planted_shares.index for t in range(K)])
    return float(np.corrcoef(pairs.T)[0, 1]), float(np.abs(pairs[:, 0] - pairs[:, 1]).mean())


def compared_run(design: str, seed: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder))
        planted = write_planted_corpus(project / "data" / "planted", seed=seed, **DESIGNS[design])
        assert main(["run", str(project / "configs" / "default.yaml"), "-q", "--set", "run.name=planted",
                     *PLANTED_INPUTS, "--set", "compare.contrasts={}", "--set", f"models={MODELS}",
                     "--set", f"run.seed={seed}", "--set", "figures.draw=false",
                     "--set", "evaluate.coherence_bootstrap=0"]) == 0
        run = load_run(project / "outputs" / "planted")
        rows = []
        for name, model in run.models.items():
            vocabulary, topic_term = model.topic_term()
            cosines, matched = best_match_cosines(planted.topics, planted.vocabulary, topic_term, vocabulary)
            r, mae = speaker_share_errors(planted.speaker_shares, model.emphasis["by_speaker"], matched)
            rows.append({"design": design, "seed": seed, "model": name, "units": int(model.metrics["n_units"]),
                         "recovery": cosines.mean(), "speaker_share_r": r, "speaker_share_mae": mae})
        return rows


def table(seeds: int = 5) -> pd.DataFrame:
    rows = [row for design in DESIGNS for seed in range(seeds) for row in compared_run(design, seed)]
    return pd.DataFrame(rows)


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean (and range) over seeds, per design and model."""
    grouped = runs.groupby(["design", "model"], sort=False)
    return pd.DataFrame({measure: grouped[measure].agg(
        lambda v: f"{v.mean():.3f} ({v.min():.3f}-{v.max():.3f})") for measure in
        ("recovery", "speaker_share_r", "speaker_share_mae")})


if __name__ == "__main__":
    result = table(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(result.round(4).to_string())
    print(summary(result).to_string())
