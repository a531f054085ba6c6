"""Selecting the modelling units (paragraphs or whole answers) from the corpus tables."""

from __future__ import annotations

import pandas as pd

from pipeline.config import UnitsConfig
from pipeline.language import in_languages
from pipeline.schemas import UNITS

UNIT_COLUMNS = list(UNITS.columns)


def select_units(turns: pd.DataFrame, paragraphs: pd.DataFrame, cfg: UnitsConfig) -> pd.DataFrame:
    """Units to model, one row each, in corpus order.

    Paragraph level: non-duplicate paragraphs in ``languages`` ("*": any) of turns with the configured
    roles and kinds and at least ``min_words`` words. Answer level: those turns' non-duplicate paragraphs
    joined, with the same word minimum. ``answer_id`` is the turn a unit belongs to.
    """
    wanted = turns[turns.role.isin(cfg.roles) & turns.kind.isin(cfg.kinds) & (turns.duplicate_of == "")]
    kept = paragraphs[paragraphs.turn_id.isin(wanted.turn_id) & (paragraphs.duplicate_of == "")
                      & in_languages(paragraphs.lang, cfg.languages)]
    if cfg.level == "answer":
        kept = (
            kept.groupby("turn_id", sort=False)
            .agg(text=("text", "\n\n".join), n_words=("n_words", "sum"), source_file=("source_file", "first"),
                 line_start=("line_start", "min"), line_end=("line_end", "max"))
            .reset_index()
            .assign(unit_id=lambda d: d.turn_id)
        )
    else:
        kept = kept.rename(columns={"paragraph_id": "unit_id"})[
            ["unit_id", "turn_id", "text", "n_words", "source_file", "line_start", "line_end"]
        ]
    kept = kept[kept.n_words >= cfg.min_words]
    outlet_of = turns.set_index("turn_id")["outlet"]
    meta = wanted.set_index("turn_id")[
        ["conference_id", "speaker", "role", "position", "kind", "question_turn_id"]
    ]
    units = kept.join(meta, on="turn_id").rename(columns={"turn_id": "answer_id"})
    units["question_outlet"] = units.question_turn_id.map(outlet_of).fillna("")
    asked = paragraphs[paragraphs.turn_id.isin(units.question_turn_id)]
    units["question_text"] = units.question_turn_id.map(_turn_texts(asked)).fillna("")
    dates = paragraphs.drop_duplicates("turn_id").set_index("turn_id")[["date", "year"]]
    units = units.join(dates, on="answer_id")
    return UNITS.check(units[UNIT_COLUMNS].reset_index(drop=True), "selected units")


def _turn_texts(paragraphs: pd.DataFrame) -> dict[str, str]:
    """Each turn's paragraphs joined with a space (a dict: pandas' groupby joins group by group in Python)."""
    texts: dict[str, list[str]] = {}
    for turn_id, text in zip(paragraphs.turn_id, paragraphs.text):
        texts.setdefault(turn_id, []).append(text)
    return {turn_id: " ".join(parts) for turn_id, parts in texts.items()}
