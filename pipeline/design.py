"""The comparison design, read before any estimate: who answers in which year and conference,
what the joint speaker + year model can separate, and how far a permutation test can go.

Comparisons use answers (``compare.kinds``), one row per answer. The joint model is the
additive ``share ~ C(speaker) + C(year)`` that stm's ``estimateEffect`` would fit: its rank
and residual degrees of freedom say how much the design can tell apart. A contrast A - B on a
column of that model is *identified* when its vector of coefficients lies in the row space
of the design matrix (Searle 1971, "Linear Models", sec. 5.4: L b is estimable iff
L = L X^+ X); one that is not is refused, never estimated.

Answers given at one conference share its agenda, so the conference, not the answer, is the
unit of independent information. A permutation test exchanges labels only between units
that are exchangeable under the null (``permutation_blocks``): answers within one conference
when the label varies within conferences (speaker), whole conferences within the strata they
link when the label is constant within each conference (year). A contrast is *testable* when
the smallest p its arrangements allow could still give a finding on the scale findings are
declared on: q over the run's whole family of tests (``best_case_q``).
"""

from __future__ import annotations

import math
import dataclasses
from collections.abc import Sequence
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


def column_words(column: str) -> str:
    """A design column as readers say it: conference_id -> conference, question_outlet -> outlet."""
    return {"conference_id": "conference", "question_outlet": "outlet"}.get(column, column.replace("_", " "))


def count(n: int) -> str:
    """A count as text: exact up to a million, then three significant digits."""
    return f"{n}" if n < 10 ** 6 else f"{n:.3g}"


def key(value: object) -> str:
    """A group value as it is named in configs and tables (years as ``2021``)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else str(value)


def contrast_problems(units: pd.DataFrame, cfg: CompareConfig) -> list[str]:
    """One line per contrast value that does not occur among the selected units, listing the
    known ones (a misspelt name is a mistake in the config, not a design the corpus refuses)."""
    problems = []
    for name, column, *groups, _ in cfg.contrast_list():
        known = sorted({key(v) for v in units[column]} - {""}) if column in units else []
        problems += [f"compare.contrasts.{name}: {column} has no value {value!r} (known: {', '.join(known) or 'none'})"
                     for value in groups if value not in known]
    return problems


def check_contrasts(units: pd.DataFrame, cfg: CompareConfig) -> None:
    """The first of ``contrast_problems`` as a one-line ``ConfigError``."""
    problems = contrast_problems(units, cfg)
    if problems:
        raise ConfigError(problems[0])


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
class PermutationBlock:
    """Units whose labels one permutation exchanges: the answers of one conference (the label
    varies within conferences), or whole conferences of the strata they link (the label is
    constant within each conference; a conference in two strata moves in both at once)."""

    strata: tuple[str, ...]  # the ``within`` values whose answers the block holds
    units: tuple[str, ...]  # answer ids, or conference ids
    in_a: tuple[bool, ...]  # each unit's observed label

    @property
    def n_a(self) -> int:
        return sum(self.in_a)

    @property
    def n_b(self) -> int:
        return len(self.in_a) - self.n_a

    @property
    def arrangements(self) -> int:
        return math.comb(len(self.units), self.n_a)


def label_unit(labels: pd.Series, conferences: pd.Series) -> str:
    """"conference" when every conference's answers carry one label (a conference-level label
    such as year), else "answer"."""
    return "conference" if (labels.groupby(conferences).nunique() <= 1).all() else "answer"


def permutation_blocks(answers: pd.DataFrame, contrast: Contrast) -> tuple[str, tuple[PermutationBlock, ...]]:
    """The unit of exchange ("answer" or "conference") and the blocks of units whose labels a
    permutation test of ``contrast`` exchanges, each holding units of both groups.

    A label that varies within conferences is permuted among the answers of one conference (of
    one ``within`` value, when ``within`` is not the conference): answers at other conferences
    had another agenda, so they are not exchangeable with these. A label constant within
    conferences is permuted by whole conferences within the strata, and strata that share a
    conference form one block, so that the conference carries one label in all of them.
    """
    _, column, group_a, group_b, within = contrast
    labels = answers[column].map(key)
    chosen = answers[labels.isin([group_a, group_b]) & answers[within].map(key).ne("")]
    labels, strata = labels[chosen.index], chosen[within].map(key)
    unit = label_unit(labels, chosen.conference_id)
    blocks = []
    if unit == "answer":
        cell = strata if within == "conference_id" else strata + " @ " + chosen.conference_id.astype(str)
        in_a_all, ids, stratum_of = (labels == group_a).to_numpy(), chosen.answer_id.to_numpy(), strata.to_numpy()
        for rows in cell.groupby(cell, sort=True).indices.values():  # one pass, not a mask per cell
            in_a = tuple(bool(v) for v in in_a_all[rows])
            if any(in_a) and not all(in_a):
                blocks.append(PermutationBlock((stratum_of[rows[0]],), tuple(ids[rows]), in_a))
        return unit, tuple(blocks)
    label_of: dict[str, bool] = {}  # each conference's label
    strata_of: dict[str, set[str]] = {}  # the strata each conference's answers are in
    for stratum, conference, label in zip(strata, chosen.conference_id.astype(str), labels == group_a):
        label_of[conference] = bool(label)
        strata_of.setdefault(conference, set()).add(stratum)
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(node: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for conference, held in strata_of.items():
        for stratum in held:
            parent[root(("s", stratum))] = root(("c", conference))
    members: dict[tuple[str, str], list[str]] = {}
    for conference in sorted(strata_of):
        members.setdefault(root(("c", conference)), []).append(conference)
    for conferences in sorted(members.values()):
        in_a = tuple(label_of[c] for c in conferences)
        # a stratum holding one group only still moves with its conferences, but adds no difference
        if any(in_a) and not all(in_a):
            blocks.append(PermutationBlock(tuple(sorted(set().union(*(strata_of[c] for c in conferences)))),
                                           tuple(conferences), in_a))
    return unit, tuple(blocks)


@dataclass(frozen=True)
class ContrastDesign:
    """What the design allows for one contrast."""

    contrast: Contrast
    n_answers_a: int
    n_answers_b: int
    n_conferences_a: int
    n_conferences_b: int
    strata: tuple[str, ...]  # values of ``within`` holding answers of both groups
    n_stratified_a: int  # answers in those strata (of conferences holding both, for an answer-level label)
    n_stratified_b: int
    n_stratified_conferences_a: int
    n_stratified_conferences_b: int
    unit: str  # what a permutation exchanges: "answer" or "conference"
    blocks: tuple[PermutationBlock, ...]
    refused: str  # why the contrast is not estimated ("" when it is)
    untestable: str = ""  # why no finding is possible at q < significance ("" when one is)
    best_q: float = 1.0  # the smallest q the test can reach, every test of the family at its smallest p
    finding_p: float = 0.05  # the p one true difference among null tests needs for q < significance

    @property
    def arrangements(self) -> int:
        """Distinct assignments of the labels to the units within the blocks."""
        return math.prod(b.arrangements for b in self.blocks) if self.blocks else 0

    @property
    def mirrored(self) -> int:
        """2 when every block has equal sides (an arrangement and its swap tie in |t|), else 1."""
        return 2 if self.blocks and all(b.n_a == b.n_b for b in self.blocks) else 1

    @property
    def n_units_a(self) -> int:
        return sum(b.n_a for b in self.blocks)

    @property
    def n_units_b(self) -> int:
        return sum(b.n_b for b in self.blocks)

    @property
    def smallest_p(self) -> float:
        """The smallest two-sided p a permutation test within the blocks can give."""
        return self.mirrored / self.arrangements if self.arrangements else 1.0


def contrast_design(answers: pd.DataFrame, contrast: Contrast, joint: JointDesign) -> ContrastDesign:
    _, column, group_a, group_b, within = contrast
    labels = answers[column].map(key)
    sides = [answers[labels == group] for group in (group_a, group_b)]
    counts = [len(side) for side in sides]
    conferences = [side.conference_id.nunique() for side in sides]
    unit, blocks = permutation_blocks(answers, contrast)
    both = answers[labels.isin([group_a, group_b])].groupby(answers[within].map(key))[column].nunique()
    shared = tuple(sorted({s for b in blocks for s in b.strata} & set(both.index[both == 2])))
    in_strata = [side[side[within].map(key).isin(shared)] for side in sides]
    if unit == "answer":  # only the answers of conferences holding both groups are compared
        held = {u for b in blocks for u in b.units}
        in_strata = [side[side.answer_id.isin(held)] for side in sides]
    refused = ""
    missing = [group for group, n in zip((group_a, group_b), counts) if n == 0]
    if missing:
        refused = f"no compared answers have {column} {' or '.join(missing)}"
    elif column in JOINT_TERMS and not joint.identified(column, group_a, group_b):
        other = next(t for t in JOINT_TERMS if t != column)
        refused = (f"not identified: {group_a} and {group_b} are not linked once {other} is held fixed "
                   f"(speaker + year model)")
    return ContrastDesign(contrast, counts[0], counts[1], conferences[0], conferences[1], shared,
                          len(in_strata[0]), len(in_strata[1]), in_strata[0].conference_id.nunique(),
                          in_strata[1].conference_id.nunique(), unit, blocks, refused)


def family_size_factor(method: str, m: int) -> float:
    """The factor by which BY or BH multiplies the smallest p of m tests: m sum 1/i, or m."""
    return m * sum(1 / i for i in range(1, m + 1)) if method == "by" else float(m)


def best_case_q(smallest_p: Sequence[float], tests_each: int, method: str) -> np.ndarray:
    """Each contrast's q when every test of the family (``tests_each`` per contrast: one per
    model topic) attains its own smallest p: no q of that contrast can be lower."""
    from scipy.stats import false_discovery_control

    if not len(smallest_p) or not tests_each:
        return np.ones(len(smallest_p))
    q = false_discovery_control(np.repeat(np.asarray(smallest_p, float), tests_each), method=method)
    return q.reshape(len(smallest_p), tests_each).min(axis=1)


def with_testability(designs: Sequence[ContrastDesign], tests_each: int,
                     cfg: CompareConfig) -> tuple[ContrastDesign, ...]:
    """Each contrast with whether its permutation test can give a finding on the scale findings
    are declared on: q over the family of the estimated contrasts, ``tests_each`` tests each (one
    per topic of every model), by ``compare.multiplicity``."""
    estimated = [d for d in designs if not d.refused]
    m = len(estimated) * tests_each
    finding_p = cfg.significance / family_size_factor(cfg.multiplicity, m) if m else cfg.significance
    best = dict(zip((d.contrast.name for d in estimated),
                    best_case_q([d.smallest_p for d in estimated], tests_each, cfg.multiplicity)))
    result = []
    for d in designs:
        within, q = d.contrast.within, best.get(d.contrast.name, 1.0)
        untestable = ""  # a refused contrast is not tested at all: the design says why
        if not d.refused and not d.blocks:
            untestable = f"no {within} holds answers of both groups" + (
                " (the label is constant within each conference, so whole conferences are compared)"
                if d.unit == "conference" and within != "conference_id" else "")
        elif not d.refused and q >= cfg.significance:
            untestable = (f"{count(d.arrangements)} arrangements of {d.unit}s within {within}: p can never be "
                          f"below {d.smallest_p:.2g}, and with {m} tests in the run's family "
                          f"({cfg.multiplicity.upper()}) q can never be below {q:.2g}: no finding at q < "
                          f"{cfg.significance:g} is possible")
        result.append(dataclasses.replace(d, untestable=untestable, best_q=float(q), finding_p=finding_p))
    return tuple(result)


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
                "cell_residual_df": j.cell_residual_df, "conference_df": self.conference_df,
                "summary": self.summary(), "contrasts": self.lines()}

    @property
    def conference_df(self) -> int:
        """What inference with errors clustered by conference has at most: conferences - 1."""
        return max(self.n_conferences - 1, 0)

    def summary(self) -> str:
        j = self.joint
        return (f"design: {plural(j.n_answers, 'compared ' + '/'.join(self.kinds))} at "
                f"{plural(self.n_conferences, 'conference')} in {j.n_cells} speaker × year "
                f"cells; speaker + year model rank {j.rank} of {j.n_parameters} parameters, residual df "
                f"{j.residual_df} over answers (cells beyond parameters: {j.cell_residual_df}), and at most "
                f"{self.conference_df} (conferences - 1) for inference with errors clustered by conference"
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
                units = "" if c.unit == "answer" else f", permuted as {c.n_units_a} vs {c.n_units_b} whole conferences"
                result.append(f"contrast {name}: {support}; compared within {plural(len(c.strata), column_words(within))} "
                              f"holding both ({c.n_stratified_a} vs {c.n_stratified_b} answers{units}, "
                              f"{count(c.arrangements)} arrangements; smallest q {c.best_q:.2g})")
        return result

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "contrast": c.contrast.name, "column": c.contrast.column, "group_a": c.contrast.group_a,
            "group_b": c.contrast.group_b, "within": c.contrast.within, "n_answers_a": c.n_answers_a,
            "n_answers_b": c.n_answers_b, "n_conferences_a": c.n_conferences_a, "n_conferences_b": c.n_conferences_b,
            "n_strata": len(c.strata), "n_stratified_a": c.n_stratified_a, "n_stratified_b": c.n_stratified_b,
            "unit": c.unit, "n_units_a": c.n_units_a, "n_units_b": c.n_units_b,
            "arrangements": str(c.arrangements), "smallest_p": c.smallest_p, "smallest_q": c.best_q,
            "finding_p": c.finding_p, "refused": c.refused, "untestable": c.untestable,
        } for c in self.contrasts], columns=CONTRAST_DESIGN_COLUMNS)


CONTRAST_DESIGN_COLUMNS = ["contrast", "column", "group_a", "group_b", "within", "n_answers_a", "n_answers_b",
                           "n_conferences_a", "n_conferences_b", "n_strata", "n_stratified_a", "n_stratified_b",
                           "unit", "n_units_a", "n_units_b", "arrangements", "smallest_p", "smallest_q",
                           "finding_p", "refused", "untestable"]


def design_report(answers: pd.DataFrame, cfg: CompareConfig, tests_each: int = 1) -> DesignReport:
    """The design of every configured contrast, from the answers (statements and others are
    counted in the cells but compared only when ``compare.kinds`` names them); ``tests_each``:
    how many tests each contrast adds to the run's family (the topics of all its models)."""
    compared = answers[answers.kind.isin(cfg.kinds)]
    joint = joint_design(compared)
    contrasts = with_testability([contrast_design(compared, c, joint) for c in cfg.contrast_list()], tests_each, cfg)
    return DesignReport(design_cells(answers), joint, contrasts, tuple(cfg.kinds), int(compared.conference_id.nunique()))
