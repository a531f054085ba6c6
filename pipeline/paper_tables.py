"""The LaTeX copy of a result table, compact enough for a paper page.

The CSV keeps every column; the ``.tex`` beside it keeps the columns a reader needs (the
groups, the estimate, its interval, p and q, how many answers and conferences), with readable
headers, integers as integers, an interval as one "[low, high]" column, long text in a wrapping
column, and what is the same in every row (the estimand, the interval's and the test's method)
as a table note. It is a whole ``table`` float with a caption and a label, the note in a
``threeparttable``: ``\\usepackage{booktabs, threeparttable}`` in the preamble.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.topic_tables import latex_table

WRAP = "p{3.6cm}"  # the column for topic labels and other long text


@dataclass(frozen=True)
class PaperTable:
    caption: str
    columns: tuple[tuple[str, str], ...]  # (CSV column, header); "ci" is the ci_low/ci_high pair
    notes: tuple[str, ...] = ()  # columns whose distinct values become the table note
    wrap: tuple[str, ...] = ("topic_label",)


SPECS = {  # by the table's schema
    "group_shares": PaperTable(
        "Topic shares by {group}, model {owner}",
        (("group", "Group"), ("topic_label", "Topic"), ("share", "Share"), ("ci", "Interval"),
         ("n_answers", "Answers"), ("n_conferences", "Conferences")), ("estimand", "interval")),
    "contrasts": PaperTable(
        "Contrasts, model {owner}",
        (("contrast", "Contrast"), ("topic_label", "Topic"), ("estimate", "A - B"), ("ci", "Interval"), ("p", "p"),
         ("q", "q"), ("n_answers", "Answers A / B"), ("n_conferences", "Conf. A / B")),
        ("estimand", "interval", "p_method")),
    "effects": PaperTable(
        "Joint speaker + year model, model {owner}",
        (("contrast", "Contrast"), ("topic_label", "Topic"), ("estimate", "Effect"), ("ci", "Interval"),
         ("p", "p"), ("q", "q"), ("n_answers", "Answers"), ("n_conferences", "Conferences")),
        ("estimand", "formula", "method")),
    "robustness": PaperTable(
        "Contrasts across seeds, model {owner}",
        (("contrast", "Contrast"), ("topic_label", "Topic"), ("estimate", "A - B"), ("p", "p"),
         ("seeds_holding", "Seeds holding"), ("seeds", "Seeds"))),
    "responsiveness_summary": PaperTable(
        "Responsiveness, model {owner}",
        (("by", "By"), ("group", "Group"), ("measure", "Measure"), ("mean", "Mean"), ("ci", "Interval"),
         ("n_answers", "Answers"), ("n_conferences", "Conferences")), ("interval",), ("group",)),
    "topic_diagnostics": PaperTable(
        "Topic diagnostics, model {owner}",
        (("topic_label", "Topic"), ("coherence_c_npmi", "NPMI"), ("size", "Size"), ("exclusivity", "Exclusivity"),
         ("stability", "Seed stab."), ("resample_stability", "Resample stab."))),
    "design_cells": PaperTable(
        "Answers by official, year and conference",
        (("speaker", "Official"), ("year", "Year"), ("conference_id", "Conference"), ("n_answers", "Answers"),
         ("n_statements", "Statements")), wrap=("conference_id",)),
    "design_contrasts": PaperTable(
        "What the design allows for each contrast",
        (("contrast", "Contrast"), ("group_a", "A"), ("group_b", "B"), ("within", "Within"),
         ("n_answers", "Answers A / B"), ("n_conferences", "Conf. A / B"), ("smallest_q", "Smallest q")),
        ("refused", "untestable"), ()),
    "distinctive": PaperTable(
        "Distinctive words, contrast {owner}",
        (("side", "Side"), ("term", "Word"), ("count_a", "Count A"), ("count_b", "Count B"),
         ("log_odds", "Log-odds"), ("z", "z")), wrap=()),
}


def spec_for(stem: str, schema_name: str) -> PaperTable:
    """The compact form of a table of this schema (a table without one keeps all its columns)."""
    return SPECS.get(schema_name) or PaperTable(stem.replace("_", " ").capitalize(), ())


def _cell(value, precision: int) -> str:
    if pd.isna(value):
        return "--"
    if isinstance(value, (int, float)) and float(value).is_integer() and precision == 0:
        return str(int(value))
    return f"{value:.{precision}f}" if isinstance(value, float) else str(value)


def compact(frame: pd.DataFrame, spec: PaperTable, precision: int) -> pd.DataFrame:
    """The spec's columns with their headers: counts as integers, the interval as one column."""
    columns = {}
    for column, header in spec.columns or tuple((c, c.replace("_", " ")) for c in frame.columns):
        if column == "ci":
            columns[header] = [("--" if pd.isna(low) else f"[{low:.{precision}f}, {high:.{precision}f}]")
                               for low, high in zip(frame.ci_low, frame.ci_high)]
        elif f"{column}_a" in frame and column not in frame:  # a pair of counts, "9 / 3"
            columns[header] = [f"{_cell(a, 0)} / {_cell(b, 0)}" for a, b in zip(frame[f"{column}_a"].astype(object),
                                                                                 frame[f"{column}_b"].astype(object))]
        elif column in frame:
            values = frame[column]
            integer = pd.api.types.is_integer_dtype(values) or column.startswith(("n_", "count", "seeds")) and (
                values.dropna() == values.dropna().round()).all()
            columns[header] = [_cell(v, 0 if integer else precision) for v in values.astype(object)]
    return pd.DataFrame(columns, dtype=object)


def paper_latex(frame: pd.DataFrame, stem: str, schema_name: str, owner: str, precision: int = 3) -> str:
    """The ``table`` float: caption, label, the compact tabular, and the note. ``owner`` is what
    the table belongs to (a model, a contrast, "design"), named in the caption and the label."""
    spec = spec_for(stem, schema_name)
    table = compact(frame, spec, precision)
    wrapped = {header for column, header in spec.columns if column in spec.wrap}
    alignment = "".join(WRAP if header in wrapped else "r" if table[header].astype(str).str.match(r"^[-+\[\d.]").all()
                        else "l" for header in table.columns)
    tabular = latex_table(table, precision=precision, column_format=alignment)
    notes = [f"{column.replace('_', ' ').capitalize()}: {value}." for column in spec.notes if column in frame
             for value in sorted({str(v) for v in frame[column].dropna() if str(v)})]
    label = f"tab:{owner}-{stem}".replace("_", "-")
    lines = ["% needs \\usepackage{booktabs, threeparttable}", "\\begin{table}[htbp]", "\\centering", "\\small",
             f"\\caption{{{_escape(spec.caption.format(owner=owner, group=stem.removeprefix('by_').replace('_', ' and ')))}}}",
             f"\\label{{{label}}}", "\\begin{threeparttable}", tabular.rstrip("\n")]
    if notes:
        lines += ["\\begin{tablenotes}\\footnotesize", *(f"\\item {_escape(note)}" for note in notes),
                  "\\end{tablenotes}"]
    return "\n".join(lines + ["\\end{threeparttable}", "\\end{table}"]) + "\n"


def _escape(text: str) -> str:
    for char, escaped in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("$", "\\$"), ("#", "\\#"),
                          ("_", "\\_"), ("{", "\\{"), ("}", "\\}"), ("~", "\\textasciitilde{}"),
                          ("^", "\\textasciicircum{}")):
        text = text.replace(char, escaped)
    return text
