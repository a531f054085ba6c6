"""Benchmark helpers (the benchmark itself is a command, not a timed unit test)."""

from __future__ import annotations

import json

import pytest

from pipeline.bench import rows, slices, table


def test_slices_keep_whole_briefings():
    lines = [json.dumps({"briefing_id": f"b{i // 3:03d}", "turn_index": i % 3}) for i in range(300)]
    sliced = slices(lines, ["1%", "10%", "100%"])
    assert len(sliced["100%"]) == 300 and len(sliced["10%"]) == 30 and len(sliced["1%"]) == 3
    assert {json.loads(line)["briefing_id"] for line in sliced["1%"]} == {"b000"}


def test_rows_and_table_report_rates_and_memory():
    manifest = {"normalization": {"units_modelled": 100, "tokens_raw": 5000},
                "stage_seconds": {"ingest": 0.5, "fit lda": 2.0}, "stage_peak_mib": {"ingest": 120.0, "fit lda": 150.5},
                "run_seconds": 3.0}  # the stages and the moments between them
    result = rows("1%", manifest)
    assert [(r["stage"], r["units_per_s"], r["tokens_per_s"], r["peak_mib"]) for r in result] == [
        ("ingest", 200, 10000, 120.0), ("fit lda", 50, 2500, 150.5), ("whole run", 33, 1667, 150.5)]
    assert result[-1]["seconds"] == 3.0 and result[-1]["seconds_per_million_tokens"] == 600.0  # 3 s / 5000 tokens
    assert "fit lda" in table(result) and "default config" in table(result)
    assert "600 s per million tokens" in table(result)


def test_the_notebook_runs_on_a_runs_paragraphs_and_gives_the_ratio(default_runs):
    """The hand-written baseline times each step on the official paragraphs of a finished run."""
    from pipeline.bench import notebook_row

    manifest = json.loads((default_runs / "a" / "manifest.json").read_text())
    row = notebook_row("bundled", manifest, default_runs / "a" / "corpus" / "paragraphs.csv")
    assert set(row["notebook_steps"]) == {"preprocess", "lda", "nmf", "coherence"}
    assert row["seconds"] > 0 and row["ratio_pipeline_to_notebook"] == pytest.approx(
        row["pipeline_seconds"] / row["seconds"], rel=0.01)
    assert "notebook" in table([row]) and "pipeline" in table([row])


def test_a_clone_without_the_scale_corpus_benches_the_bundled_corpus_and_says_so(project, caplog):
    import yaml

    from pipeline.bench import run_bench

    config = project / "configs" / "default.yaml"
    quick = yaml.safe_load(config.read_text())
    quick["evaluate"].update(stability_seeds=2, resamples=2, coherence_bootstrap=2)
    quick["figures"]["draw"] = False
    config.write_text(yaml.safe_dump(quick))
    with caplog.at_level("WARNING", logger="pipeline"):
        results = run_bench(config, full=False, scale_file=None)
    assert {row["size"] for row in results} == {"bundled", "500 pages"}
    [pages] = [row for row in results if row["size"] == "500 pages"]  # no White House pages without the corpus
    assert pages["stage"] == "ingest of 500 SCIO pages (wall)" and pages["seconds"] > pages["stage_seconds"]["ingest"]
    assert "no scale corpus at" in caplog.text and "timing the bundled corpus only" in caplog.text


def test_briefings_written_as_white_house_posts_read_back_as_they_were_said(context):
    """The page-ingest benchmark's White House posts are the scale corpus's briefings: read
    back, each has its title, date, turns and paragraphs (lines wrapped at 72, joined again)."""
    from pipeline.bench import white_house_pages
    from pipeline.readers import READERS

    said = {"2022-03-01-press-briefing": [
        ("Ms. Psaki", "Hi, everyone. " + " ".join(["The President will travel to Duluth on Friday to talk about bridges."] * 3)
         + "\n\nSecond, a note on the schedule for next week."),
        ("Q", "Thanks, Jen. On Ukraine: will the President speak with President Zelenskyy today?"),
        ("Ms. Psaki", "He spoke with him this morning, and they agreed to speak again later this week.")],
        "2022-03-02-press-briefing": [("Mr. Kirby", "Good afternoon. Let me start with an update on the region."),
                                      ("Q", "Can you say how many troops are going?")]}
    lines = [json.dumps({"briefing_id": briefing, "date": briefing[:10], "title": f"Press Briefing by Press\\_Secretary, "
                         f"{briefing[:10]}", "source_url": f"https://www.whitehouse.gov/{briefing}/", "turn_index": i,
                         "speaker": speaker, "role": "", "text": text})
             for briefing, turns in said.items() for i, (speaker, text) in enumerate(turns)]
    pages = white_house_pages(lines, 500)
    assert sorted(pages) == ["2022-03-01-press-briefing.md", "2022-03-02-press-briefing.md"]
    assert max(len(line) for text in pages.values() for line in text.splitlines()) <= 72
    for name, text in pages.items():
        [page] = READERS["scio"].read(name, text.encode("utf-8"), context)
        briefing = name.removesuffix(".md")
        assert (page.title, str(page.date)) == (f"Press Briefing by Press Secretary, {briefing[:10]}", briefing[:10])
        assert [[p.text for p in turn.paragraphs] for turn in page.turns] == [
            text.split("\n\n") for _, text in said[briefing]]
        assert [turn.label == "Q" for turn in page.turns] == [speaker == "Q" for speaker, _ in said[briefing]]
