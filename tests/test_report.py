"""Reports and relabelling: names change everywhere, numbers never."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import CompareConfig
from pipeline.report import chance_phrase, contrast_sentences
from tests.conftest import QUICK_FITS


@pytest.fixture(scope="module")
def relabelled(default_runs, tmp_path_factory):
    """A copy of run a, re-rendered with a labels file. Its native models are corrupted first:
    re-rendering reads the saved tables only, and never loads them."""
    outputs = tmp_path_factory.mktemp("relabel")
    shutil.copytree(default_runs.parent, outputs / "project")
    run = outputs / "project" / "outputs" / "a"
    for native in run.glob("models/*/model.*"):
        native.write_bytes(b"corrupt")
    labels = outputs / "labels.yaml"
    labels.write_text('nmf: {0: "Supply-chain resilience", 7: "Steel and emissions"}\nlda: {3: "5G rollout"}\n')
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert len([path for path in before if path.name.startswith("model.")]) == 2
    assert main(["report", str(run), "--labels", str(labels), "-q"]) == 0
    return run, before, labels


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["topic_label"])


def test_relabelling_changes_names_and_keeps_every_number(relabelled):
    run, before, _ = relabelled
    for name in ("by_speaker", "by_year", "by_speaker_year", "contrasts"):
        path = run / "emphasis" / "nmf" / f"{name}.csv"
        old = pd.read_csv(pd.io.common.BytesIO(before[path.relative_to(run)]), dtype=str, keep_default_na=False)
        new = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert numeric(old).equals(numeric(new)), name  # byte-identical numeric columns
        assert set(new[new.topic == "0"].topic_label) == {"Supply-chain resilience"}
        assert set(new[new.topic == "1"].topic_label) == set(old[old.topic == "1"].topic_label)
    for model in ("lda", "nmf"):
        for name in ("topic_terms.csv", "unit_topics.csv", "answer_topics.csv", "representative_passages.csv"):
            relative = (run / "models" / model / name).relative_to(run)
            assert (run / relative).read_bytes() == before[relative]
    assert "| Supply-chain resilience |" in (run / "models" / "nmf" / "topics.md").read_text()
    assert "| 5G rollout |" in (run / "models" / "lda" / "topics.md").read_text()


def test_relabelling_redraws_figures_and_reports(relabelled):
    run, before, labels = relabelled
    figure = run / "figures" / "emphasis_speaker_nmf.png"
    assert figure.read_bytes() != before[figure.relative_to(run)]
    report_md = (run / "report.md").read_text()
    assert "Supply-chain resilience" in report_md and "Steel and emissions" in report_md
    html = (run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 18 and "Supply-chain resilience" in html
    assert "src=\"figures/" not in html  # self-contained
    assert 'href="topics.html"' in html
    browser = (run / "topics.html").read_text()  # redrawn with the labels: the map's markers name them
    assert browser != before[Path("topics.html")].decode() and '"0: Supply-chain resilience"' in browser
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["labels"]["sha256"] == hashlib.sha256(labels.read_bytes()).hexdigest()
    assert manifest["config_sha256"] == json.loads(before[(run / "manifest.json").relative_to(run)])["config_sha256"]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("bert: {0: x}\n", "error: labels: no model 'bert' in this run (models: lda, nmf)\n"),
        ("nmf: {8: x}\n", "error: labels.nmf.8: topic ids are 0 to 7\n"),
        ("nmf: {0: ''}\n", "error: labels.nmf.0: a label must be non-empty text\n"),
        ("nmf: {0: Chips, 3: ' Chips'}\n", "error: labels.nmf: topics 0 and 3 have the same label 'Chips'; tables "
         "and figures could not tell them apart (give each topic its own label)\n"),
    ],
)
def test_bad_labels_exit_2_and_change_nothing(default_runs, tmp_path, capsys, labels, message):
    run = tmp_path / "a"
    shutil.copytree(default_runs / "a", run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    path = tmp_path / "labels.yaml"
    path.write_text(labels)
    assert main(["report", str(run), "--labels", str(path)]) == 2
    assert capsys.readouterr().err == message
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_contrast_naming_an_unknown_group_lists_the_known_ones(default_runs, capsys):
    config = str(default_runs.parent / "configs" / "default.yaml")
    code = main(["run", config, "-q", "--set", "run.name=x",
                 "--set", "compare.contrasts={bad: {speaker: [Xiao Yaqing, Nobody]}}"])
    assert code == 2
    assert capsys.readouterr().err == ("error: compare.contrasts.bad: speaker has no value 'Nobody' (known: "
                                       "Jin Zhuanglong, Tao Qing, Tian Yulong, Xiao Yaqing)\n")
    assert not (default_runs / "x").exists()


def contrast_rows(**changes) -> pd.DataFrame:
    row = {"contrast": "c", "topic": 0, "group_a": "Jin Zhuanglong", "group_b": "Xiao Yaqing", "within": "conference_id",
           "estimate": 0.2134, "se": 0.05, "detectable": 0.14, "ci_low": 0.081, "ci_high": 0.333,
           "interval": "95% studentised bootstrap over answers, within conference_id", "t": 4.2, "p": 0.001,
           "q": 0.012, "p_method": "exact, 3003 arrangements within strata", "smallest_p": 1 / 3003, "finding_p": 0.005,
           "testable": True,
           "n_answers_a": 5, "n_answers_b": 9, "n_conferences_a": 2, "n_conferences_b": 1, "n_strata": 1}
    return pd.DataFrame([{**row, **changes}])


POSITIONS = {"Jin Zhuanglong": "Minister of Industry and Information Technology",
             "Xiao Yaqing": "Minister of Industry and Information Technology"}


def test_a_finding_names_positions_answers_conferences_interval_and_test():
    ((topic, sentence),) = contrast_sentences(contrast_rows(), "speaker", {0: "Supply chains"}, CompareConfig(),
                                              POSITIONS)
    assert topic == 0 and sentence == (
        "Jin Zhuanglong (Minister of Industry and Information Technology; 5 answers in 2 conferences) gives topic "
        "'Supply chains' 0.21 more of an answer's content than Xiao Yaqing (Minister of Industry and Information "
        "Technology; 9 answers in 1 conference), compared within 1 conference they share (95% CI 0.08 to "
        "0.33; permutation p = 0.001, exact, 3003 arrangements within strata; BY q = 0.012).")


def test_no_finding_is_never_no_difference_and_untestable_says_why():
    ((_, quiet),) = contrast_sentences(contrast_rows(q=0.4, p=0.2), "year", {0: "X"}, CompareConfig(), {})
    assert "no topic reaches q < 0.05 (BY over the run's tests)" in quiet and "only differences of 0.14 to 0.14" in quiet
    assert "at p < 0.005 (what a single difference needs" in quiet
    assert "year Jin Zhuanglong (5 answers in 2 conferences)" in quiet and "no difference" not in quiet
    ((_, untestable),) = contrast_sentences(contrast_rows(testable=False, smallest_p=0.25, p_method="exact, 4 arrangements"
                                                     " within strata"), "speaker", {0: "X"}, CompareConfig(), {})
    assert "not testable at q < 0.05" in untestable and "the smallest attainable p is 0.25" in untestable
    # A detectable difference beyond what the arrangements allow, or beyond 1, is not a number.
    ((_, none),) = contrast_sentences(contrast_rows(q=0.4, p=0.2, detectable=float("nan"), smallest_p=1 / 220,
                                                    finding_p=0.00038), "speaker", {0: "X"}, CompareConfig(), {})
    assert ("no difference is detectable: a single difference needs p below 0.00038 to reach q < 0.05 (BY over the "
            "run's tests), and these arrangements give p no lower than 0.0045") in none


def figure_texts(figure) -> str:
    import matplotlib.pyplot as plt
    import matplotlib.text

    texts = " ".join(" ".join(t.get_text().split()) for t in figure.findobj(matplotlib.text.Text))  # unwrapped
    plt.close(figure)
    return texts


def test_numbers_in_captions_axes_and_sentences_come_from_the_config(default_runs):
    """Interval level, weighting, small-group threshold and diversity top-n, changed in the config,
    change the tables and every caption, axis label and report sentence that mentions them."""
    from pipeline.config import validate
    from pipeline.figures import catalogue, model_selection_figure
    from pipeline.labels import topic_labels
    from pipeline.rundir import load_run

    config = str(default_runs.parent / "configs" / "default.yaml")
    assert main(["run", config, "-q", "--set", "run.name=levels", "--set", "compare.level=0.9",
                 "--set", "compare.min_answers=2", "--set", "evaluate.diversity_top_n=10",
                 "--set", "evaluate.stability_top_n=8", "--set", "compare.weight=tokens",
                 *QUICK_FITS]) == 0
    before = (default_runs / "a" / "report.md").read_text()
    after = (default_runs / "levels" / "report.md").read_text()
    captions = [line for line in after.splitlines() if line.startswith("*") and (
        "emphasis" in line or "Topic shares" in line or "Contrast" in line)]
    assert len(captions) >= 8 and all("answers weighted by their tokens" in c for c in captions), captions
    tokens_table = pd.read_csv(default_runs / "levels" / "emphasis" / "nmf" / "by_speaker.csv")
    assert tokens_table.estimand.str.contains("answers weighted by their tokens").all()
    assert (tokens_table.share.round(6).tolist()
            != pd.read_csv(default_runs / "a" / "emphasis" / "nmf" / "by_speaker.csv").share.round(6).tolist())
    for old, new in (("answers weighted equally", "answers weighted by their tokens"),
                     ("95% interval over conferences", "90% interval over conferences"),
                     ("at least 5 answers", "at least 2 answers"),
                     ("Topic diversity (top 25)", "Topic diversity (top 10)"),
                     ("top 10 terms over depths 1 to 10", "top 8 terms over depths 1 to 8")):
        assert old in before and old not in after and new in after, old
    assert "95%" not in after

    run = load_run(default_runs / "levels")
    cfg = validate(run.config)
    labels = {name: topic_labels(model.topic_terms) for name, model in run.models.items()}
    texts = {spec.stem: figure_texts(spec.function(*spec.arguments))
             for spec in catalogue(run.models, run.alignment, run.design["cells"], labels, cfg)}
    assert "90% interval over conferences" in texts["emphasis_speaker_nmf"]
    assert not any("95%" in text for text in texts.values())
    summary = pd.DataFrame({"backend": ["b"], "k": [4], "stability": [0.5],
                            **{f"{m}_{s}": [0.1] for m in ("c_v", "c_npmi", "diversity", "heldout_log_perplexity")
                               for s in ("mean", "min", "max")}})
    assert "Topic diversity (top 10)" in figure_texts(model_selection_figure(summary, cfg.figures, 10))




def test_bundled_comparisons_are_honest_about_their_design(default_runs):
    """On the bundled corpus: no zero-width interval in any table; Xiao vs Tian compared on
    answers within the one conference both answer at; every comparison sentence gives answers
    and conferences."""
    run = default_runs / "a"
    for table in sorted(run.glob("emphasis/*/*.csv")):
        frame = pd.read_csv(table)
        if {"ci_low", "ci_high"} <= set(frame.columns):
            both = frame.dropna(subset=["ci_low", "ci_high"])
            assert (both.ci_high > both.ci_low).all(), table
            lowest = 0 if table.stem.startswith("by_") else -1  # shares lie in [0, 1], differences in [-1, 1]
            assert ((both.ci_low >= lowest) & (both.ci_high <= 1)).all(), table
    contrasts = pd.read_csv(run / "emphasis" / "nmf" / "contrasts.csv")
    xiao = contrasts[contrasts.contrast == "xiao_vs_tian"].iloc[0]
    assert (xiao.within, xiao.n_strata, xiao.n_answers_a, xiao.n_answers_b) == ("conference_id", 1, 9, 3)
    assert (xiao.n_conferences_a, xiao.n_conferences_b, xiao.p_method) == (
        1, 1, "exact, 220 arrangements within blocks (answers exchanged)")
    # Year is constant within a conference: Tian's 2021 and 2023 answers are 1 vs 1 conference.
    year = contrasts[contrasts.contrast == "y2021_vs_2023"].iloc[0]
    assert (year.unit, year.testable) == ("conference", False)
    # No group's answers come from 3 conferences: no group share has an interval, and the
    # report says why instead of drawing one.
    assert pd.read_csv(run / "emphasis" / "nmf" / "by_year.csv").ci_low.isna().all()
    cells = pd.read_csv(run / "design" / "cells.csv")
    at_2021 = cells[cells.conference_id.str.startswith("2021-03-01")].set_index("speaker").n_answers
    assert (at_2021["Xiao Yaqing"], at_2021["Tian Yulong"]) == (9, 3)
    report = (run / "report.md").read_text(encoding="utf-8")
    findings = report.split("## Findings")[1].split("\n## ")[0]
    comparisons = [paragraph for paragraph in findings.split("\n\n") if paragraph.strip()
                   and not paragraph.startswith("###")]
    comparisons += [line for line in report.splitlines() if line.startswith("Contrast ")]
    assert len(comparisons) >= 6 and report.index("## Findings") < report.index("## Design") < report.index(
        "## Corpus")
    for sentence in comparisons:
        assert re.search(r"\d+ answers? in \d+ conferences?", sentence), sentence
    assert "minister" not in report.lower().replace("minister of industry", "")


def test_restarts_that_reach_one_objective_are_not_called_stable(default_runs):
    from pipeline.config import EvaluateConfig
    from pipeline.report import model_summary
    from pipeline.rundir import load_run

    metrics = load_run(default_runs / "a").models["nmf"].metrics
    assert len(set(metrics["restart_scores"])) > 1  # random starts from the seed: the restarts differ
    assert "one fit found again" not in model_summary(metrics, EvaluateConfig())
    same = {**metrics, "restart_scores": [-8.72879] * 5, "mean_stability": 1.0}  # NNDSVDa's five restarts, before
    assert "every restart reached the same objective: one fit found again" in model_summary(same, EvaluateConfig())


def test_the_distinctive_count_is_read_against_its_permutation_null():
    chance = pd.DataFrame({"contrast": ["a", "b", "c"], "words": [627, 100, 50], "observed": [4, 12, 0],
                           "expected": [2.7, 1.5, np.nan], "share_expected": [2.7 / 627, 0.015, np.nan],
                           "p": [0.25, 0.005, 1.0], "permutations": [200, 200, 0]}).set_index("contrast")
    assert chance_phrase(chance, "a") == ("4 of 627 words beyond |z| = 3, 2.7 expected by chance (0.43% of words), "
                                          "permutation p = 0.25: chance level")
    assert chance_phrase(chance, "b").endswith("p = 0.01: more than chance")
    assert "chance is not measured" in chance_phrase(chance, "c")
    assert chance_phrase(None, "a") == "no permutation null in this run"


def test_the_report_opens_with_what_can_be_taken_away_and_tabulates_what_repeats(default_runs):
    from pipeline.rundir import load_run

    run = load_run(default_runs / "a")
    report = (default_runs / "a" / "report.md").read_text(encoding="utf-8")
    summary = report.split("## Summary")[1].split("\n## ")[0]
    assert report.index("## Summary") < report.index("## Findings")
    assert "15 compared answers by 4 officials at 3 conferences (2021-2023)." in summary
    for name, model in run.models.items():
        assert f"Model `{name}` is exploratory ({model.metrics['exploratory_reason']})." in summary
    assert "Nothing here is a finding: every model is exploratory" in summary
    # Responsiveness: one table per model, a row per official, the baseline beside the divergence.
    section = report.split("## Responsiveness")[1].split("\n## ")[0]
    header = ("| official | position | answers | conferences | from own question (bits) | "
              "from other questions (bits) | responsiveness (bits) | on question's top topic |")
    assert section.count(header) == len(run.models)
    assert "| Xiao Yaqing | Minister of Industry and Information Technology | 9 | 1 | " in section
    # Each topic's top passages with their file:line, as representative_passages.csv ranks them.
    passages = run.models["nmf"].representative_passages
    first = passages[(passages.topic == 0) & (passages["rank"] == 1)].iloc[0]
    assert f"| {first.speaker} | {first.date} | {first.source} | {first.text[:60]}" in report


def test_every_latex_table_is_a_captioned_float_that_fits_a_page(default_runs):
    import shutil
    import subprocess

    tables = sorted((default_runs / "a").rglob("*.tex"))
    assert len(tables) >= 20
    for path in tables:
        text = path.read_text(encoding="utf-8")
        assert "\\begin{table}" in text and "\\caption{" in text and "\\label{tab:" in text, path
        spec = re.search(r"\\begin\{tabular\}\{([^}]*(?:\{[^}]*\}[^}]*)*)\}", text).group(1)
        columns = re.findall(r"p\{[^}]*\}|[lrc]", spec)
        assert len(columns) <= 8, (path, len(columns))
        rows = [line.removesuffix("\\\\").split(" & ") for line in text.splitlines() if line.endswith("\\\\")]
        # Width at \small (about 4.5 pt a character) plus 12 pt between columns; a wrapping column is its width.
        width = sum(102 if column.startswith("p") else 4.5 * max(len(row[i].replace("\\", "")) for row in rows)
                    for i, column in enumerate(columns)) + 12 * len(columns)
        assert width <= 468, (path, width)  # 6.5 in, a page's text width with one-inch margins
        assert not re.search(r"(?<![\d.])\d+\.0+ /|& \d+\.00 \\\\", text), path  # counts are integers
    if shutil.which("pdflatex"):  # compile them all in one document where a TeX engine is installed
        document = default_runs / "tables.tex"
        document.write_text("\\documentclass{article}\\usepackage[margin=1in]{geometry}\\usepackage{booktabs,"
                            "threeparttable}\\begin{document}" + "".join(p.read_text() for p in tables)
                            + "\\end{document}")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", document.name], cwd=default_runs,
                              capture_output=True, text=True)
        assert done.returncode == 0 and "Overfull \\hbox" not in done.stdout, done.stdout[-2000:]


def test_one_held_out_conference_gives_no_error_and_no_nan_in_the_json(default_runs):
    from pipeline.report import heldout_sentence

    metrics = {"heldout_gain_over_unigram": 0.2, "heldout_gain_se": None, "heldout_gain_df": None,
               "heldout_gain_distinguishable": False, "heldout_log_perplexity": 6.1, "heldout_units": 3,
               "heldout_conferences": 1, "heldout_words": 40, "heldout_unigram_log_perplexity": 6.3,
               "heldout_uniform_log_perplexity": 6.5}
    sentence = heldout_sentence(metrics)
    assert "(no standard error from one conference): nothing says whether the model predicts better" in sentence
    for path in (default_runs / "a").rglob("*.json"):
        assert "NaN" not in path.read_text(encoding="utf-8"), path  # JSON has no NaN; null says "none"
