"""Benchmark helpers: slices of the scale corpus, the hand-written notebook, the results table.

``python -m pipeline bench`` runs the real pipeline (``run``, default config) once per corpus
size, each in a fresh process so that peak memory is that size's own, and reads each stage's
seconds and peak memory from the run's manifest. On the bundled corpus and the 10% slice it
also times the notebook a researcher would write by hand (``notebook_seconds``) on the same
official paragraphs, and reports pipeline / notebook time: the notebook's compute after its
imports, against the pipeline's whole run (start-up imports left out, the imports a stage
makes when it first needs a library counted). Last, it times ``ingest`` of 500 pages as files,
start-up included (``page_ingest_rows``): SCIO-sized pages, and the scale corpus's briefings
written as White House posts.
"""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import project_root
from pipeline.errors import InputError
from pipeline.rundir import write_text

log = logging.getLogger("pipeline")

SIZES = {"1%": 100, "10%": 10, "100%": 1}  # every n-th briefing, in briefing-id order


NOTEBOOK_SIZES = ("bundled", "10%")
COVARIATE_SIZE = "10%"  # where the covariate model's fit is timed against the blind LDA's
COVARIATE_MODELS = [{"name": "lda", "backend": "tomotopy_lda", "k": 8},
                    {"name": "dmr", "backend": "tomotopy_dmr", "k": 8, "covariates": ["speaker", "year"]}]
# Only the models' own fits are read from that run: no restarts, resamples, bootstrap or figures.
COVARIATE_SETTINGS = {"evaluate": {"stability_seeds": 1, "resamples": 0, "coherence_bootstrap": 0},
                      "figures": {"draw": False}}
WHOLE_RUN = "whole run"
SETTINGS_NOTE = "default config; scale slices read as JSONL (their columns mapped, no speaker registry)"


def slices(lines: Iterable[str], sizes: Iterable[str]) -> dict[str, list[str]]:
    """Whole briefings per size: every n-th briefing id in sorted order, with all its turns."""
    rows = [(json.loads(line)["briefing_id"], line) for line in lines if line.strip()]
    ids = sorted({briefing for briefing, _ in rows})
    chosen = {size: set(ids[:: SIZES[size]]) for size in sizes}
    return {size: [line for briefing, line in rows if briefing in keep] for size, keep in chosen.items()}


def slice_config(inputs: str, output_dir: str, name: str, stopwords: str) -> dict[str, Any]:
    """A run of the default models on a JSONL slice of White House briefings."""
    return {
        "run": {"name": name, "output_dir": output_dir},
        "corpus": {
            "inputs": [inputs], "format": "jsonl", "speakers": None,
            "columns": {"text": "text", "speaker": "speaker", "date": "date", "conference": "briefing_id",
                        "title": "title", "role": "role", "turn_index": "turn_index"},
        },
        "normalize": {"stopwords": {"files": [stopwords]}},
        "compare": {"contrasts": {}},
    }


def rows(size: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage (seconds, units and tokens per second, peak memory), then one for the
    whole run, stages and the moments between them (start-up imports left out), with the seconds per
    million tokens that should stay flat from size to size."""
    normalization = manifest.get("normalization") or {}
    units, tokens = normalization.get("units_modelled", 0), normalization.get("tokens_raw", 0)
    peaks = manifest.get("stage_peak_mib", {})
    stages = {**manifest["stage_seconds"], WHOLE_RUN: manifest["run_seconds"]}
    result = []
    for stage, seconds in stages.items():
        result.append({
            "size": size, "stage": stage, "seconds": round(seconds, 3),
            "units_per_s": round(units / seconds) if seconds > 0 and units else None,
            "tokens_per_s": round(tokens / seconds) if seconds > 0 and tokens else None,
            "peak_mib": max(peaks.values(), default=None) if stage == WHOLE_RUN else peaks.get(stage),
            "units": units, "tokens": tokens, "settings": SETTINGS_NOTE,
        })
    result[-1]["seconds_per_million_tokens"] = round(stages[WHOLE_RUN] / tokens * 1e6, 1) if tokens else None
    return result


def table(results: list[dict[str, Any]]) -> str:
    header = f"{'size':>7}  {'stage':<42} {'seconds':>9} {'units/s':>10} {'tokens/s':>11} {'peak MiB':>9}"
    lines = [SETTINGS_NOTE, header, "-" * len(header)]
    for r in results:
        lines.append(f"{r['size']:>7}  {r['stage'][:42]:<42} {r['seconds']:>9.2f} {r['units_per_s'] or '':>10} "
                     f"{r['tokens_per_s'] or '':>11} {r['peak_mib'] or '':>9}")
        if r.get("seconds_per_million_tokens"):
            lines.append(f"{r['size']:>7}  {r['seconds_per_million_tokens']:.0f} s per million tokens")
        if "ratio_dmr_to_lda" in r:
            lines.append(f"{r['size']:>7}  covariate model / blind LDA fit time = {r['ratio_dmr_to_lda']:.2f}")
        if "ratio_pipeline_to_notebook" in r:
            lines.append(f"{r['size']:>7}  pipeline {r['pipeline_seconds']:.1f} s / notebook {r['seconds']:.1f} s "
                         f"= {r['ratio_pipeline_to_notebook']:.2f}")
    return "\n".join(lines)


def scale_slices(scale: Path, sizes: list[str]) -> dict[str, list[str]]:
    """The scale corpus's JSONL lines in each slice, or ``InputError`` naming what is wrong."""
    try:
        scale_text = gzip.decompress(scale.read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"bench: --scale {scale} is not a gzip file of UTF-8 JSONL ({exc})") from None
    try:
        return slices(scale_text.splitlines(), sizes)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"bench: --scale {scale}: every line must be a JSON object with a briefing_id "
                         f"({type(exc).__name__}: {exc})") from None


def run_bench(config: Path, *, full: bool, scale_file: Path | None) -> list[dict[str, Any]]:
    """Times every stage of a full run on the bundled corpus and on slices of the scale corpus."""
    root = project_root(config)
    scale = scale_file or root.parent / "shared" / "bench" / "wh_briefings_turns.jsonl.gz"
    sizes = ["1%", "10%"] + (["100%"] if full else [])
    if scale_file is not None and not scale.is_file():
        raise InputError(f"bench: scale corpus not found: {scale}")
    if not scale.is_file():
        log.warning("bench: no scale corpus at %s (a clone outside the project's folder): timing the bundled "
                    "corpus only; pass --scale PATH for the scale slices", scale)
        sizes = []
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        work = Path(tmp)
        jobs = [("bundled", "bundled", [str(config), "--set", f"run.output_dir={work / 'outputs'}",
                                        "--set", "run.name=bundled"])]
        # The whole corpus too, whose briefings the page-ingest benchmark writes as pages.
        sliced_lines = scale_slices(scale, [*sizes, "100%"]) if sizes else {}
        for size in sizes:
            name = "scale-" + size.rstrip("%")
            sliced = work / f"{name}.jsonl"
            write_text("\n".join(sliced_lines[size]) + "\n", sliced)
            slice_yaml = work / f"{name}.yaml"
            write_text(yaml.safe_dump(slice_config(
                str(sliced), str(work / "outputs"), name, str(root / "configs" / "stopwords" / "domain.txt"))),
                slice_yaml)
            jobs.append((size, name, [str(slice_yaml)]))
            if size == COVARIATE_SIZE:
                covariate_yaml = work / f"{name}-covariates.yaml"
                config = slice_config(str(sliced), str(work / "outputs"), f"{name}-covariates",
                                      str(root / "configs" / "stopwords" / "domain.txt"))
                write_text(yaml.safe_dump({**config, **COVARIATE_SETTINGS, "models": COVARIATE_MODELS}),
                           covariate_yaml)
                jobs.append((f"{size} covariates", f"{name}-covariates", [str(covariate_yaml)]))
        for size, name, arguments in jobs:
            log.info("bench: %s ...", size)
            # A fresh process per size, so that peak memory is this size's own.
            done = subprocess.run([sys.executable, "-m", "pipeline", "run", *arguments, "-q"], capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise InputError(f"bench: the {size} run failed: {done.stderr.strip().splitlines()[-1]}")
            manifest = json.loads((work / "outputs" / name / "manifest.json").read_text(encoding="utf-8"))
            if size.endswith("covariates"):
                results.append(covariate_fit_row(size, work / "outputs" / name))
                continue
            results.extend(rows(size, manifest))
            if size in NOTEBOOK_SIZES:
                results.append(notebook_row(size, manifest, work / "outputs" / name / "corpus" / "paragraphs.csv"))
        results.extend(page_ingest_rows(root, sliced_lines.get("100%", []), work))
    return results


PAGES = 500


def page_ingest_rows(root: Path, scale_lines: list[str], work: Path) -> list[dict[str, Any]]:
    """``ingest`` (start-up included) of 500 pages as files: the bundled transcripts, each with a
    URL line above it, 100 times over (SCIO-sized pages); and, given the scale corpus, 500 of its
    briefings written as White House Markdown posts (front matter, ``MS. PSAKI:`` labels,
    wrapped lines), seven times the text."""
    bundled = sorted((root / "data" / "transcripts").glob("*.txt"))
    scio = {f"{copy:03d}_{path.name}": f"URL: http://english.scio.gov.cn/pressroom/{copy:03d}/{path.name}\n"
            + path.read_text(encoding="utf-8") for copy in range(PAGES // len(bundled)) for path in bundled}
    sets = {"SCIO pages": scio}
    if scale_lines:
        sets["White House pages"] = white_house_pages(scale_lines, PAGES)
    result = []
    for name, pages in sets.items():
        folder = work / name.replace(" ", "-")
        for file_name, text in pages.items():
            write_text(text, folder / file_name)
        settings = work / f"{folder.name}.yaml"
        write_text(yaml.safe_dump({
            "run": {"name": folder.name, "output_dir": str(work / "outputs")},
            "corpus": {"inputs": [str(folder / "*")], "speakers": None}, "compare": {"contrasts": {}}}), settings)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(settings), "-q"], capture_output=True,
                              text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise InputError(f"bench: ingest of the {name} failed: {done.stderr.strip().splitlines()[-1]}")
        manifest = json.loads((work / "outputs" / folder.name / "manifest.json").read_text(encoding="utf-8"))
        result.append({"size": f"{len(pages)} pages", "stage": f"ingest of {len(pages)} {name} (wall)",
                       "seconds": round(seconds, 3), "stage_seconds": manifest["stage_seconds"],
                       "bytes": sum(len(text.encode("utf-8")) for text in pages.values()),
                       "units_per_s": None, "tokens_per_s": None, "peak_mib": None, "settings": "ingest, no registry"})
    return result


def white_house_pages(scale_lines: list[str], n: int) -> dict[str, str]:
    """``n`` briefings of the scale corpus (every k-th by id) as the White House posts of
    ``data/other_layouts/whitehouse`` are written: YAML front matter, the venue line, each
    turn's label in capitals before its first paragraph, lines wrapped at 72 characters."""
    by_briefing: dict[str, list[dict[str, Any]]] = {}
    for line in scale_lines:
        row = json.loads(line)
        by_briefing.setdefault(row["briefing_id"], []).append(row)
    ids = sorted(by_briefing)
    pages = {}
    for briefing in ids[:: max(1, len(ids) // n)][:n]:
        turns = sorted(by_briefing[briefing], key=lambda row: row["turn_index"])
        front = yaml.safe_dump({"date": turns[0]["date"], "source_url": turns[0]["source_url"],
                                "title": turns[0]["title"].replace("\\_", " ")}, allow_unicode=True, width=10**6)
        lines = ["---", front.strip(), "---", "", "James S. Brady Press Briefing Room", ""]
        for turn in turns:
            paragraphs = [p for p in turn["text"].split("\n\n") if p.strip()]
            if paragraphs:
                paragraphs[0] = f"{turn['speaker'].upper()}:  {paragraphs[0]}"
                lines += [line for p in paragraphs for line in (textwrap.fill(p, 72), "")]
        pages[f"{briefing[:100]}.md"] = "\n".join(lines + ["END", ""])
    return pages


def covariate_fit_row(size: str, run: Path) -> dict[str, Any]:
    """One fit of the covariate model (DMR, speaker and year) against one of the blind tomotopy
    LDA, same units, k and sweeps: each model's ``fit_seconds`` (its reported fit, in a worker)."""
    seconds = {model["name"]: json.loads((run / "models" / model["name"] / "metrics.json").read_text(
        encoding="utf-8"))["fit_seconds"] for model in COVARIATE_MODELS}
    return {"size": size, "stage": f"one fit, k=8: tomotopy_lda {seconds['lda']:.1f} s, tomotopy_dmr "
                                   f"{seconds['dmr']:.1f} s", "seconds": seconds["dmr"], "fit_seconds": seconds,
            "ratio_dmr_to_lda": round(seconds["dmr"] / seconds["lda"], 2), "units_per_s": None,
            "tokens_per_s": None, "peak_mib": None, "settings": SETTINGS_NOTE}


def notebook_seconds(paragraphs_csv: str) -> dict[str, float]:
    """The hand-written notebook on a run's official paragraphs: gensim's simple preprocessing
    and stopwords, LDA (``LdaModel``, 20 passes), scikit-learn NMF on tf-idf, c_npmi coherence;
    k = 8. Seconds per step, after the imports and the reading of the table."""
    import time

    import pandas as pd
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel
    from gensim.models.coherencemodel import CoherenceModel
    from gensim.parsing.preprocessing import STOPWORDS
    from gensim.utils import simple_preprocess
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    table = pd.read_csv(paragraphs_csv, keep_default_na=False)
    texts = table[(table.role == "official") & table.kind.isin(["statement", "answer"])
                  & (table.duplicate_of == "")].text.tolist()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    tokens = [[w for w in simple_preprocess(t) if w not in STOPWORDS] for t in texts]
    dictionary = Dictionary(tokens)
    dictionary.filter_extremes(no_below=2, no_above=0.5)
    bow = [dictionary.doc2bow(t) for t in tokens]
    seconds["preprocess"] = time.perf_counter() - start
    start = time.perf_counter()
    lda = LdaModel(bow, id2word=dictionary, num_topics=8, passes=20, random_state=0)
    seconds["lda"] = time.perf_counter() - start
    start = time.perf_counter()
    NMF(n_components=8, init="nndsvda", random_state=0).fit(TfidfVectorizer(min_df=2, stop_words="english")
                                                           .fit_transform(texts))
    seconds["nmf"] = time.perf_counter() - start
    start = time.perf_counter()
    topics = [[dictionary[i] for i, _ in lda.get_topic_terms(t, 10)] for t in range(8)]
    CoherenceModel(topics=topics, texts=tokens, dictionary=dictionary, coherence="c_npmi", processes=1).get_coherence()
    seconds["coherence"] = time.perf_counter() - start
    return {step: round(value, 3) for step, value in seconds.items()}


def notebook_row(size: str, manifest: dict[str, Any], paragraphs_csv: Path) -> dict[str, Any]:
    """The notebook's seconds on the same paragraphs, in a fresh process, and the ratio of the
    pipeline's whole run (start-up imports left out, a stage's own imports counted) to the notebook's."""
    done = subprocess.run([sys.executable, "-c", "import json; from pipeline.bench import notebook_seconds; "
                           f"print(json.dumps(notebook_seconds({str(paragraphs_csv)!r})))"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"bench: the notebook on {size} failed: {done.stderr.strip().splitlines()[-1]}")
    steps = json.loads(done.stdout)
    pipeline_seconds = manifest["run_seconds"]
    return {"size": size, "stage": "notebook (hand-written): " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()),
            "seconds": round(sum(steps.values()), 3), "notebook_steps": steps,
            "pipeline_seconds": round(pipeline_seconds, 3),
            "ratio_pipeline_to_notebook": round(pipeline_seconds / sum(steps.values()), 2),
            "units_per_s": None, "tokens_per_s": None, "peak_mib": None, "settings": SETTINGS_NOTE}
