"""Do officials answer what they are asked? Question and answer topic mixtures compared.

Each question's mixture is inferred with the fitted model (its topics held fixed; the model is
never refitted on questions): LDA by its own inference, NMF by projecting the question onto
its topics. Per answer: the Jensen-Shannon divergence between the question's and the answer's
mixture (base 2, so 0 = the same mixture, 1 = disjoint; Lin 1991), and the share of the answer
on the question's largest topic. Summaries by official, year and outlet use the estimand of
emphasis (mean over answers, an interval over conferences from ``compare.min_answers`` answers
and ``compare.min_conferences`` conferences).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.clustered import clustered_mean_interval
from pipeline.config import CompareConfig
from pipeline.design import key
from pipeline.emphasis import group_rows, interval_label, no_interval
from pipeline.progress import Progress, silent
from pipeline.schemas import RESPONSIVENESS, RESPONSIVENESS_SUMMARY, topic_columns

MEASURES = ("js_divergence", "share_on_question_topic")
SUMMARY_COLUMNS = list(RESPONSIVENESS_SUMMARY.columns)


def js_divergence(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise Jensen-Shannon divergence in bits (scipy gives the distance, its square root)."""
    from scipy.spatial.distance import jensenshannon

    return jensenshannon(first, second, base=2, axis=1) ** 2


def answer_responsiveness(answers: pd.DataFrame, question_mixtures: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per answer with a question whose words the model knows: the two measures.

    ``question_mixtures`` is indexed by question turn id with columns topic_0..topic_{k-1}.
    """
    columns = topic_columns(k)
    asked = answers[answers.question_turn_id.isin(question_mixtures.index)].reset_index(drop=True)
    if asked.empty:
        return pd.DataFrame(columns=list(RESPONSIVENESS.columns))
    question = question_mixtures.loc[asked.question_turn_id, columns].to_numpy(float)
    answer = asked[columns].to_numpy(float)
    top = question.argmax(axis=1)
    return pd.DataFrame({
        "answer_id": asked.answer_id, "question_turn_id": asked.question_turn_id, "speaker": asked.speaker,
        "year": asked.year, "conference_id": asked.conference_id, "question_outlet": asked.question_outlet,
        "question_top_topic": top, "js_divergence": js_divergence(question, answer),
        "share_on_question_topic": answer[np.arange(len(asked)), top],
    }, columns=list(RESPONSIVENESS.columns))


def summaries(table: pd.DataFrame, by: Sequence[str], cfg: CompareConfig, progress: Progress = silent) -> pd.DataFrame:
    """Mean of each measure over a group's answers, with its interval over conferences (none
    below ``min_answers`` answers or ``min_conferences`` conferences)."""
    rows = []
    for column in by:
        rows_in = group_rows(table[column].map(key))
        groups = sorted(set(rows_in) - {""})
        for group in progress(groups, len(groups), f"groups by {column}"):
            rows_of = table.iloc[rows_in[group]]
            values = rows_of[list(MEASURES)].to_numpy()
            n, conferences = len(rows_of), rows_of.conference_id.to_numpy()
            interval = no_interval(n, len(set(conferences)), cfg)
            if interval:
                low = high = np.full(len(MEASURES), np.nan)
            else:
                low, high, _ = clustered_mean_interval(values, np.ones(n), conferences, cfg.level)
                interval = interval_label(cfg)
            for index, measure in enumerate(MEASURES):
                rows.append({"by": column, "group": group, "measure": measure, "mean": values[:, index].mean(),
                             "ci_low": low[index], "ci_high": high[index], "interval": interval, "n_answers": n,
                             "n_conferences": rows_of.conference_id.nunique()})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
