"""The design report: identification in the joint speaker + year model, strata and their
arrangements, refusal (and --strict) before any modelling, on constructed and bundled designs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import CompareConfig
from pipeline.design import design_report, joint_design
from tests.conftest import make_project


def answers(rows: list[tuple[str, int, str]], kind: str = "answer") -> pd.DataFrame:
    return pd.DataFrame([{"answer_id": f"a{i}", "speaker": speaker, "position": "Official", "year": year,
                          "conference_id": conference, "kind": kind, "question_outlet": ""}
                         for i, (speaker, year, conference) in enumerate(rows)])


def test_speaker_contrast_is_refused_when_speaker_and_year_are_confounded():
    # A speaks only in 2021, B only in 2022: speaker and year effects cannot be told apart.
    table = answers([("A", 2021, "c1")] * 3 + [("B", 2022, "c2")] * 3)
    cfg = CompareConfig(contrasts={"a_vs_b": {"speaker": ["A", "B"]}, "years": {"year": [2021, 2022]}})
    report = design_report(table, cfg)
    assert report.joint.rank == 2 and report.joint.n_parameters == 3 and report.joint.residual_df == 4
    assert [c.refused.startswith("not identified") for c in report.contrasts] == [True, True]


def test_a_linking_speaker_identifies_both_effects_and_the_strata_count_arrangements():
    # Bundled-like: X and T answer at the 2021 conference; T also in 2023, with J.
    table = answers([("X", 2021, "c21")] * 9 + [("T", 2021, "c21")] * 3 + [("T", 2023, "c23")] + [("J", 2023, "c23")])
    cfg = CompareConfig(contrasts={"x_vs_t": {"speaker": ["X", "T"]}, "y": {"year": [2021, 2023], "within": "speaker"},
                                   "y_conf": {"year": [2021, 2023]}})
    report = design_report(table, cfg)
    joint = joint_design(table)
    assert (joint.rank, joint.n_cells, joint.cell_residual_df, joint.residual_df) == (4, 4, 0, 10)
    # 10 df over answers, but two conferences: clustered inference has at most 1.
    assert report.conference_df == 1 and "at most 1 (conferences - 1) for inference" in report.summary()
    x_vs_t, by_year, by_year_in_conference = report.contrasts
    assert not x_vs_t.refused and x_vs_t.strata == ("c21",) and x_vs_t.arrangements == math.comb(12, 3) == 220
    # Year is constant within a conference: T's two conferences are exchanged, not its 4 answers.
    assert by_year.unit == "conference" and by_year.arrangements == 2 and "never be below 1" in by_year.untestable
    assert by_year_in_conference.untestable == "no conference_id holds answers of both groups"
    assert all("answers in" in line for line in report.lines())
    # Equal sides in every stratum: an arrangement and its mirror tie, so p >= 2 / arrangements.
    balanced = answers([("X", 2021, "c1")] * 3 + [("T", 2021, "c1")] * 3)
    (design,) = design_report(balanced, CompareConfig(contrasts={"x": {"speaker": ["X", "T"]}})).contrasts
    assert design.arrangements == 20 and design.smallest_p == 0.1 and "never be below 0.1" in design.untestable


def test_conference_level_labels_count_arrangements_of_conferences():
    # 2 vs 2 conferences of one official, 5 answers each: 6 arrangements of conferences (not
    # C(20, 10) of answers), mirrored, so p >= 1/3: not testable.
    rows = [("S", 2021 if c < 2 else 2023, f"c{c}") for c in range(4) for _ in range(5)]
    (design,) = design_report(answers(rows), CompareConfig(
        contrasts={"y": {"year": [2021, 2023], "within": "speaker"}})).contrasts
    assert (design.unit, design.arrangements, design.n_units_a, design.n_units_b) == ("conference", 6, 2, 2)
    assert design.smallest_p == pytest.approx(1 / 3) and "6 arrangements of conferences" in design.untestable
    # Two officials at the same conferences: a conference moves in both strata at once, so the
    # block is the 4 conferences, not 6 x 6 arrangements.
    both = answers(rows + [("T", 2021 if c < 2 else 2023, f"c{c}") for c in range(4) for _ in range(2)])
    (design,) = design_report(both, CompareConfig(contrasts={"y": {"year": [2021, 2023], "within": "speaker"}})).contrasts
    assert design.arrangements == 6 and len(design.blocks) == 1 and design.blocks[0].strata == ("S", "T")
    # A label that varies within conferences, compared within years: answers are exchanged only
    # within each conference (the conference holding one speaker only drops out).
    mixed = answers([("A", 2021, "c1")] * 3 + [("B", 2021, "c1")] * 3 + [("A", 2021, "c2")] * 4)
    (design,) = design_report(mixed, CompareConfig(contrasts={"s": {"speaker": ["A", "B"], "within": "year"}})).contrasts
    assert design.unit == "answer" and design.arrangements == 20 and design.n_stratified_a == 3


def test_statements_are_counted_in_the_cells_but_not_compared():
    table = pd.concat([answers([("X", 2021, "c1")] * 2), answers([("X", 2022, "c2")], kind="statement")],
                      ignore_index=True)
    report = design_report(table, CompareConfig(contrasts={"y": {"year": [2021, 2022], "within": "speaker"}}))
    assert report.cells.n_statements.sum() == 1 and report.cells.n_answers.sum() == 2
    assert report.contrasts[0].refused == "no compared answers have year 2022"


def test_bundled_design_refuses_before_modelling_and_strict_exits_2(tmp_path, capsys):
    project = make_project(tmp_path)
    config = str(project / "configs" / "default.yaml")
    # Xiao's only 2022 unit is his opening statement: with answers compared, 2022 has none.
    refused = ["--set", "compare.contrasts={y2022: {year: [2022, 2021], within: speaker}}"]
    assert main(["ingest", config, "--strict", *refused]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == ("error: --strict: contrast y2022 is refused: no compared answers have "
                                            "year 2022")
    assert main(["ingest", config, *refused]) == 0
    err = capsys.readouterr().err
    assert "contrast y2022 refused: no compared answers have year 2022" in err
    cells = pd.read_csv(project / "outputs" / "default" / "design" / "cells.csv")
    assert cells.groupby("speaker").n_answers.sum().to_dict() == {
        "Jin Zhuanglong": 1, "Tao Qing": 1, "Tian Yulong": 4, "Xiao Yaqing": 9}
    assert cells.n_statements.sum() == 2


def test_ingest_reports_a_contrast_the_corpus_cannot_check_and_writes_the_corpus(tmp_path, capsys):
    # A config copied from the default onto a corpus without 2021 (or without the official):
    # ingest is how one finds out what the corpus holds, so it refuses the contrast in one line
    # and writes the tables; run and validate stay strict.
    project = make_project(tmp_path)
    config = str(project / "configs" / "default.yaml")
    absent = ["--set", "compare.contrasts={bad: {speaker: [Xiao Yaqing, Nobody]}}"]
    assert main(["ingest", config, *absent]) == 0
    err = capsys.readouterr().err
    assert ("contrast refused: compare.contrasts.bad: speaker has no value 'Nobody' (known: Jin Zhuanglong, Tao Qing, "
            "Tian Yulong, Xiao Yaqing)") in err
    design = pd.read_csv(project / "outputs" / "default" / "design" / "contrasts.csv")
    assert design.refused.iloc[0] == "no compared answers have speaker Nobody"
    assert (project / "outputs" / "default" / "corpus" / "turns.csv").is_file()
    assert main(["ingest", config, "--strict", "--set", "run.name=strict", *absent]) == 2
    assert main(["validate", config, *absent]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        "error: compare.contrasts.bad: speaker has no value 'Nobody'")
