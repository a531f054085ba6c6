"""Declared table schemas: checked where stages meet, used to read a run back."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from pipeline import schemas
from pipeline.cli import main
from pipeline.rundir import load_run
from pipeline.schemas import SchemaError


def test_check_names_the_table_and_what_is_wrong():
    frame = pd.DataFrame({"speaker": ["A", "A"], "position": "P", "year": [2021, 2021], "conference_id": "c",
                          "n_answers": [1, 2], "n_statements": [3, 4]})
    with pytest.raises(SchemaError, match=r"table design_cells \(here\): key speaker, conference_id repeats "
                                          r"\(first: A, c\)"):
        schemas.DESIGN_CELLS.check(frame, "here")
    with pytest.raises(SchemaError, match="table design_cells: missing column\\(s\\) n_statements"):
        schemas.DESIGN_CELLS.check(frame.drop(columns="n_statements").iloc[:1])
    with pytest.raises(SchemaError, match="key speaker, conference_id is missing in some rows"):
        schemas.DESIGN_CELLS.check(frame.assign(speaker=["A", ""]))
    with pytest.raises(SchemaError, match="undeclared column\\(s\\) stray"):
        schemas.DESIGN_CELLS.check(frame.iloc[:1].assign(stray=1))
    assert schemas.UNIT_TOPICS.kind("topic_12") == "float" and schemas.TURNS.kind("user_metadata") == "str"


def test_read_csv_uses_the_declared_kinds(tmp_path):
    path = tmp_path / "conferences.csv"
    path.write_text("conference_id,title,date,year,date_source,source_files\n"
                    "c1,2021,2021-03-01,2021,conference_date,a.txt\nc2,Undated,,,none,b.txt\n")
    frame = schemas.CONFERENCES.read_csv(path)
    assert frame.title.tolist() == ["2021", "Undated"]  # text that looks like a number stays text
    assert str(frame.year.dtype) == "Int64" and frame.year.isna().tolist() == [False, True]
    assert frame.date.tolist() == ["2021-03-01", ""]
    path.write_text("conference_id,title,date,year,date_source,source_files\nc1,T,2021-03-01,soon,x,a.txt\n")
    with pytest.raises(SchemaError, match="table conferences .*cannot be read"):
        schemas.CONFERENCES.read_csv(path)


@pytest.fixture
def damaged(default_runs, tmp_path):
    """A copy of a finished run that each test damages in its own way."""
    shutil.copytree(default_runs / "a", tmp_path / "run")
    return tmp_path / "run"


def test_load_run_says_which_table_is_missing_or_malformed(damaged):
    table = damaged / "models" / "nmf" / "unit_topics.csv"
    frame = pd.read_csv(table, dtype=str, keep_default_na=False)
    frame.drop(columns="answer_id").to_csv(table, index=False)
    with pytest.raises(SchemaError, match=r"table unit_topics \(models/nmf/unit_topics.csv\): missing column\(s\) "
                                          "answer_id"):
        load_run(damaged)
    (damaged / "models" / "lda" / "topic_terms.csv").unlink()
    with pytest.raises(SchemaError, match="models/lda/topic_terms.csv is missing"):
        load_run(damaged)


def test_report_on_a_damaged_run_exits_2_and_leaves_it_as_it_was(damaged, capsys):
    (damaged / "emphasis" / "lda" / "contrasts.csv").write_text("contrast,topic\nx,0\nx,0\n")
    before = {p: p.read_bytes() for p in damaged.rglob("*") if p.is_file()}
    assert main(["report", str(damaged), "-q"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: table contrasts (emphasis/lda/contrasts.csv): missing column(s) topic_label")
    assert error.count("\n") == 1
    assert {p: p.read_bytes() for p in damaged.rglob("*") if p.is_file()} == before
