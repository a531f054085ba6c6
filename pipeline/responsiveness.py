"""Do officials answer what they are asked? Question and answer topic mixtures compared.

Each question's mixture is inferred with the fitted model (its topics held fixed; the model is
never refitted on questions): LDA by its own inference, NMF by projecting the question onto
its topics. Per answer: the Jensen-Shannon divergence between the question's and the answer's
mixture (base 2, so 0 = the same mixture, 1 = disjoint; Lin 1991), and the share of the answer
on the question's largest topic. Summaries by official, year and outlet use the estimand of
emphasis (mean over answers, an interval over conferences from ``compare.min_answers`` answers
and ``compare.min_conferences`` conferences).

A divergence means little on its own: short questions have noisy mixtures, and an answer shares
its conference's agenda with every question asked there. The chance baseline is the answer's
mean divergence from the *other* questions of its conference (``js_other_questions``), and the
responsiveness ``js_gain`` = baseline - own divergence, paired within the answer, so > 0 when an
answer is closer to its own question than to the others asked at the same conference. Its mean
has the same interval over conferences. ``js_reinferred`` is the own divergence with the
question's mixture inferred again (a second Monte Carlo run, for a sampling backend): the
inference noise, which is inside the per-answer values and so inside the intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.clustered import clustered_difference_interval, clustered_mean_interval
from pipeline.config import CompareConfig
from pipeline.design import key
from pipeline.emphasis import group_rows, interval_label, no_interval
from pipeline.progress import Progress, silent
from pipeline.schemas import RESPONSIVENESS, RESPONSIVENESS_SUMMARY, topic_columns

MEASURES = ("js_divergence", "js_other_questions", "js_gain", "share_on_question_topic")
SUMMARY_COLUMNS = list(RESPONSIVENESS_SUMMARY.columns)


def js_divergence(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise Jensen-Shannon divergence in bits (scipy gives the distance, its square root)."""
    from scipy.spatial.distance import jensenshannon

    return jensenshannon(first, second, base=2, axis=1) ** 2


def other_questions_divergence(asked: pd.DataFrame, question: np.ndarray,
                               answer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each answer's mean divergence from the other questions asked at its conference (NaN
    where there is none), and how many there are."""
    mean = np.full(len(asked), np.nan)
    count = np.zeros(len(asked), dtype=int)
    for rows in asked.groupby(asked.conference_id.astype(str), sort=False).indices.values():
        ids, first = np.unique(asked.question_turn_id.to_numpy()[rows], return_index=True)
        if len(ids) < 2:
            continue
        others = question[rows[first]]  # one row per distinct question of the conference
        own = np.searchsorted(ids, asked.question_turn_id.to_numpy()[rows])
        for position, row in enumerate(rows):
            divergence = js_divergence(np.delete(others, own[position], axis=0),
                                       np.broadcast_to(answer[row], (len(ids) - 1, answer.shape[1])))
            mean[row], count[row] = divergence.mean(), len(ids) - 1
    return mean, count


def answer_responsiveness(answers: pd.DataFrame, question_mixtures: pd.DataFrame, k: int,
                          reinferred: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per answer with a question whose words the model knows: its divergence from its
    question, from the other questions of its conference, the gain, and the share on the
    question's largest topic.

    ``question_mixtures`` (and ``reinferred``, a second inference of them, or None) are indexed
    by question turn id with columns topic_0..topic_{k-1}.
    """
    columns = topic_columns(k)
    asked = answers[answers.question_turn_id.isin(question_mixtures.index)].reset_index(drop=True)
    if asked.empty:
        return pd.DataFrame(columns=list(RESPONSIVENESS.columns))
    question = question_mixtures.loc[asked.question_turn_id, columns].to_numpy(float)
    answer = asked[columns].to_numpy(float)
    top = question.argmax(axis=1)
    own = js_divergence(question, answer)
    others, n_others = other_questions_divergence(asked, question, answer)
    again = (js_divergence(reinferred.loc[asked.question_turn_id, columns].to_numpy(float), answer)
             if reinferred is not None else np.full(len(asked), np.nan))
    return pd.DataFrame({
        "answer_id": asked.answer_id, "question_turn_id": asked.question_turn_id, "speaker": asked.speaker,
        "year": asked.year, "conference_id": asked.conference_id, "question_outlet": asked.question_outlet,
        "question_top_topic": top, "js_divergence": own, "n_other_questions": n_others,
        "js_other_questions": others, "js_gain": others - own, "js_reinferred": again,
        "share_on_question_topic": answer[np.arange(len(asked)), top],
    }, columns=list(RESPONSIVENESS.columns))


NO_QUESTION = "no question is linked to it (corpus/turns.csv)"
UNKNOWN_QUESTION = "its question has no word in the model's vocabulary (or no weight on any topic)"


def left_out(answers: pd.DataFrame, question_mixtures: pd.DataFrame) -> pd.DataFrame:
    """The compared answers ``answer_responsiveness`` has no row for, each with its speaker and why."""
    asked = answers.question_turn_id.fillna("") != ""
    known = answers.question_turn_id.isin(question_mixtures.index)
    out = answers[~known]
    return pd.DataFrame({"answer_id": out.answer_id, "speaker": out.speaker,
                         "reason": np.where(asked[~known], UNKNOWN_QUESTION, NO_QUESTION)}).reset_index(drop=True)


def summaries(table: pd.DataFrame, by: Sequence[str], cfg: CompareConfig, progress: Progress = silent) -> pd.DataFrame:
    """Mean of each measure over a group's answers, with its interval over conferences (none
    below ``min_answers`` answers or ``min_conferences`` conferences)."""
    rows = []
    for column in by:
        rows_in = group_rows(table[column].map(key))
        groups = sorted(set(rows_in) - {""})
        for group in progress(groups, len(groups), f"groups by {column}"):
            rows_of = table.iloc[rows_in[group]]
            for measure in MEASURES:
                measured = rows_of[rows_of[measure].notna()]
                values, conferences = measured[measure].to_numpy(float), measured.conference_id.to_numpy()
                n = len(measured)
                interval = no_interval(n, len(set(conferences)), cfg)
                low = high = np.nan
                if not interval:
                    interval_of = clustered_difference_interval if measure == "js_gain" else clustered_mean_interval
                    lows, highs, _ = interval_of(values[:, None], np.ones(n), conferences, cfg.level)
                    low, high = float(lows[0]), float(highs[0])
                    # A divergence is a share-like value in [0, 1]; the gain is a difference.
                    interval = (f"{cfg.level:.0%} interval over conferences (CR2, Satterthwaite t)"
                                if measure == "js_gain" else interval_label(cfg))
                rows.append({"by": column, "group": group, "measure": measure,
                             "mean": values.mean() if n else np.nan, "ci_low": low, "ci_high": high,
                             "interval": interval, "n_answers": n, "n_conferences": len(set(conferences))})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def inference_noise(table: pd.DataFrame) -> float:
    """Mean absolute change of an answer's divergence when its question is inferred again (NaN
    without a second inference: the backend's inference is not sampled)."""
    change = (table.js_reinferred - table.js_divergence).abs().dropna()
    return float(change.mean()) if len(change) else float("nan")
