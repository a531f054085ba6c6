"""Calibration of the exploratory gate on planted corpora: true topics against none.

Run ``python -m tests.calibrate_gate [out.csv]`` (about 12 minutes on 2 cores). Each planted
corpus (tests/planted.py) is written with its topics and again with none (every paragraph
from the same mixture), at several sizes, and run through the pipeline with the default
config at the planted k; the table has, per run and model, the gate's inputs (seed and
resampling stability, topic diversity, tokens per parameter, held-out gain over the unigram
model) and the truth (the mean cosine of each planted topic to its best fitted topic; for a
corpus with no topics, the cosine of the one mixture every paragraph came from). DESIGN's
"Exploratory gate" gives the figures this produced and the thresholds chosen from them.
"""

from __future__ import annotations

import json
import sys
import tempfile
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.cli import main
from pipeline.rundir import load_run
from tests.conftest import make_project
from tests.planted import K, PLANTED_INPUTS, best_match_cosines, write_planted_corpus

SIZES = {"tiny": (2, 4, 1), "few": (2, 8, 2), "some": (3, 8, 2), "small": (3, 12, 3), "medium": (5, 12, 3),
         "large": (10, 12, 3)}  # conferences, answers each, paragraphs each
SEEDS = range(5)
GATE_INPUTS = ("mean_stability", "mean_resample_stability", "topic_diversity", "tokens_per_parameter",
               "heldout_gain_over_unigram", "heldout_gain_distinguishable")


def calibration_run(size: str, seed: int, topical: bool, k: int = K) -> list[dict]:
    conferences, answers, paragraphs = SIZES[size]
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder))
        planted = write_planted_corpus(project / "data" / "planted", seed=seed, conferences=conferences,
                                       answers=answers, paragraphs=paragraphs, topical=topical)
        code = main(["run", str(project / "configs" / "default.yaml"), "-q", "--set", "run.name=gate",
                     *PLANTED_INPUTS, "--set", "compare.contrasts={}",
                     "--set", f"models.0.k={k}", "--set", f"models.1.k={k}", "--set", "figures.draw=false",
                     "--set", "evaluate.coherence_bootstrap=0"])
        if code != 0:
            return [{"size": size, "seed": seed, "topical": topical, "k": k, "model": "", "failed": code}]
        run = load_run(project / "outputs" / "gate")
        truth = planted.topics if topical else planted.topics.mean(axis=0, keepdims=True)
        rows = []
        for name, model in run.models.items():
            vocabulary, topic_term = model.topic_term()
            cosines, _ = best_match_cosines(truth, planted.vocabulary, topic_term, vocabulary)
            rows.append({"size": size, "seed": seed, "topical": topical, "k": k, "model": name, "failed": 0,
                         "recovery": float(cosines.mean()), "units": model.metrics["n_units"],
                         **{key: model.metrics.get(key) for key in GATE_INPUTS},
                         "exploratory_reason": model.metrics.get("exploratory_reason", "")})
        return rows


def main_calibration(out: Path) -> None:
    rows = []
    for size, seed, topical in product(SIZES, SEEDS, (True, False)):
        rows += calibration_run(size, seed, topical)
        print(json.dumps(rows[-1]), flush=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    table = pd.DataFrame(rows)
    print(table.groupby(["size", "topical", "model"])[["recovery", *GATE_INPUTS[:5]]].agg(["min", "median", "max"])
          .round(3).to_string())


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main_calibration(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("gate_calibration.csv"))
