"""Unit selection at paragraph and answer level."""

from __future__ import annotations

from pipeline.config import UnitsConfig
from pipeline.units import select_units


def test_paragraph_units_are_official_non_duplicate_and_long_enough(bundled_corpus):
    units = select_units(bundled_corpus.turns, bundled_corpus.paragraphs, UnitsConfig())
    assert len(units) == 100 and units.unit_id.is_unique
    assert (units.n_words >= 20).all() and set(units.role) == {"official"}
    assert set(units.kind) == {"statement", "answer"}
    assert not units.source_file.str.contains("000_").any()  # the duplicate page
    assert units.answer_id.nunique() == 17


def test_answer_units_join_an_answers_paragraphs(bundled_corpus):
    units = select_units(bundled_corpus.turns, bundled_corpus.paragraphs, UnitsConfig(level="answer"))
    assert len(units) == 17 and (units.unit_id == units.answer_id).all()
    tao = units[units.speaker == "Tao Qing"].iloc[0]
    assert tao.text.count("\n\n") == 5 and tao.text.endswith("Thank you!")
    assert (tao.line_start, tao.line_end) == (15, 25)
    cnbc_answer = units[units.question_outlet == "CNBC"].iloc[0]
    assert cnbc_answer.speaker == "Tian Yulong" and "chip industry" in cnbc_answer.question_text


def test_empty_units_after_normalisation_are_dropped_and_counted(project, capsys):
    import json

    from pipeline.cli import main

    config = str(project / "configs" / "default.yaml")
    assert main(["run", config, "-q", "--set", "corpus.units.min_words=1",
                 "--set", "models=[{name: nmf, backend: sklearn_nmf, k: 4}]", "--set", "figures.draw=false"]) == 0
    normalization = json.loads((project / "outputs" / "default" / "manifest.json").read_text())["normalization"]
    # Only stopwords and pruned names are left of "Thank you." (002), the two "Thank you!" (004)
    # and "That's all for my introduction. Mr. Tian Yulong and I will now answer your questions."
    assert normalization["units_dropped_empty"] == 4
    assert normalization["units_modelled"] == normalization["units_selected"] - 4
    modelled = (project / "outputs" / "default" / "models" / "nmf" / "unit_topics.csv").read_text()
    assert modelled.count("\n") - 1 == normalization["units_modelled"]
    statement = "2021-03-01-development-of-industry-and-information-technology/t001"
    assert f"{statement}/p11," not in modelled and f"{statement}/p10," in modelled
