"""The tables researchers cite: topic terms, unit and answer mixtures, representative passages.

Pure functions of a ``TopicModelResult`` and the unit table; rounding happens here so that
reruns are byte-identical and every mixture row still sums to 1.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.config import TablesConfig
from pipeline.models import TopicModelResult
from pipeline.schemas import topic_columns
from pipeline.term_measures import frex, lift, relevance, top_terms

DECIMALS = 6
UNIT_META = ["unit_id", "answer_id", "conference_id", "date", "year", "speaker", "role", "position", "kind",
             "question_outlet"]
ANSWER_META = ["answer_id", "conference_id", "date", "year", "speaker", "position", "kind",
               "question_turn_id", "question_outlet", "question_text"]


def round_rows(matrix: np.ndarray, decimals: int = DECIMALS) -> np.ndarray:
    """Rounds each row of proportions so the rounded row still sums to 1.

    The rounding residual (a multiple of 10**-decimals) goes to the row's largest entry.
    Rows of NaN stay NaN.
    """
    rounded = np.round(matrix, decimals)
    defined = ~np.isnan(rounded).any(axis=1)
    residual = 1.0 - rounded[defined].sum(axis=1)
    rows = np.flatnonzero(defined)
    cols = np.argmax(rounded[defined], axis=1)
    rounded[rows, cols] = np.round(rounded[rows, cols] + residual, decimals)
    return rounded


def topic_terms(result: TopicModelResult, term_counts: np.ndarray, cfg: TablesConfig) -> pd.DataFrame:
    """Top ``cfg.top_n`` terms per topic by p(w|k), with FREX (stm's, shrunk by the corpus's
    term counts), lift and relevance."""
    beta = result.topic_term
    term_frequency = term_counts / term_counts.sum()
    measures = {
        "weight": beta,
        "frex": frex(beta, cfg.frex_weight, term_counts),
        "lift": lift(beta, term_frequency),
        "relevance": relevance(beta, term_frequency, cfg.relevance_lambda),
    }
    terms = np.array(result.vocabulary)
    rows = []
    for topic in range(result.k):
        order = np.lexsort((terms, -beta[topic]))[: cfg.top_n]
        for rank, index in enumerate(order, 1):
            rows.append({"topic": topic, "rank": rank, "term": terms[index],
                         **{name: round(float(values[topic, index]), DECIMALS) for name, values in measures.items()}})
    return pd.DataFrame(rows, columns=["topic", "rank", "term", "weight", "frex", "lift", "relevance"])


def topics_overview(topic_term: np.ndarray, vocabulary: list[str], term_counts: np.ndarray,
                    labels: Mapping[int, str], frex_weight: float, n_terms: int = 10) -> pd.DataFrame:
    """One row per topic: its label and top ``n_terms`` terms by probability and by FREX."""
    by_weight = top_terms(topic_term, vocabulary, n_terms)
    by_frex = top_terms(topic_term, vocabulary, n_terms, by="frex", frex_weight=frex_weight, term_counts=term_counts)
    return pd.DataFrame({
        "Topic": [labels[t] for t in range(len(topic_term))],
        f"Top {n_terms} terms by probability": [", ".join(terms) for terms in by_weight],
        f"Top {n_terms} terms by FREX": [", ".join(terms) for terms in by_frex],
    })


def markdown_table(frame: pd.DataFrame) -> str:
    cells = [[str(v).replace("|", "\\|").replace("\n", " ") for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def latex_table(frame: pd.DataFrame, precision: int = 3, column_format: str | None = None) -> str:
    """A booktabs table (pandas' Styler; ``\\usepackage{booktabs}``), numbers at ``precision``
    decimals, missing values as a dash, text escaped for LaTeX; ``column_format`` the tabular's
    column spec (Styler's own: numbers right, text left).

    The Styler gets a copy: its ``to_latex`` renames the columns of the frame it holds while it
    finds the numeric ones (pandas 3.1, io/formats/style.py), and the caller's frame may be
    pickled for a figure worker at that moment."""
    styler = frame.copy().style.format(precision=precision, na_rep="--", escape="latex").format_index(escape="latex", axis=1)
    return styler.hide(axis="index").to_latex(hrules=True, column_format=column_format)


def rounded(frame: pd.DataFrame, precision: int = 3) -> pd.DataFrame:
    """Floats at ``precision`` decimals (missing as a dash), for the Markdown copy of a table."""
    return frame.apply(lambda column: column.map(lambda v: "–" if pd.isna(v) else f"{v:.{precision}f}")
                       if pd.api.types.is_float_dtype(column) else column)


def topics_markdown(name: str, backend: str, seed: int, overview: pd.DataFrame) -> str:
    """``topics.md``: the topics overview as a Markdown table ready to paste into a paper."""
    header = f"Topics of model `{name}` ({backend}, k = {len(overview)}, seed {seed}).\n\n"
    return header + markdown_table(overview)


def unit_topics(units: pd.DataFrame, result: TopicModelResult, n_tokens: list[int]) -> pd.DataFrame:
    """One row per modelled unit: metadata, token count, every topic's share, dominant topic."""
    shares = pd.DataFrame(round_rows(result.doc_topic), columns=topic_columns(result.k))
    table = pd.concat([units[UNIT_META].reset_index(drop=True), shares], axis=1)
    table.insert(len(UNIT_META), "n_tokens", n_tokens)
    table["dominant_topic"] = _dominant(result.doc_topic)
    return table


def _dominant(doc_topic: np.ndarray) -> pd.Series:
    defined = ~np.isnan(doc_topic).any(axis=1)
    dominant = np.argmax(np.nan_to_num(doc_topic, nan=-1.0), axis=1)
    return pd.Series(np.where(defined, dominant, -1)).astype("Int64").mask(~defined)


def answer_topics(unit_table: pd.DataFrame, units: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per answer: the token-weighted mean of its units' mixtures, beside the text of
    those units (joined by blank lines) and their ``source`` (``file:first-last`` line).

    Units whose mixture is undefined (NMF zero rows) are left out of the mean and the text.
    """
    columns = topic_columns(k)
    table = unit_table.dropna(subset=columns)
    weights = table.n_tokens.to_numpy(dtype=float)
    weighted = pd.DataFrame(table[columns].to_numpy() * weights[:, None], columns=columns)
    weighted["answer_id"] = table.answer_id.to_numpy()
    weighted["n_tokens"] = weights
    sums = weighted.groupby("answer_id", sort=False).sum()
    mixtures = round_rows(sums[columns].to_numpy() / sums.n_tokens.to_numpy()[:, None])
    first_unit = units.drop_duplicates("answer_id").set_index("answer_id")
    meta = first_unit.loc[sums.index, ANSWER_META[1:]].reset_index()
    meta.insert(len(ANSWER_META), "n_units", table.groupby("answer_id", sort=False).size().loc[sums.index].to_numpy())
    meta.insert(len(ANSWER_META) + 1, "n_tokens", sums.n_tokens.astype(int).to_numpy())
    meta.insert(len(ANSWER_META) + 2, "answer_start", [_first_words(t) for t in first_unit.loc[sums.index, "text"]])
    averaged = units.set_index("unit_id").loc[table.unit_id]
    spans = averaged.groupby("answer_id", sort=False).agg(
        answer_text=("text", "\n\n".join), source_file=("source_file", "first"), first_line=("line_start", "min"),
        last_line=("line_end", "max")).loc[sums.index]
    meta.insert(len(ANSWER_META) + 3, "answer_text", spans.answer_text.to_numpy())
    meta.insert(len(ANSWER_META) + 4, "source", (spans.source_file + ":" + spans.first_line.astype(str) + "-"
                                                  + spans.last_line.astype(str)).to_numpy())
    result = pd.concat([meta, pd.DataFrame(mixtures, columns=columns)], axis=1)
    result["dominant_topic"] = _dominant(mixtures)
    return result


def _first_words(text: str, n: int = 20) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" ..." if len(words) > n else "")


def representative_passages(unit_table: pd.DataFrame, units: pd.DataFrame, k: int, n: int) -> pd.DataFrame:
    """For each topic, the ``n`` units with the highest share, with a checkable source."""
    located = units.set_index("unit_id")
    rows = []
    for topic in range(k):
        column = f"topic_{topic}"
        # Only the units tied with or above the n-th largest share are sorted (by share, then id).
        candidates = unit_table[unit_table[column] >= unit_table[column].nlargest(n, keep="all").min()]
        best = candidates.sort_values([column, "unit_id"], ascending=[False, True]).head(n)
        for rank, row in enumerate(best.itertuples(index=False), 1):
            unit = located.loc[row.unit_id]
            rows.append({
                "topic": topic, "rank": rank, "share": getattr(row, column), "unit_id": row.unit_id,
                "speaker": row.speaker, "date": row.date,
                "source": f"{unit.source_file}:{unit.line_start}-{unit.line_end}", "text": unit.text,
            })
    return pd.DataFrame(rows, columns=["topic", "rank", "share", "unit_id", "speaker", "date", "source", "text"])
