"""Coverage of the joint model's intervals on the mixtures of a covariate model (DMR) and of a
blind one (LDA), on planted conferences whose answers share their conference's agenda.

Run ``python -m tests.simulate_dmr [replicates [out.csv]]`` (200 by default, about 6 minutes on
2 cores). Each replicate plants K topics, 24 conferences, four officials who answer 2 to 4 times
at every conference (or, sparse, 0 to 2 times), and a conference agenda: an answer's mixture is 0.7 x a draw around its official's mean + 0.3 x its conference's
agenda, so that within any conference official A's expected share of topic t exceeds B's by
exactly 0.7 (mean_A - mean_B)_t, the truth the joint model's within-conference contrast
estimates. Each model is fitted through ``fit_model`` at k = K, its topics matched to the
planted ones (Hungarian, cosine), its posterior drawn by ``mixture_draws`` and the contrast's
interval computed by ``joint_effects`` with the default compare settings, as a run does.
DESIGN, "A model with covariates in its prior", has the figures it printed.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from pipeline.config import validate
from pipeline.design import design_report
from pipeline.diagnostics import cosine_matrix, match_topics
from pipeline.effects import MixtureDraws, joint_effects
from pipeline.models import fit_model
from pipeline.vectorize import vectorize
from pipeline.workflow import Fits, mixture_draws

K, V = 5, 200
AGENDA_WEIGHT = 0.3
# Each official's mean mixture: A leans to topic 0, B to topic 1; C and D are even.
OFFICIAL_MEANS = {"A": (0.40, 0.10, 0.20, 0.15, 0.15), "B": (0.10, 0.40, 0.20, 0.15, 0.15),
                  "C": (0.2,) * 5, "D": (0.2,) * 5}
CONCENTRATION = 5.0  # of the Dirichlet around an official's mean: answers differ as much as real ones


def planted_conferences(rng: np.random.Generator, conferences: int = 24, answers_each: tuple[int, int] = (2, 5),
                        words: tuple[int, int] = (40, 80)) -> tuple[np.ndarray, list[list[str]], pd.DataFrame]:
    """Planted topics (K x V), each answer's tokens, and the answers' table as the joint model reads it."""
    topics = rng.dirichlet(np.full(V, 0.05), size=K)
    tokens, rows = [], []
    for conference in range(conferences):
        agenda = rng.dirichlet(np.ones(K))
        for official, mean in OFFICIAL_MEANS.items():
            for _ in range(rng.integers(*answers_each)):
                theta = (1 - AGENDA_WEIGHT) * rng.dirichlet(CONCENTRATION * np.array(mean)) + AGENDA_WEIGHT * agenda
                assignments = rng.multinomial(int(rng.integers(*words)), theta)
                counts = sum(rng.multinomial(n, topics[t]) for t, n in enumerate(assignments))
                tokens.append([f"w{w:03d}" for w in np.repeat(np.arange(V), counts)])
                rows.append({"answer_id": f"a{len(rows)}", "speaker": official, "position": "",
                             "year": 2020 + conference % 3, "conference_id": f"c{conference:02d}", "kind": "answer",
                             "question_outlet": "", "n_tokens": len(tokens[-1])})
    return topics, tokens, pd.DataFrame(rows)


def planted_difference() -> np.ndarray:
    """A - B's expected share of each planted topic within a conference."""
    return (1 - AGENDA_WEIGHT) * (np.array(OFFICIAL_MEANS["A"]) - np.array(OFFICIAL_MEANS["B"]))


MODELS = {"dmr": {"name": "dmr", "backend": "tomotopy_dmr", "k": K, "covariates": ["speaker", "year"]},
          "lda": {"name": "lda", "backend": "tomotopy_lda", "k": K}}
COMPARE = {"contrasts": {"a_vs_b": {"speaker": ["A", "B"]}}}


DESIGNS = {"2-4 answers each per conference": (2, 5), "sparse: 0-2 answers each per conference": (0, 3)}


def replicate(seed: int, answers_each: tuple[int, int] = DESIGNS["2-4 answers each per conference"]) -> pd.DataFrame:
    """One planted corpus, each model's A - B interval for every planted topic beside the truth."""
    rng = np.random.default_rng(seed)
    topics, tokens, answers = planted_conferences(rng, answers_each=answers_each)
    matrices = vectorize(tokens).with_covariates(answers[["speaker", "year"]])
    cfg = validate({"models": list(MODELS.values()), "compare": COMPARE})
    design = design_report(answers, cfg.compare)
    truth = planted_difference()
    planted_over_vocabulary = topics[:, [int(w[1:]) for w in matrices.vocabulary]]
    rows = []
    for model_cfg in cfg.models:
        result = fit_model(model_cfg, seed, matrices, list(answers.answer_id))
        fitted_topic, _ = match_topics(cosine_matrix(planted_over_vocabulary, result.topic_term))
        fits = Fits(seed, result, [], [0.0], [], np.zeros(0, int), None)
        draws, _, _ = mixture_draws(fits, matrices, cfg.compare)
        mixtures = MixtureDraws(result.doc_topic, draws, True)
        effects = joint_effects(answers.assign(**dict(zip([f"topic_{t}" for t in range(K)], result.doc_topic.T))),
                                mixtures, design, cfg.compare, model_cfg.name).set_index("topic")
        for planted_topic, topic in enumerate(fitted_topic):
            row = effects.loc[topic]
            rows.append({"seed": seed, "answers": len(answers), "model": model_cfg.name, "planted_topic": planted_topic,
                         "truth": truth[planted_topic], "estimate": row.estimate, "ci_low": row.ci_low,
                         "ci_high": row.ci_high})
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model, for the topics with a planted difference and those without: coverage of the
    truth, mean error of the estimate and mean interval width."""
    table = table.assign(covers=(table.ci_low <= table.truth) & (table.truth <= table.ci_high),
                         # away from zero: below 0, the estimate is pulled toward no difference
                         error=(table.estimate - table.truth) * np.where(table.truth < 0, -1, 1),
                         width=table.ci_high - table.ci_low,
                         planted=np.where(table.truth != 0, "difference planted", "no difference"))
    return (table.groupby(["design", "model", "planted"], sort=False)
            .agg(intervals=("covers", "size"), coverage=("covers", "mean"), mean_error=("error", "mean"),
                 sd_error=("error", "std"), mean_width=("width", "mean")).round(4))


def main(replicates: int = 200) -> pd.DataFrame:
    from joblib import Parallel, delayed

    table = pd.concat([frame.assign(design=design) for design, answers_each in DESIGNS.items() for frame in
                       Parallel(n_jobs=-1)(delayed(replicate)(seed, answers_each) for seed in range(replicates))],
                      ignore_index=True)
    print(summary(table).to_string())
    return table


if __name__ == "__main__":
    replicates = main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    if len(sys.argv) > 2:
        replicates.to_csv(sys.argv[2], index=False)
