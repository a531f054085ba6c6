"""Command line: ``python -m pipeline {run,ingest,validate} CONFIG [--set key=value ...]``.

Problems with the config or inputs print one line (``error: ...``) and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipeline import bench, plots, report, runs, sweep, tables
from pipeline.config import Config, LoadedConfig, ModelConfig, load_config, project_root, validate
from pipeline.corpus import select_units
from pipeline.emphasis import check_contrasts, emphasis_tables, robustness
from pipeline.emphasis import contrasts as contrasts_table
from pipeline.evaluate import alignment, diagnostics, jaccard_matrix, match_topics, top_terms
from pipeline.errors import ConfigError, InputError, PipelineError
from pipeline.labels import topic_labels, validate_labels
from pipeline.ingest import Corpus, ingest
from pipeline.models import LOG_PERPLEXITY, TopicModelResult, check_k, derive_seed, fit_model
from pipeline.normalize import Normalized, cache_key, make_lemmatizer, normalize_texts, stopword_set
from pipeline.report import Figure
from pipeline.vectorize import Matrices, vectorize

log = logging.getLogger("pipeline")


def _corpus_files(corpus: Corpus, into: Path) -> None:
    runs.write_csv(corpus.conferences, into / "corpus" / "conferences.csv")
    runs.write_csv(corpus.turns, into / "corpus" / "turns.csv")
    runs.write_csv(corpus.paragraphs, into / "corpus" / "paragraphs.csv")
    runs.write_json(corpus.report, into / "corpus" / "ingest_report.json")


def _summarise(corpus: Corpus) -> None:
    totals = corpus.report["totals"]
    log.info(
        "corpus: %d files parsed, %d skipped; %d conferences, %d turns, %d paragraphs (%d duplicates); "
        "%d lines kept, %d dropped",
        totals["files_parsed"], totals["files_skipped"], totals["conferences"], totals["turns"],
        totals["paragraphs"], totals["duplicate_paragraphs"], totals["lines_kept"], totals["lines_dropped"],
    )
    for entry in corpus.report["files"]:
        if entry["status"] == "skipped":
            log.warning("skipped %s: %s", entry["source_file"], entry["reason"])
        for warning in entry.get("warnings", []):
            log.warning("%s: %s", entry["source_file"], warning)
        if entry.get("unknown_speakers"):
            log.warning("%s: unknown speakers (add them to the registry): %s",
                        entry["source_file"], ", ".join(entry["unknown_speakers"]))
    for pattern in corpus.report["unmatched_inputs"]:
        log.warning("corpus.inputs: %s matches no file", pattern)
    for note in corpus.report["notes"]:
        log.warning(note)


@dataclass(frozen=True)
class ModelRun:
    result: TopicModelResult
    tables: dict[str, pd.DataFrame]
    emphasis: dict[str, pd.DataFrame]
    metrics: dict[str, Any]


def _normalize(loaded: LoadedConfig, units: pd.DataFrame, timer: runs.StageTimer) -> tuple[Normalized, dict[str, Any]]:
    """Token lists for the units, from the cache when texts and settings are unchanged."""
    cfg = loaded.config.normalize
    stopwords = stopword_set(cfg, runs.read_stopword_files(loaded))
    lemmatize = make_lemmatizer(cfg.lemmatizer)
    key = cache_key(units.text, cfg, stopwords)
    with timer.stage("normalize"):
        normalized = runs.load_normalized(loaded, key)
        cached = normalized is not None
        if cached:
            log.info("normalize: skipped, token lists reused from cache %s (texts and settings unchanged)", key[:12])
        else:
            normalized = normalize_texts(units.text, cfg, stopwords, lemmatize)
            runs.save_normalized(loaded, key, normalized)
    return normalized, {"cache_key": key, "from_cache": cached}


@dataclass(frozen=True)
class Prepared:
    """Modelling units ready for any backend: their tokens, matrices and normalisation summary."""

    units: pd.DataFrame
    tokens: list[list[str]]
    matrices: Matrices
    normalization: dict[str, Any]


def _ingested(loaded: LoadedConfig, timer: runs.StageTimer) -> tuple[list[tuple[str, bytes]], Corpus]:
    """The input files as read, and the corpus built from them (its summary logged)."""
    files, unmatched = runs.resolve_inputs(loaded)
    registry = runs.read_registry(loaded)
    with timer.stage("ingest"):
        sources = runs.read_sources(files, loaded.root)
        corpus = ingest(sources, loaded.config.corpus, registry, unmatched_inputs=unmatched)
    _summarise(corpus)
    return sources, corpus


def _prepared(loaded: LoadedConfig, corpus: Corpus, timer: runs.StageTimer) -> Prepared:
    """Selected, normalised (units left empty are dropped and counted) and vectorised units."""
    selected = select_units(corpus.turns, corpus.paragraphs, loaded.config.corpus.units)
    normalized, cache = _normalize(loaded, selected, timer)
    nonempty = [i for i, tokens in enumerate(normalized.tokens) if tokens]
    units = selected.iloc[nonempty].reset_index(drop=True)
    tokens = [normalized.tokens[i] for i in nonempty]
    summary = {**normalized.report, **cache, "units_selected": len(selected), "units_modelled": len(units),
               "units_dropped_empty": len(selected) - len(units)}
    log.info("units: %d selected, %d empty after normalisation (dropped), %d modelled; vocabulary %d",
             len(selected), len(selected) - len(units), len(units), normalized.report["vocabulary_size"])
    with timer.stage("vectorize"):
        matrices = vectorize(tokens)
    return Prepared(units, tokens, matrices, summary)


def _model_runs(loaded: LoadedConfig, prepared: Prepared, timer: runs.StageTimer) -> tuple[list[ModelRun], pd.DataFrame]:
    cfg = loaded.config
    units, tokens, matrices = prepared.units, prepared.tokens, prepared.matrices
    check_contrasts(units, cfg.compare)
    for index, model_cfg in enumerate(cfg.models):
        check_k(model_cfg, index, len(units), len(matrices.vocabulary))
    model_runs = []
    for model_cfg in cfg.models:
        seed = model_cfg.seed if model_cfg.seed is not None else derive_seed(cfg.run.seed, model_cfg.name)
        with timer.stage(f"fit {model_cfg.name} ({model_cfg.backend}, k={model_cfg.k})"):
            result = fit_model(model_cfg, seed, matrices, list(units.unit_id))
        with timer.stage(f"tables {model_cfg.name}"):
            unit_table = tables.unit_topics(units, result, [len(t) for t in tokens])
            frames = {
                "topic_terms": tables.topic_terms(result, matrices.term_frequency, cfg.tables),
                "unit_topics": unit_table,
                "answer_topics": tables.answer_topics(unit_table, units, result.k),
                "representative_passages": tables.representative_passages(
                    unit_table, units, result.k, cfg.tables.representative_n),
            }
        with timer.stage(f"emphasis {model_cfg.name}"):
            emphasis = emphasis_tables(unit_table, result.k, cfg.compare, cfg.run.seed, result.name)
        with timer.stage(f"evaluate {model_cfg.name}"):
            frames["topic_diagnostics"], evaluation, emphasis["robustness"] = _evaluate(
                model_cfg, result, units, tokens, matrices, emphasis["contrasts"], cfg)
        metrics = {
            "model": result.name, "backend": result.backend, "k": result.k, "seed": result.seed,
            "params": result.params, "fit_seconds": result.fit_seconds, "iterations": result.iterations,
            "n_units": len(units), "vocabulary_size": len(result.vocabulary),
            "zero_mixture_rows": [result.unit_ids[i] for i in result.zero_rows], **result.metrics, **evaluation,
        }
        if result.zero_rows:
            log.warning("model %s: %d units have no weight on any topic (flagged, mixtures left empty)",
                        result.name, len(result.zero_rows))
        model_runs.append(ModelRun(result, frames, emphasis, metrics))
    return model_runs, _align(model_runs, cfg.evaluate.alignment_threshold)


def _evaluate(model_cfg: ModelConfig, result: TopicModelResult, units: pd.DataFrame, tokens: list[list[str]],
              matrices: Matrices, contrasts: pd.DataFrame, cfg: Config) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Diagnostics, stability over refits with other seeds, held-out perplexity, contrast robustness."""
    from joblib import Parallel, delayed

    n_tokens = np.array([len(t) for t in tokens], dtype=float)
    order = np.random.default_rng([result.seed, 1]).permutation(len(tokens))
    cut = max(1, round(cfg.evaluate.heldout_share * len(tokens)))
    heldout = model_cfg.backend in LOG_PERPLEXITY
    # Refits with other seeds (stability) and the held-out fit are independent: fit them in parallel.
    fits = [(derive_seed(result.seed, f"stability/{i}"), matrices, result.unit_ids)
            for i in range(1, cfg.evaluate.stability_seeds)]
    if heldout:
        fits.append((result.seed, matrices.subset(order[cut:]), [result.unit_ids[i] for i in order[cut:]]))
    fitted = Parallel(n_jobs=min(len(fits), cfg.evaluate.n_jobs or -1) if fits else 1)(
        delayed(fit_model)(model_cfg, seed, subset, ids) for seed, subset, ids in fits)
    refits = fitted[:-1] if heldout else fitted
    refit_top = [top_terms(r.topic_term, r.vocabulary, cfg.evaluate.stability_top_n) for r in refits]
    table, summary = diagnostics(result.topic_term, result.vocabulary, result.doc_topic, refit_top, tokens,
                                 matrices.dictionary, n_tokens, cfg.evaluate)
    if heldout:
        summary["heldout_log_perplexity"] = LOG_PERPLEXITY[model_cfg.backend](fitted[-1].native, matrices.subset(order[:cut]))
        summary["heldout_units"] = int(cut)
    reference_top = top_terms(result.topic_term, result.vocabulary, cfg.evaluate.stability_top_n)
    refit_contrasts = []
    for refit, top in zip(refits, refit_top):
        unit_table = tables.unit_topics(units, refit, n_tokens.astype(int).tolist())
        refit_emphasis = contrasts_table(unit_table.dropna(subset=tables.topic_columns(refit.k)),
                                         tables.topic_columns(refit.k), cfg.compare, cfg.run.seed, result.name)
        refit_contrasts.append((refit_emphasis, match_topics(jaccard_matrix(reference_top, top))[0]))
    return table, summary, robustness(contrasts, refit_contrasts, cfg.compare.significance)


def _align(model_runs: list[ModelRun], threshold: float) -> pd.DataFrame:
    """LDA-NMF agreement for every pair of an LDA-family and an NMF model; marks topics found by both."""
    frames = []
    for a in (r for r in model_runs if r.result.backend in LOG_PERPLEXITY):
        for b in (r for r in model_runs if r.result.backend == "sklearn_nmf"):
            pairs = alignment(a.result.topic_term, b.result.topic_term)
            frames.append(pairs.assign(model_a=a.result.name, model_b=b.result.name))
            found = pairs[pairs.matched & (pairs.cosine >= threshold)]
            for first, second, run, other in (("topic_a", "topic_b", a, b), ("topic_b", "topic_a", b, a)):
                diagnostics_table = run.tables["topic_diagnostics"]
                for _, row in found.iterrows():
                    note = f"{other.result.name}:{int(row[second])} ({row.cosine:.2f})"
                    current = diagnostics_table.at[int(row[first]), "aligned_with"]
                    diagnostics_table.at[int(row[first]), "aligned_with"] = "; ".join(filter(None, [current, note]))
    columns = ["model_a", "topic_a", "model_b", "topic_b", "cosine", "matched"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def run_sweep(loaded: LoadedConfig) -> Path:
    """Fits the sweep grid in parallel, streaming one row per fit; a rerun resumes it."""
    cfg = loaded.config
    timer = runs.StageTimer()
    prepared = _prepared(loaded, _ingested(loaded, timer)[1], timer)
    units, tokens, matrices = prepared.units, prepared.tokens, prepared.matrices
    normalization_key = prepared.normalization["cache_key"]
    for index, k in enumerate(cfg.sweep.k_values()):
        check_k(sweep.model_config(cfg, cfg.sweep.backends[0], k), index, len(units), len(matrices.vocabulary))
    settings = json.dumps([normalization_key, cfg.run.seed, [sweep.model_config(cfg, b, 2).params.model_dump()
                                                            for b in cfg.sweep.backends],
                           cfg.evaluate.model_dump()], sort_keys=True)
    data_key = runs.sha256_bytes(settings.encode("utf-8"))[:16]
    folder = loaded.resolve(cfg.run.output_dir) / cfg.run.name / "sweep"
    results_path = folder / "results.csv"
    previous = results_path.read_text(encoding="utf-8") if results_path.is_file() else ""
    done, discarded = sweep.read_results(previous, data_key)
    if discarded:
        log.warning("sweep: %d rows of %s discarded (interrupted write or other data/settings)", discarded,
                    runs.display_path(results_path, loaded.root))
    runs.write_text(",".join(sweep.RESULT_COLUMNS) + "\n" + "".join(sweep.csv_row(r) for r in done.to_dict("records")),
                    results_path)
    finished = set(zip(done.backend, done.k, done.seed))
    todo = [job for job in sweep.jobs(cfg) if job.key not in finished]
    log.info("sweep: %d fits in the grid, %d already done, %d to run", len(sweep.jobs(cfg)), len(finished), len(todo))
    from joblib import Parallel, delayed
    from tqdm import tqdm

    with timer.stage("sweep fits"), results_path.open("a", encoding="utf-8") as out, tqdm(
        total=len(sweep.jobs(cfg)), initial=len(finished), desc="sweep", unit="fit", disable=None
    ) as progress:
        stream = Parallel(n_jobs=cfg.sweep.n_jobs or -1, return_as="generator_unordered")(
            delayed(sweep.run_job)(job, cfg, matrices, tokens, data_key) for job in todo)
        for result in stream:
            out.write(sweep.csv_row(result))
            out.flush()
            progress.update()
    results, _ = sweep.read_results(results_path.read_text(encoding="utf-8"), data_key)
    summary = sweep.summarise(results)
    runs.write_csv(summary, folder / "summary.csv")
    suggestions = sweep.suggest_k(summary, cfg.sweep.stability_threshold)
    runs.write_json({"rule": " ".join(sweep.suggest_k.__doc__.split("\n\n")[0].split()),
                     "stability_threshold": cfg.sweep.stability_threshold, "suggestions": suggestions},
                    folder / "suggestion.json")
    plots.save_figure(plots.model_selection_figure(summary, cfg.figures), folder / "model_selection", cfg.figures.dpi)
    for backend, suggestion in suggestions.items():
        print(f"suggested k for {backend}: {suggestion['k']} ({suggestion['reason']})")
    log.info("wrote %s", runs.display_path(folder, loaded.root))
    return folder


def run_bench(config: Path, *, full: bool, scale_file: Path | None) -> list[dict[str, Any]]:
    """Times every stage of a full run on the bundled corpus and on slices of the scale corpus."""
    import gzip
    import subprocess
    import tempfile

    root = project_root(config)
    scale = scale_file or root.parent / "shared" / "bench" / "wh_briefings_turns.jsonl.gz"
    if not scale.is_file():
        raise InputError(f"bench: scale corpus not found: {scale} (pass --scale PATH)")
    sizes = ["1%", "10%"] + (["100%"] if full else [])
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        work = Path(tmp)
        jobs = [("bundled", [str(config), "--set", f"run.output_dir={work / 'outputs'}", "--set", "run.name=bundled"])]
        sliced_lines = bench.slices(gzip.decompress(scale.read_bytes()).decode("utf-8").splitlines(), sizes)
        for size in sizes:
            name = "scale-" + size.rstrip("%")
            sliced = work / f"{name}.jsonl"
            sliced.write_text("\n".join(sliced_lines[size]) + "\n", encoding="utf-8")
            slice_yaml = work / f"{name}.yaml"
            slice_yaml.write_text(yaml.safe_dump(bench.slice_config(
                str(sliced), str(work / "outputs"), name, str(root / "configs" / "stopwords" / "domain.txt"))))
            jobs.append((size, [str(slice_yaml)]))
        for size, arguments in jobs:
            log.info("bench: %s ...", size)
            # A fresh process per size, so that peak memory is this size's own.
            done = subprocess.run([sys.executable, "-m", "pipeline", "run", *arguments, "-q"], capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise InputError(f"bench: the {size} run failed: {done.stderr.strip().splitlines()[-1]}")
            name = "bundled" if size == "bundled" else "scale-" + size.rstrip("%")
            manifest = json.loads((work / "outputs" / name / "manifest.json").read_text(encoding="utf-8"))
            results.extend(bench.rows(size, manifest))
    return results


def run_ingest(loaded: LoadedConfig) -> Path:
    """Ingestion alone: corpus tables, report, config and manifest in the run directory."""
    return execute(loaded, with_models=False)


def execute(loaded: LoadedConfig, *, with_models: bool = True) -> Path:
    """Runs the configured stages and writes the run directory in one atomic step."""
    cfg = loaded.config
    timer = runs.StageTimer()
    sources, corpus = _ingested(loaded, timer)
    prepared = _prepared(loaded, corpus, timer) if with_models else None
    model_runs, aligned = _model_runs(loaded, prepared, timer) if prepared else ([], None)
    target = loaded.resolve(cfg.run.output_dir) / cfg.run.name
    with runs.staged_directory(target) as staging:
        _corpus_files(corpus, staging)
        for run in model_runs:
            folder = staging / "models" / run.result.name
            for name, frame in run.tables.items():
                runs.write_csv(frame, folder / f"{name}.csv")
            runs.write_json(run.metrics, folder / "metrics.json")
            runs.save_model(run.result.native, run.result.backend, run.result.vocabulary, folder)
            for name, frame in run.emphasis.items():
                runs.write_csv(frame, staging / "emphasis" / run.result.name / f"{name}.csv")
        if aligned is not None:
            runs.write_csv(aligned, staging / "alignment.csv")
        runs.write_text(cfg.to_yaml(), staging / "config.yaml")
        sections: dict[str, Any] = {}
        if with_models:
            sections["seeds"] = {"root": cfg.run.seed, "models": {r.result.name: r.result.seed for r in model_runs}}
            sections["normalization"] = prepared.normalization
            sections["models"] = {r.result.name: {k: v for k, v in r.metrics.items() if k != "zero_mixture_rows"}
                                  for r in model_runs}
        runs.write_json(runs.manifest(loaded, sources, timer, **sections), staging / "manifest.json")
        if with_models:
            with timer.stage("figures and report"):
                _render(staging, cfg, {})
            manifest = json.loads((staging / "manifest.json").read_text(encoding="utf-8"))
            manifest["stage_seconds"], manifest["stage_peak_mib"] = timer.seconds, timer.peak_mib
            runs.write_json(manifest, staging / "manifest.json")
    log.info("wrote %s", runs.display_path(target, loaded.root))
    return target


def _render(folder: Path, cfg: Config, custom_labels: dict[str, dict[int, str]]) -> None:
    """Labels, topics.md, figures and reports of a run directory, from its saved tables only."""
    run = runs.load_run(folder)
    figures_dir = folder / "figures"
    figures_dir.mkdir(exist_ok=True)
    drawn: dict[str, list[Figure]] = {}

    tasks: list[tuple] = []

    def draw(model: str, stem: str, caption: str, function, *args) -> None:
        tasks.append((figures_dir / stem, cfg.figures.dpi, function, *args))
        drawn.setdefault(model, []).append(Figure(stem, caption))

    labels_by_model, topics = {}, {}
    for index, (name, model) in enumerate(run.models.items()):
        labels = topic_labels(model.topic_terms, custom_labels.get(name))
        labels_by_model[name] = labels
        vocabulary, topic_term = model.topic_term()
        overview = tables.topics_overview(topic_term, vocabulary, labels, cfg.tables.frex_weight)
        topics[name] = overview
        runs.write_text(tables.topics_markdown(name, model.metrics["backend"], model.metrics["seed"], overview),
                        model.folder / "topics.md")
        for table_name, frame in model.emphasis.items():
            if "topic_label" in frame:
                frame["topic_label"] = frame.topic.map(labels)
                runs.write_csv(frame, folder / "emphasis" / name / f"{table_name}.csv")
        model.topic_diagnostics["topic_label"] = model.topic_diagnostics.topic.map(labels)
        runs.write_csv(model.topic_diagnostics, model.folder / "topic_diagnostics.csv")
        emphasis = model.emphasis
        if index == 0:
            draw("", "corpus_overview", "Modelled units per speaker and year.",
                 plots.corpus_overview_figure, emphasis["design_counts"], cfg.figures)
        draw(name, f"top_terms_{name}", f"Top terms per topic, model {name}.",
             plots.top_terms_figure, model.topic_terms, labels, cfg.figures)
        if "by_speaker" in emphasis:
            draw(name, f"emphasis_speaker_{name}", f"Topic shares by speaker, model {name} (hollow: fewer than "
                 f"{cfg.compare.min_answers} answers).", plots.emphasis_dot_figure, emphasis["by_speaker"], labels, cfg.figures)
        if "by_year" in emphasis:
            draw(name, f"emphasis_year_{name}", f"Topic shares by year, model {name}.",
                 plots.emphasis_year_figure, emphasis["by_year"], labels, cfg.figures)
        if "by_speaker_year" in emphasis:
            draw(name, f"heatmap_speaker_year_{name}", f"Topic shares by speaker and year, model {name}.",
                 plots.heatmap_figure, emphasis["by_speaker_year"], labels, cfg.figures)
        for contrast_name, rows in emphasis["contrasts"].groupby("contrast", sort=False):
            draw(name, f"contrast_{contrast_name}_{name}", f"Contrast {contrast_name}, model {name}: difference in "
                 "topic share with 95% cluster-bootstrap interval.",
                 plots.contrast_figure, rows, labels, cfg.figures, cfg.compare.significance)
    if run.alignment is not None:
        for (model_a, model_b), pairs in run.alignment.groupby(["model_a", "model_b"], sort=False):
            draw(model_b, f"alignment_{model_a}_{model_b}", f"Agreement of {model_a} and {model_b} topics "
                 "(cosine similarity over the shared vocabulary, Hungarian matching).",
                 plots.alignment_figure, pairs, labels_by_model[model_a], labels_by_model[model_b], cfg.figures,
                 cfg.evaluate.alignment_threshold)
    from joblib import Parallel, delayed

    # Figures are independent and matplotlib draws on one core: draw them side by side.
    Parallel(n_jobs=-1)(delayed(plots.render)(*task) for task in tasks)
    png = {figure.stem: (figures_dir / f"{figure.stem}.png").read_bytes() for group in drawn.values() for figure in group}
    blocks = report.outline(run, cfg, labels_by_model, topics, drawn)
    runs.write_text(report.to_markdown(blocks), folder / "report.md")
    runs.write_text(report.to_html(blocks, png, f"Topic report: {cfg.run.name}"), folder / "report.html")


def relabel(run_dir: Path, labels_file: Path | None) -> Path:
    """Re-renders a run's labelled tables, figures and reports; never refits or changes numbers."""
    if not (run_dir / "manifest.json").is_file():
        raise InputError(f"{run_dir} is not a run directory (no manifest.json)")
    cfg = validate(yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")))
    custom: dict[str, dict[int, str]] = {}
    labels_meta = None
    if labels_file is not None:
        if not labels_file.is_file():
            raise ConfigError(f"labels file not found: {labels_file}")
        data = labels_file.read_bytes()
        try:
            parsed = yaml.safe_load(data.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"labels file {labels_file}: not valid YAML ({exc})") from None
        ks = {m.name: m.k for m in cfg.models}
        custom = validate_labels(parsed, ks)
        labels_meta = {"file": labels_file.as_posix(), "sha256": runs.sha256_bytes(data)}
    with runs.staged_directory(run_dir) as staging:
        shutil.copytree(run_dir, staging, dirs_exist_ok=True)
        manifest = json.loads((staging / "manifest.json").read_text(encoding="utf-8"))
        manifest["labels"] = labels_meta
        runs.write_json(manifest, staging / "manifest.json")
        _render(staging, cfg, custom)
    log.info("re-rendered %s%s", run_dir, f" with labels from {labels_file}" if labels_file else "")
    return run_dir


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("run", "run the whole pipeline from a config"),
        ("ingest", "ingest transcripts only and write the corpus tables"),
        ("validate", "check a config (and its overrides) without running anything"),
        ("sweep", "fit a grid of k, seeds and backends; suggest k (resumes an interrupted sweep)"),
    ):
        command = commands.add_parser(name, help=help_text, parents=[common])
        command.add_argument("config", type=Path)
        command.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                             help="override a config value by dotted path, e.g. corpus.units.min_words=30")
    bench_command = commands.add_parser(
        "bench", parents=[common], help="time each stage on the bundled corpus and slices of the scale corpus")
    bench_command.add_argument("config", type=Path, nargs="?", default=Path("configs/default.yaml"))
    bench_command.add_argument("--full", action="store_true", help="also run 100%% of the scale corpus")
    bench_command.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench_command.add_argument("--scale", type=Path, help="the scale corpus (default ../shared/bench/...jsonl.gz)")
    report_command = commands.add_parser(
        "report", parents=[common], help="re-render tables, figures and reports of a run with topic labels")
    report_command.add_argument("run_dir", type=Path)
    report_command.add_argument("--labels", type=Path, help="YAML: {model: {topic id: label}}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Our progress at INFO; libraries (gensim logs every pass at INFO) only at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr, force=True)
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        if args.command == "report":
            relabel(args.run_dir, args.labels)
            return 0
        if args.command == "bench":
            results = run_bench(args.config, full=args.full, scale_file=args.scale)
            print(json.dumps(results, indent=2) if args.json else bench.table(results))
            return 0
        loaded = load_config(args.config, args.overrides)
        if args.command == "validate":
            print(f"{args.config}: valid (sha256 {loaded.config.sha256()})")
        elif args.command == "ingest":
            run_ingest(loaded)
        elif args.command == "sweep":
            run_sweep(loaded)
        else:
            execute(loaded)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
