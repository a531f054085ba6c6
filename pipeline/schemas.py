"""Declared schemas of every table the pipeline passes between stages or writes to a run.

A schema names its columns and their kinds, its key, and the columns it may also carry
(``topic_0`` ... by pattern; a user's extra metadata columns as text). ``check`` runs where
stages meet and when a run directory is written or read, so a malformed table fails there
with a message naming the table, not three stages later; ``read_csv`` reads a run's CSV with
the declared kinds instead of guessing them from the content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.errors import PipelineError

# Column kinds and the pandas dtype each is read as.
DTYPES = {"str": "str", "int": "int64", "Int64": "Int64", "float": "float64", "bool": "bool"}
TOPIC_SHARES = {r"topic_\d+": "float"}


def topic_columns(k: int) -> list[str]:
    """The share columns of a mixture table: ``topic_0`` ... ``topic_{k-1}``."""
    return [f"topic_{t}" for t in range(k)]


class SchemaError(PipelineError):
    """A table does not have the columns or key its schema declares."""


@dataclass(frozen=True)
class Schema:
    name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    patterns: dict[str, str] = field(default_factory=dict)  # regex of further columns -> kind
    extra_text: bool = False  # other columns allowed, as text (a user's metadata columns)

    def kind(self, column: str) -> str | None:
        if column in self.columns:
            return self.columns[column]
        for pattern, kind in self.patterns.items():
            if re.fullmatch(pattern, column):
                return kind
        return "str" if self.extra_text else None

    def check(self, frame: pd.DataFrame, where: str = "") -> pd.DataFrame:
        """The frame unchanged, or ``SchemaError`` on a missing or undeclared column, or a
        missing or repeated key."""
        place = f"table {self.name}" + (f" ({where})" if where else "")
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise SchemaError(f"{place}: missing column(s) {', '.join(missing)}")
        undeclared = [c for c in frame.columns if self.kind(c) is None]
        if undeclared:
            raise SchemaError(f"{place}: undeclared column(s) {', '.join(map(str, undeclared))}")
        keys = frame[list(self.key)]
        if keys.isna().any(axis=None) or (keys.astype(str) == "").any(axis=None):
            raise SchemaError(f"{place}: key {', '.join(self.key)} is missing in some rows")
        if keys.duplicated().any():
            first = ", ".join(map(str, keys[keys.duplicated()].iloc[0]))
            raise SchemaError(f"{place}: key {', '.join(self.key)} repeats (first: {first})")
        return frame

    def read_csv(self, path: Path, where: str = "") -> pd.DataFrame:
        """A CSV written by the pipeline, each column as its declared kind; empty text stays "",
        an empty number is missing."""
        try:
            header = pd.read_csv(path, nrows=0).columns
            kinds = {c: self.kind(c) or "str" for c in header}
            frame = pd.read_csv(
                path, keep_default_na=False, low_memory=False,
                dtype={c: DTYPES[k] for c, k in kinds.items() if k != "bool"},
                na_values={c: [""] for c, k in kinds.items() if k in ("float", "Int64")},
                true_values=["True"], false_values=["False"],
            )
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise SchemaError(f"table {self.name} ({where or path}): cannot be read ({' '.join(str(exc).split())})"
                              ) from None
        return self.check(frame, where or str(path))


def _schema(name: str, key: tuple[str, ...], columns: str, **options) -> Schema:
    """A schema from ``"column:kind column:kind ..."`` (kind omitted: text)."""
    parsed = dict(part.split(":") if ":" in part else (part, "str") for part in columns.split())
    return Schema(name, parsed, key, **options)


CONFERENCES = _schema("conferences", ("conference_id",),
                      "conference_id title date year:Int64 date_source source_files")
TURNS = _schema("turns", ("turn_id",),
                "turn_id conference_id turn_index:int speaker label role role_source role_evidence position outlet kind "
                "question_turn_id n_paragraphs:int n_words:int duplicate_of source_file line_start:int line_end:int",
                extra_text=True)
PARAGRAPHS = _schema("paragraphs", ("paragraph_id",),
                     "paragraph_id turn_id conference_id date year:Int64 speaker role kind paragraph_index:int "
                     "text lang n_words:int source_file line_start:int line_end:int duplicate_of", extra_text=True)
UNITS = _schema("units", ("unit_id",),
                "unit_id answer_id conference_id date year:Int64 speaker role position kind question_turn_id "
                "question_outlet question_text text n_words:int source_file line_start:int line_end:int")
TOPIC_TERMS = _schema("topic_terms", ("topic", "rank"),
                      "topic:int rank:int term weight:float frex:float lift:float relevance:float")
UNIT_TOPICS = _schema("unit_topics", ("unit_id",),
                      "unit_id answer_id conference_id date year:Int64 speaker role position kind question_outlet "
                      "n_tokens:int dominant_topic:Int64", patterns=TOPIC_SHARES)
ANSWER_TOPICS = _schema("answer_topics", ("answer_id",),
                        "answer_id conference_id date year:Int64 speaker position kind question_turn_id "
                        "question_outlet question_text n_units:int n_tokens:int answer_start answer_text source "
                        "dominant_topic:Int64 "
                        "question_divergence:float",
                        patterns=TOPIC_SHARES)
REPRESENTATIVE_PASSAGES = _schema("representative_passages", ("topic", "rank"),
                                  "topic:int rank:int share:float unit_id speaker date source text")
TOPIC_DIAGNOSTICS = _schema("topic_diagnostics", ("topic",),
                            "topic:int topic_label coherence_c_v:float coherence_c_npmi:float coherence_u_mass:float "
                            "size:float exclusivity:float effective_words:float stability:float "
                            "resample_stability:float aligned_with exploratory:bool")
GROUP_SHARES = _schema("group_shares", ("group", "topic"),
                       "group topic:int topic_label estimand share:float ci_low:float ci_high:float interval "
                       "n_answers:int n_conferences:int n_tokens:int flagged:bool")
CONTRASTS = _schema("contrasts", ("contrast", "topic"),
                    "contrast topic:int topic_label group_a group_b within estimand estimate:float se:float "
                    "detectable:float ci_low:float ci_high:float interval t:float p:float q:float p_method smallest_p:float finding_p:float testable:bool unit n_answers_a:int "
                    "n_answers_b:int n_conferences_a:int n_conferences_b:int n_strata:int")
EFFECTS = _schema("effects", ("contrast", "topic"),
                  "model contrast topic:int topic_label term formula estimand within_conferences:bool "
                  "estimate:float ci_low:float "
                  "ci_high:float p:float q:float method n_answers:int n_conferences:int")
DISTINCTIVE = _schema("distinctive", ("contrast", "scope", "term"),
                      "contrast scope term group_a group_b within n_strata:int count_a:float count_b:float "
                      "log_odds:float se:float z:float")
DISTINCTIVE_CHANCE = _schema("distinctive_chance", ("contrast",),
                             "contrast threshold:float words:int observed:int expected:float share_expected:float "
                             "p:float permutations:int unit")
RESPONSIVENESS = _schema("responsiveness", ("answer_id",),
                         "answer_id question_turn_id speaker year:Int64 conference_id question_outlet "
                         "question_top_topic:int js_divergence:float n_other_questions:int js_other_questions:float "
                         "js_gain:float js_reinferred:float share_on_question_topic:float")
RESPONSIVENESS_SUMMARY = _schema("responsiveness_summary", ("by", "group", "measure"),
                                 "by group measure mean:float ci_low:float ci_high:float interval n_answers:int "
                                 "n_conferences:int")
DESIGN_CELLS = _schema("design_cells", ("speaker", "conference_id"),
                       "speaker position year:Int64 conference_id n_answers:int n_statements:int")
DESIGN_CONTRASTS = _schema("design_contrasts", ("contrast",),
                           "contrast column group_a group_b within n_answers_a:int n_answers_b:int "
                           "n_conferences_a:int n_conferences_b:int n_strata:int n_stratified_a:int "
                           "n_stratified_b:int unit n_units_a:int n_units_b:int arrangements smallest_p:float "
                           "smallest_q:float finding_p:float refused untestable")
ROBUSTNESS = _schema("robustness", ("contrast", "topic"),
                     "contrast topic:int topic_label estimate:float p:float seeds:int seeds_holding:int "
                     "share_holding:float")
ALIGNMENT = _schema("alignment", ("model_a", "topic_a", "model_b", "topic_b"),
                    "model_a topic_a:int model_b topic_b:int cosine:float matched:bool found_by_both:bool")

SWEEP_SUMMARY = _schema("sweep_summary", ("backend", "k"), "backend k:int seeds:int stability:float",
                        patterns={r".+_(mean|se|min|max)": "float"})

VOCABULARY = _schema("vocabulary", ("term",), "term count:int")

PRIOR_COEFFICIENTS = _schema("prior_coefficients", ("covariate", "level", "topic"),
                             "covariate level topic:int n_units:int lambda:float")

MODEL_TABLES = {s.name: s for s in (TOPIC_TERMS, UNIT_TOPICS, ANSWER_TOPICS, REPRESENTATIVE_PASSAGES,
                                    TOPIC_DIAGNOSTICS)}
# A backend's own tables of its reported fit (``Backend.tables``), written only by the backends that have them.
BACKEND_TABLES = {s.name: s for s in (PRIOR_COEFFICIENTS,)}
EMPHASIS_TABLES = {"contrasts": CONTRASTS, "effects": EFFECTS, "robustness": ROBUSTNESS}
RESPONSIVENESS_TABLES = {"answers": RESPONSIVENESS, "summary": RESPONSIVENESS_SUMMARY}
DESIGN_TABLES = {"cells": DESIGN_CELLS, "contrasts": DESIGN_CONTRASTS}


def emphasis_schema(table_name: str) -> Schema:
    """The schema of an ``emphasis/<model>/`` table: a named one, else a ``by_<group>`` table."""
    return EMPHASIS_TABLES.get(table_name, GROUP_SHARES)
