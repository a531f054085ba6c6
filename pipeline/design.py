"""The comparison design, read before any estimate: who answers in which year and conference,
what the joint speaker + year model can separate, and how far a permutation test can go.

Comparisons use answers (``compare.kinds``), one row per answer. The joint model is the
additive ``share ~ C(speaker) + C(year)`` that stm's ``estimateEffect`` would fit: its rank
and residual degrees of freedom say how much the design can tell apart. A contrast A - B on a
column of that model is *identified* when its vector of coefficients lies in the row space
of the design matrix (Searle 1971, "Linear Models", sec. 5.4: L b is estimable iff
L = L X^+ X); one that is not is refused, never estimated. A contrast is *testable* at the
significance level when a permutation of its labels within strata (``within``, conference by
default: answers are compared only with answers given at the same conference) has enough
distinct arrangements: with N arrangements no p-value is below 1/N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import CompareConfig, Contrast
from pipeline.errors import ConfigError

JOINT_TERMS = ("speaker", "year")
ANSWER_COLUMNS = ["answer_id", "conference_id", "year", "speaker", "position", "kind", "question_outlet"]


def answers_of(units: pd.DataFrame) -> pd.DataFrame:
    """One row per answer (or statement): its metadata and how many units it has."""
    grouped = units.groupby("answer_id", sort=True)
    table = grouped[ANSWER_COLUMNS[1:]].first().reset_index()
    return table.assign(n_units=grouped.size().to_numpy())


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def count(n: int) -> str:
    """A count as text: exact up to a million, then three significant digits."""
    return f"{n}" if n < 10 ** 6 else f"{n:.3g}"


def key(value: object) -> str:
    """A group value as it is named in configs and tables (years as ``2021``)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else str(value)


def check_contrasts(units: pd.DataFrame, cfg: CompareConfig) -> None:
    """Every contrast names values that occur among the selected units, else a one-line error
    listing the known ones (a misspelt name is an error, not a refused contrast)."""
    for name, column, *groups, _ in cfg.contrast_list():
        known = sorted({key(v) for v in units[column]} - {""}) if column in units else []
        for value in groups:
            if value not in known:
                raise ConfigError(f"compare.contrasts.{name}: {column} has no value {value!r} "
                                  f"(known: {', '.join(known) or 'none'})")


def design_cells(answers: pd.DataFrame) -> pd.DataFrame:
    """Answers and statements per speaker, year and conference."""
    counted = answers.assign(n_answers=(answers.kind == "answer").astype(int),
                             n_statements=(answers.kind == "statement").astype(int))
    return (counted.groupby(["speaker", "position", "year", "conference_id"], dropna=False, sort=True)
            [["n_answers", "n_statements"]].sum().reset_index())


@dataclass(frozen=True)
class JointDesign:
    """The additive speaker + year model on the compared answers (undated ones left out)."""

    n_answers: int
    n_undated: int
    n_cells: int
    matrix: np.ndarray
    columns: tuple[str, ...]

    @property
    def n_parameters(self) -> int:
        return len(self.columns)

    @property
    def rank(self) -> int:
        return int(np.linalg.matrix_rank(self.matrix)) if self.n_answers else 0

    @property
    def residual_df(self) -> int:
        return self.n_answers - self.rank

    @property
    def cell_residual_df(self) -> int:
        """Cells beyond the rank: 0 means the additive model fits every cell mean exactly."""
        return self.n_cells - self.rank

    def contrast_vector(self, column: str, group_a: str, group_b: str) -> np.ndarray:
        """L with L b = coefficient of A minus coefficient of B (the reference level's is 0)."""
        vector = np.zeros(len(self.columns))
        for value, sign in ((group_a, 1.0), (group_b, -1.0)):
            name = f"C({column})[T.{value}]"
            if name in self.columns:
                vector[self.columns.index(name)] += sign
        return vector

    def identified(self, column: str, group_a: str, group_b: str) -> bool:
        """Whether A - B on ``column`` is estimable: L lies in the row space of X."""
        if not self.n_answers:
            return False
        vector = self.contrast_vector(column, group_a, group_b)
        return bool(np.allclose(vector @ np.linalg.pinv(self.matrix) @ self.matrix, vector, atol=1e-8))


def joint_design(answers: pd.DataFrame) -> JointDesign:
    """patsy's treatment-coded ``C(speaker) + C(year)`` matrix (first level of each the reference)."""
    import patsy

    dated = answers[answers.year.notna()]
    data = pd.DataFrame({term: dated[term].map(key).to_numpy() for term in JOINT_TERMS})
    if data.empty:
        return JointDesign(0, len(answers), 0, np.zeros((0, 1)), ("Intercept",))
    matrix = patsy.dmatrix(" + ".join(f"C({term})" for term in JOINT_TERMS), data)
    return JointDesign(len(data), len(answers) - len(data), len(data.drop_duplicates()), np.asarray(matrix),
                       tuple(matrix.design_info.column_names))


@dataclass(frozen=True)
class ContrastDesign:
    """What the design allows for one contrast."""

    contrast: Contrast
    n_answers_a: int
    n_answers_b: int
    n_conferences_a: int
    n_conferences_b: int
    strata: tuple[str, ...]  # values of ``within`` holding answers of both groups
    n_stratified_a: int
    n_stratified_b: int
    arrangements: int  # distinct assignments of the labels within the strata
    mirrored: int  # 2 when every stratum has equal sides (an arrangement and its swap tie), else 1
    refused: str  # why the contrast is not estimated ("" when it is)
    untestable: str  # why no p-value can reach the significance level ("" when one can)

    @property
    def smallest_p(self) -> float:
        """The smallest two-sided p a permutation test within the strata can give."""
        return self.mirrored / self.arrangements if self.arrangements else 1.0


def contrast_design(answers: pd.DataFrame, contrast: Contrast, joint: JointDesign, significance: float) -> ContrastDesign:
    _, column, group_a, group_b, within = contrast
    labels = answers[column].map(key)
    sides = [answers[labels == group] for group in (group_a, group_b)]
    counts = [len(side) for side in sides]
    conferences = [side.conference_id.nunique() for side in sides]
    strata_a, strata_b = (side.groupby(side[within].map(key)).size() for side in sides)
    shared = sorted(set(strata_a.index) & set(strata_b.index) - {""})
    arrangements = math.prod(math.comb(int(strata_a[s] + strata_b[s]), int(strata_a[s])) for s in shared)
    # With equal sides in every stratum, swapping A and B everywhere is another arrangement with
    # the same |t|, so no two-sided p falls below 2 / arrangements.
    mirrored = 2 if shared and all(strata_a[s] == strata_b[s] for s in shared) else 1
    refused = ""
    missing = [group for group, n in zip((group_a, group_b), counts) if n == 0]
    if missing:
        refused = f"no compared answers have {column} {' or '.join(missing)}"
    elif column in JOINT_TERMS and not joint.identified(column, group_a, group_b):
        other = next(t for t in JOINT_TERMS if t != column)
        refused = (f"not identified: {group_a} and {group_b} are not linked once {other} is held fixed "
                   f"(speaker + year model)")
    untestable = ""
    if not refused:
        if not shared:
            untestable = f"no {within} holds answers of both groups"
        elif mirrored / arrangements > significance:
            untestable = (f"{count(arrangements)} arrangements within {within}: p can never be below "
                          f"{mirrored / arrangements:.2g}, above the significance level {significance:g}")
    return ContrastDesign(contrast, counts[0], counts[1], conferences[0], conferences[1], tuple(shared),
                          int(sum(strata_a[s] for s in shared)), int(sum(strata_b[s] for s in shared)),
                          arrangements if shared else 0, mirrored, refused, untestable)


@dataclass(frozen=True)
class DesignReport:
    cells: pd.DataFrame
    joint: JointDesign
    contrasts: tuple[ContrastDesign, ...]
    kinds: tuple[str, ...]
    n_conferences: int

    def refused(self) -> list[ContrastDesign]:
        return [c for c in self.contrasts if c.refused]

    def summary_fields(self) -> dict[str, object]:
        j = self.joint
        return {"kinds": list(self.kinds), "n_answers": j.n_answers, "n_conferences": self.n_conferences, "n_undated": j.n_undated, "n_cells": j.n_cells,
                "n_parameters": j.n_parameters, "rank": j.rank, "residual_df": j.residual_df,
                "cell_residual_df": j.cell_residual_df, "summary": self.summary(), "contrasts": self.lines()}

    def summary(self) -> str:
        j = self.joint
        return (f"design: {plural(j.n_answers, 'compared ' + '/'.join(self.kinds))} at "
                f"{plural(self.n_conferences, 'conference')} in {j.n_cells} speaker × year "
                f"cells; speaker + year model rank {j.rank} of {j.n_parameters} parameters, residual df "
                f"{j.residual_df} (cells beyond parameters: {j.cell_residual_df})"
                + (f"; {j.n_undated} undated answers left out" if j.n_undated else ""))

    def lines(self) -> list[str]:
        """One line per contrast: refused, untestable, or how it is supported."""
        result = []
        for c in self.contrasts:
            name, column, a, b, within = c.contrast
            support = (f"{a} {plural(c.n_answers_a, 'answer')} in {plural(c.n_conferences_a, 'conference')}, "
                       f"{b} {plural(c.n_answers_b, 'answer')} in {plural(c.n_conferences_b, 'conference')}")
            if c.refused:
                result.append(f"contrast {name} refused: {c.refused} ({support})")
            elif c.untestable:
                result.append(f"contrast {name} not testable at this level: {c.untestable} ({support})")
            else:
                result.append(f"contrast {name}: {support}; compared within {plural(len(c.strata), within + ' value')} "
                              f"holding both ({c.n_stratified_a} vs {c.n_stratified_b} answers, "
                              f"{count(c.arrangements)} arrangements)")
        return result

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "contrast": c.contrast.name, "column": c.contrast.column, "group_a": c.contrast.group_a,
            "group_b": c.contrast.group_b, "within": c.contrast.within, "n_answers_a": c.n_answers_a,
            "n_answers_b": c.n_answers_b, "n_conferences_a": c.n_conferences_a, "n_conferences_b": c.n_conferences_b,
            "n_strata": len(c.strata), "n_stratified_a": c.n_stratified_a, "n_stratified_b": c.n_stratified_b,
            "arrangements": str(c.arrangements), "smallest_p": c.smallest_p, "refused": c.refused,
            "untestable": c.untestable,
        } for c in self.contrasts], columns=CONTRAST_DESIGN_COLUMNS)


CONTRAST_DESIGN_COLUMNS = ["contrast", "column", "group_a", "group_b", "within", "n_answers_a", "n_answers_b",
                           "n_conferences_a", "n_conferences_b", "n_strata", "n_stratified_a", "n_stratified_b",
                           "arrangements", "smallest_p", "refused", "untestable"]


def design_report(answers: pd.DataFrame, cfg: CompareConfig) -> DesignReport:
    """The design of every configured contrast, from the answers (statements and others are
    counted in the cells but compared only when ``compare.kinds`` names them)."""
    compared = answers[answers.kind.isin(cfg.kinds)]
    joint = joint_design(compared)
    contrasts = tuple(contrast_design(compared, c, joint, cfg.significance) for c in cfg.contrast_list())
    return DesignReport(design_cells(answers), joint, contrasts, tuple(cfg.kinds), int(compared.conference_id.nunique()))
