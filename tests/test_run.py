"""Full runs of the default config: model outputs, determinism, caching, and config errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.diagnostics import DIAGNOSTIC_COLUMNS
from pipeline.rundir import load_run

MODELS = ("lda", "nmf")
MODEL_FILES = ("topic_terms.csv", "topics.md", "unit_topics.csv", "answer_topics.csv",
               "representative_passages.csv", "metrics.json", "topic_diagnostics.csv")


@pytest.fixture(scope="module")
def runs(default_runs):
    return default_runs


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("model", MODELS)
def test_every_model_file_is_written_with_complete_mixtures(runs, model):
    folder = runs / "a" / "models" / model
    for name in MODEL_FILES:
        assert (folder / name).stat().st_size > 100
    assert any(folder.glob("model.*"))
    terms = read(folder / "topic_terms.csv")
    assert list(terms.columns) == ["topic", "rank", "term", "weight", "frex", "lift", "relevance"]
    assert terms.groupby("topic").size().tolist() == [20] * 8
    for name in ("unit_topics.csv", "answer_topics.csv"):
        table = read(folder / name)
        shares = table[[f"topic_{t}" for t in range(8)]].to_numpy()
        assert np.abs(shares.sum(axis=1) - 1).max() < 1e-6
        assert (table.dominant_topic == shares.argmax(axis=1)).all()
    units = read(folder / "unit_topics.csv")
    assert len(units) == 100 and units.unit_id.is_unique and (units.n_tokens > 0).all()
    passages = read(folder / "representative_passages.csv")
    assert len(passages) == 40 and passages.source.str.match(r"data/transcripts/\d{3}_\w+\.txt:\d+-\d+").all()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["k"] == 8 and metrics["iterations"] >= 1 and metrics["fit_seconds"] > 0
    assert ("heldout_log_perplexity" in metrics) == (model == "lda")
    if model == "lda":  # document completion beside its baselines
        assert metrics["heldout_uniform_log_perplexity"] == pytest.approx(np.log(metrics["vocabulary_size"]))
        assert metrics["heldout_words"] > 0 and metrics["heldout_unigram_log_perplexity"] > 0
    topics_md = (folder / "topics.md").read_text()
    assert topics_md.count("\n| ") == 10  # header, separator, 8 topics


def test_passages_quote_their_source_lines(runs):
    passages = read(runs / "a" / "models" / "nmf" / "representative_passages.csv")
    root = runs.parent
    for row in passages.itertuples():
        path, lines = row.source.rsplit(":", 1)
        start, end = map(int, lines.split("-"))
        source = (root / path).read_text(encoding="utf-8").split("\n")[start - 1:end]
        assert " ".join(" ".join(source).split()) == row.text


def test_answers_carry_their_modelled_text_and_source(runs):
    answers = read(runs / "a" / "models" / "lda" / "answer_topics.csv")
    units = read(runs / "a" / "models" / "lda" / "unit_topics.csv")
    paragraphs = read(runs / "a" / "corpus" / "paragraphs.csv").set_index("paragraph_id")
    for answer in answers.itertuples():
        own = paragraphs.loc[units.unit_id[units.answer_id == answer.answer_id]]
        assert answer.answer_text == "\n\n".join(own.text)
        assert answer.source == f"{own.source_file.iloc[0]}:{own.line_start.min()}-{own.line_end.max()}"
        assert answer.answer_text.startswith(answer.answer_start.removesuffix(" ..."))


def test_reruns_are_byte_identical(runs):
    """Run b reran run a's own config.yaml: tables and figures are byte-identical."""
    for figure in (runs / "a" / "figures").iterdir():
        assert figure.read_bytes() == (runs / "b" / "figures" / figure.name).read_bytes(), figure.name
    assert (runs / "a" / "topics.html").read_bytes() == (runs / "b" / "topics.html").read_bytes()
    for model in MODELS:
        for name in ("topic_terms.csv", "unit_topics.csv", "answer_topics.csv", "representative_passages.csv"):
            a = (runs / "a" / "models" / model / name).read_bytes()
            b = (runs / "b" / "models" / model / name).read_bytes()
            assert a == b, f"{model}/{name}"
    results = [p for folder in ("design", "emphasis", "distinctive", "responsiveness")
               for p in sorted((runs / "a" / folder).rglob("*")) if p.is_file()]
    assert len(results) >= 50
    for path in results:
        relative = path.relative_to(runs / "a")
        assert path.read_bytes() == (runs / "b" / relative).read_bytes(), relative


def test_one_answer_row_per_substantive_official_turn(runs):
    answers = read(runs / "a" / "models" / "lda" / "answer_topics.csv")
    assert len(answers) == 17 and answers.answer_id.is_unique
    assert answers.groupby("speaker").size().to_dict() == {
        "Jin Zhuanglong": 1, "Tao Qing": 1, "Tian Yulong": 4, "Xiao Yaqing": 11}
    assert sorted(answers.year.unique()) == [2021, 2022, 2023]
    answered = answers[answers.kind == "answer"]
    assert (answered.question_text.str.len() > 20).all()
    assert set(answered.question_outlet) >= {"CCTV", "Reuters", "unknown", "China Daily"}


def test_manifest_records_seeds_normalisation_and_timings(runs):
    manifest = json.loads((runs / "a" / "manifest.json").read_text())
    assert set(manifest["seeds"]["models"]) == set(MODELS)
    normalization = manifest["normalization"]
    assert normalization["vocabulary_size"] > 300 and len(normalization["top_terms"]) == 30
    assert "supply_chain" in set(load_run(runs / "a").models["nmf"].vocabulary.term)  # a configured expression
    assert normalization["units_modelled"] == 100 and normalization["from_cache"] is False
    assert all(p["npmi"] <= 1 for p in normalization["learned_phrases"])  # npmi is bounded by 1
    assert normalization["pruned_too_common"] == []  # the default prunes nothing for being common
    assert {"ingest", "design", "normalize", "vectorize", "write tables", "figures and report"} <= set(
        manifest["stage_seconds"])
    assert sum(manifest["stage_seconds"].values()) <= manifest["run_seconds"]  # the whole run, stages and between


def test_changing_only_models_reuses_the_token_lists(runs):
    first = json.loads((runs / "a" / "manifest.json").read_text())["normalization"]
    changed = json.loads((runs / "c" / "manifest.json").read_text())["normalization"]
    assert changed["from_cache"] is True and changed["cache_key"] == first["cache_key"]
    assert json.loads((runs / "c" / "models" / "nmf" / "metrics.json").read_text())["k"] == 6


def test_cache_reuse_is_logged(runs):
    log = (runs.parent / "run_c.log").read_text()
    assert "normalize: skipped, token lists reused from cache" in log
    assert "fit nmf (sklearn_nmf, k=6)" in log


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("models.0.k=500", "error: models.0.k: 500 topics but only 100 units to model (k must be <= 100)\n"),
        ("models.1.backend=bertopic", "error: config error: models.1: Input tag 'bertopic' found using 'backend' "
                                      "does not match any of the expected tags: 'gensim_lda', 'sklearn_lda', "
                                      "'sklearn_nmf', 'tomotopy_lda', 'tomotopy_dmr'\n"),
        ("normalize.stopwords.files=[configs/stopwords/missing.txt]",
         "error: normalize.stopwords.files: stopword file not found: configs/stopwords/missing.txt\n"),
    ],
)
def test_model_config_errors_exit_2_in_one_line(runs, capsys, override, message):
    before = sorted(p.name for p in runs.iterdir())
    config = str(runs.parent / "configs" / "default.yaml")
    assert main(["run", config, "-q", "--set", "run.name=a", "--set", override]) == 2
    assert capsys.readouterr().err == message
    assert sorted(p.name for p in runs.iterdir()) == before


def test_diagnostics_stability_alignment_and_robustness_are_written(runs):
    run = load_run(runs / "a")
    for name, model in run.models.items():
        table = model.topic_diagnostics
        assert list(table.columns) == DIAGNOSTIC_COLUMNS and len(table) == 8
        assert table.topic_label.str.startswith("T").all()
        assert table.stability.between(0, 1).all() and table["size"].sum() == pytest.approx(1, abs=1e-5)
        metrics = model.metrics
        assert 0 < metrics["topic_diversity"] <= 1 and metrics["stability_seeds"] == 5
        assert ("heldout_log_perplexity" in metrics) == (name == "lda")
        robust = model.emphasis["robustness"]
        assert len(robust) == 16 and (robust.seeds == 5).all()
        assert robust.seeds_holding.between(0, 5).all()
    pairs = run.alignment
    assert len(pairs) == 64 and pairs.matched.sum() == 8
    found = pairs[pairs.found_by_both]
    assert found.equals(pairs[pairs.matched & (pairs.cosine >= 0.5)])
    nmf_found = run.models["nmf"].topic_diagnostics.aligned_with != ""
    assert nmf_found.sum() == len(found)
    report = (runs / "a" / "report.md").read_text()
    assert "mean stability" in report and "held-out units" in report and "alignment_lda_nmf.png" in report


def test_models_of_different_k_align_one_to_one(runs):
    pairs = load_run(runs / "c").alignment  # lda k=8, nmf k=6
    assert len(pairs) == 48 and pairs.matched.sum() == 6 and pairs[pairs.matched].topic_b.is_unique


def test_unstable_models_are_labelled_exploratory_everywhere(runs):
    """The bundled corpus is small: its LDA's topics do not reappear across seeds or subsamples,
    and the gate says so in tables, figure captions and report sentences."""
    run = load_run(runs / "a")
    report = (runs / "a" / "report.md").read_text()
    lda = run.models["lda"].metrics
    assert lda["exploratory"] and "seed stability" in lda["exploratory_reason"]
    for name, model in run.models.items():
        metrics = model.metrics
        assert model.topic_diagnostics.exploratory.eq(metrics["exploratory"]).all()
        # NMF has no posterior: its subsample refits are also the joint model's draws (compare.refit_draws).
        assert 0 <= metrics["mean_resample_stability"] <= 1 and metrics["resamples"] == (5 if name == "lda" else 20)
        if metrics["exploratory"]:
            assert f"Exploratory model: {metrics['exploratory_reason']}." in report
            assert f"*Exploratory model ({metrics['exploratory_reason']}): Top terms per topic, model {name}.*" in report
    # ... and on the figures themselves, which travel without their captions.
    from pipeline.config import validate
    from pipeline.figures import catalogue
    from pipeline.labels import topic_labels

    labels = {name: topic_labels(model.topic_terms) for name, model in run.models.items()}
    spec = next(s for s in catalogue(run.models, run.alignment, run.design["cells"], labels, validate(run.config))
                if s.stem == "top_terms_lda")
    figure = spec.draw()
    # The stamp wraps to the figure's width.
    assert " ".join(figure.get_suptitle().split()) == f"Exploratory model ({lda['exploratory_reason']}): not a finding"
    assert all(run.models[m].metrics["exploratory"] for m in ("lda", "nmf"))  # so no contrast is a finding:
    readings = [line for line in report.split("## Findings")[1].split("\n## ")[0].splitlines()
                if " vs " in line or " gives topic '" in line]
    assert readings and all(line.startswith("(Exploratory model, not a finding.)") for line in readings)



def test_transform_reproduces_the_runs_own_mixtures(runs):
    """``transform`` on the run's own units: their tokens exactly; NMF's mixtures exactly (as
    rounded in the table), LDA's within the noise of its inference (two inferences of the same
    units differ by as much)."""
    from pipeline.models import BACKENDS
    from pipeline.topic_tables import round_rows

    infer, reinfer = BACKENDS["tomotopy_lda"].infer, BACKENDS["tomotopy_lda"].reinfer

    run = load_run(runs / "a")
    texts = run.paragraphs.set_index("paragraph_id").text
    columns = [f"topic_{t}" for t in range(8)]
    nmf = run.model("nmf")
    mixtures = nmf.transform(texts.loc[nmf.unit_topics.unit_id])
    assert (mixtures.n_tokens.to_numpy() == nmf.unit_topics.n_tokens.to_numpy()).all()
    assert np.array_equal(round_rows(mixtures[columns].to_numpy()), nmf.unit_topics[columns].to_numpy())

    lda = run.model("lda")
    own = texts.loc[lda.unit_topics.unit_id]
    mixtures = lda.transform(own)
    assert (mixtures.n_tokens.to_numpy() == lda.unit_topics.n_tokens.to_numpy()).all()
    gap = np.abs(mixtures[columns].to_numpy() - lda.unit_topics[columns].to_numpy()).mean()
    native, matrices = lda.fitted(), lda.matrices_of(own)
    noise = np.abs(infer(native, matrices) - reinfer(native, matrices)).mean()
    assert 0 < gap <= 1.5 * noise
    agree = (mixtures[columns].to_numpy().argmax(axis=1) == lda.unit_topics.dominant_topic.to_numpy()).mean()
    assert agree >= 0.85

    unknown = nmf.transform(["zzzz qqqq"])
    assert unknown.n_tokens.tolist() == [0] and unknown[columns].isna().all(axis=None)
    prior = lda.transform(["zzzz qqqq"])[columns].to_numpy()
    assert np.isclose(prior.sum(), 1) and (prior > 0).all()
    with pytest.raises(Exception, match="no model 'stm'.*lda, nmf"):
        run.model("stm")
