"""The stages wired together: ingest, prepare, fit, evaluate, compare, render, and sweep.

Each function takes the validated config (or one of its sections) and returns in-memory
results; files are read by ``inputs`` and written by ``rundir`` only. ``cli.py`` parses
arguments and calls ``execute``, ``relabel`` or ``sweep``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import cluster, inputs, rundir, schemas, sweep, topic_tables
from pipeline.browser import topics_html
from pipeline.config import CompareConfig, Config, EvaluateConfig, LoadedConfig, read_yaml, validate
from pipeline.diagnostics import (
    COMPLETION_MIN_TOKENS,
    aligned_with,
    alignment,
    cosine_matrix,
    diagnostics,
    document_completion,
    heldout_gain,
    heldout_split,
    infer_in_chunks,
    average_jaccard_matrix,
    match_topics,
    resamples,
    unigram_log_likelihoods,
)
from pipeline.design import DesignReport, answers_of, check_contrasts, contrast_problems, design_report
from pipeline.distinctive import chance_of_distinctive, distinctive_words
from pipeline.effects import MixtureDraws, answer_draws, check_formula, joint_effects
from pipeline.emphasis import compared_answers, contrasts, emphasis_tables, family_q, robustness
from pipeline.errors import ConfigError, InputError
from pipeline.figures import catalogue, model_selection_figure
from pipeline.ingest import Corpus, ingest, warning_summary
from pipeline.labels import topic_labels, validate_labels
from pipeline.language import in_languages
from pipeline.models import BACKENDS, TopicModelResult, check_k, fit_model
from pipeline.normalize import Lemmatizer, Normalized, cache_key, make_lemmatizer, normalize_texts, stopword_set
from pipeline.progress import Progress, shown, within
from pipeline.provenance import StageTimer, manifest, sha256_bytes
from pipeline.report import outline, to_html, to_markdown
from pipeline.responsiveness import answer_responsiveness, inference_noise, left_out, summaries
from pipeline.seeds import derive_seed
from pipeline.term_measures import top_terms
from pipeline.units import select_units
from pipeline.vectorize import Matrices, over_vocabulary, vectorize

log = logging.getLogger("pipeline")


@dataclass(frozen=True)
class Prepared:
    """Modelling units ready for any backend: their tokens, matrices and normalisation summary."""

    units: pd.DataFrame
    tokens: list[list[str]]
    matrices: Matrices
    normalization: dict[str, Any]
    coherence_reference: tuple[str, list[list[str]]] | None = None  # what the texts are, and their tokens
    questions: tuple[list[str], Matrices] | None = None  # question turn ids, their counts over the vocabulary


@dataclass(frozen=True)
class ModelRun:
    """One fitted model and everything computed from it, before it is written."""

    result: TopicModelResult
    tables: dict[str, pd.DataFrame]
    emphasis: dict[str, pd.DataFrame]
    metrics: dict[str, Any]
    responsiveness: dict[str, pd.DataFrame]  # "answers" and "summary"


def log_corpus_summary(corpus: Corpus, languages: Sequence[str]) -> None:
    totals = corpus.report["totals"]
    log.info(
        "corpus: %d files parsed, %d skipped; %d conferences, %d turns, %d paragraphs (%d duplicates); "
        "%d lines kept, %d dropped",
        totals["files_parsed"], totals["files_skipped"], totals["conferences"], totals["turns"],
        totals["paragraphs"], totals["duplicate_paragraphs"], totals["lines_kept"], totals["lines_dropped"],
    )
    for line in warning_summary(corpus.report):
        log.warning(line)
    other_languages = corpus.paragraphs.lang[~in_languages(corpus.paragraphs.lang, languages)].value_counts()
    if len(other_languages):
        log.info("%d paragraphs in other languages (%s) are kept in corpus/paragraphs.csv and not modelled "
                 "(corpus.units.languages: %s)", other_languages.sum(),
                 ", ".join(f"{lang} {n}" for lang, n in other_languages.items()), list(languages))


def ingested(loaded: LoadedConfig, timer: StageTimer) -> tuple[list[tuple[str, bytes]], Corpus]:
    """The input files as read, and the corpus built from them (its summary logged)."""
    with timer.stage("ingest"):
        files, unmatched = inputs.resolve_inputs(loaded)
        registry = inputs.read_registry(loaded)
        sources = inputs.read_sources(files, loaded.root)
        corpus = ingest(sources, loaded.config.corpus, registry, unmatched_inputs=unmatched,
                        progress=within(shown, "ingest"), workers=cluster.local_workers())
    log_corpus_summary(corpus, loaded.config.corpus.units.languages)
    return sources, corpus


def _normalized(loaded: LoadedConfig, units: pd.DataFrame, stopwords: frozenset[str], lemmatize: Lemmatizer,
                timer: StageTimer, cache: bool = True) -> tuple[Normalized, dict[str, Any]]:
    """Token lists for the units, from the cache when texts and settings are unchanged (saved
    to it unless ``cache`` is off: ``validate`` writes nothing)."""
    cfg = loaded.config.normalize
    key = cache_key(units.text, cfg, stopwords)
    with timer.stage("normalize"):
        normalized = rundir.load_normalized(loaded, key)
        cached = normalized is not None
        if cached:
            log.info("normalize: skipped, token lists reused from cache %s (texts and settings unchanged)", key[:12])
        else:
            normalized = normalize_texts(shown(units.text, len(units), "normalize: tokenising units"), cfg,
                                         stopwords, lemmatize)
            if cache:
                rundir.save_normalized(loaded, key, normalized)
    return normalized, {"cache_key": key, "from_cache": cached}


def selected_units(loaded: LoadedConfig, corpus: Corpus) -> pd.DataFrame:
    """The units the config selects for modelling (``corpus.units``)."""
    return select_units(corpus.turns, corpus.paragraphs, loaded.config.corpus.units)


def checked_design(cfg: Config, selected: pd.DataFrame, strict: bool, lenient: bool = False) -> DesignReport:
    """The comparison design, read right after ingestion: logged line by line; a contrast the
    design cannot identify is refused, and under ``strict`` ends the run (exit 2). A contrast
    naming a value the corpus lacks is an error, or with ``lenient`` (``ingest``, which is how
    one finds out what the corpus holds) a refused line."""
    check_formula(cfg.compare.formula, cfg.corpus.columns.extra)
    if selected.empty:  # nothing to compare, and `run` says so next
        problems = []
    elif lenient and not strict:
        problems = contrast_problems(selected, cfg.compare)
    else:
        check_contrasts(selected, cfg.compare)
        problems = []
    for problem in problems:
        log.warning("contrast refused: %s", problem)
    design = design_report(answers_of(selected), cfg.compare, tests_each=sum(model.k for model in cfg.models))
    log.info(design.summary())
    for contrast, line in zip(design.contrasts, design.lines()):
        (log.warning if contrast.refused else log.info)(line)
    if strict and design.refused():
        first = design.refused()[0]
        raise ConfigError(f"--strict: contrast {first.contrast.name} is refused: {first.refused}")
    return design


def prepared(loaded: LoadedConfig, selected: pd.DataFrame, timer: StageTimer, cache: bool = True) -> Prepared:
    """Normalised (units left empty are dropped and counted) and vectorised units."""
    rules = loaded.config.corpus.units
    if selected.empty:
        raise InputError(
            f"no units to model: no {rules.level} of a turn with role {' or '.join(rules.roles)} and kind "
            f"{' or '.join(rules.kinds)} has corpus.units.min_words = {rules.min_words} words or more "
            "(lower min_words, or check roles and kinds in corpus/turns.csv of `python -m pipeline ingest`)")
    cfg = loaded.config.normalize
    stopwords, lemmatize = stopword_set(cfg, inputs.read_stopword_files(loaded)), make_lemmatizer(cfg.lemmatizer)
    normalized, cached = _normalized(loaded, selected, stopwords, lemmatize, timer, cache)
    nonempty = [i for i, tokens in enumerate(normalized.tokens) if tokens]
    if not nonempty:
        raise InputError(f"no units to model: all {len(selected)} selected units are empty after normalisation "
                         "(check normalize.token_pattern, the stopwords and normalize.vocabulary)")
    units = selected.iloc[nonempty].reset_index(drop=True)
    undated = int(units.year.isna().sum())
    if undated:
        log.warning("%d units come from undated conferences: they are modelled but left out of comparisons by "
                    "year (corpus/conferences.csv shows which conferences have no date)", undated)
    tokens = [normalized.tokens[i] for i in nonempty]
    summary = {**normalized.report, **cached, "units_selected": len(selected), "units_modelled": len(units),
               "units_dropped_empty": len(selected) - len(units)}
    log.info("units: %d selected, %d empty after normalisation (dropped), %d modelled; vocabulary %d",
             len(selected), len(selected) - len(units), len(units), normalized.report["vocabulary_size"])
    with timer.stage("vectorize"):
        matrices = vectorize(tokens, within(shown, "vectorize"))
    prior_covariates = covariates_needed(loaded.config)
    if prior_covariates:  # a model whose prior depends on who speaks (and when) is given it per unit
        matrices = matrices.with_covariates(units[prior_covariates])
    with timer.stage("normalize questions and reference"):
        questions = _questions(units, cfg, stopwords, lemmatize, matrices)
        reference = _coherence_reference(loaded, stopwords, lemmatize)
    return Prepared(units, tokens, matrices, summary, reference, questions)


def covariates_needed(cfg: Config) -> list[str]:
    """The unit metadata the priors of the config's models, and of its sweep's, depend on."""
    models = [*cfg.models, *(sweep.model_config(cfg, BACKENDS[b], 2) for b in cfg.sweep.backends)]
    return sorted({covariate for model in models for covariate in model.prior_covariates})


def _questions(units: pd.DataFrame, cfg: Any, stopwords: frozenset[str], lemmatize: Lemmatizer,
               matrices: Matrices) -> tuple[list[str], Matrices] | None:
    """The questions the modelled answers reply to, normalised as the units were (phrases
    learned on the questions themselves) and counted over the models' vocabulary."""
    asked = units[units.question_turn_id.fillna("") != ""].drop_duplicates("question_turn_id")
    if asked.empty:
        return None
    normalized = normalize_texts(shown(asked.question_text, len(asked), "normalize: tokenising questions"), cfg,
                                 stopwords, lemmatize)
    return list(asked.question_turn_id), over_vocabulary(matrices, normalized.tokens)


def question_mixtures(result: TopicModelResult, questions: tuple[list[str], Matrices] | None,
                      progress: Progress, again: bool = False) -> pd.DataFrame:
    """Each question's topic mixture under a fitted model, topics held fixed (never refitted):
    LDA by its inference, a backend without one by its transform; questions with no known word
    are left out. ``again``: a second Monte Carlo run of the inference (empty where the
    backend's inference is not sampled)."""
    columns = schemas.topic_columns(result.k)
    if questions is None:
        return pd.DataFrame(columns=columns)
    ids, matrices = questions
    backend = BACKENDS[result.backend]
    known = np.flatnonzero(np.asarray(matrices.counts.sum(axis=1)).ravel() > 0)
    infer = backend.reinfer if again else backend.infer
    if not len(known) or (infer is None and (again or backend.transform is None)):
        return pd.DataFrame(columns=columns)
    matrices = matrices.subset(known)  # an empty document is no question to infer (and crashes tomotopy)
    mixtures = (infer_in_chunks(infer, result.native, matrices, progress, "inferring questions")
                if infer is not None
                else backend.transform(result.native, matrices, result.params))
    totals = mixtures.sum(axis=1, keepdims=True)
    keep = totals.ravel() > 0
    return pd.DataFrame(mixtures[keep] / totals[keep], index=np.asarray(ids)[known][keep], columns=columns)


def question_summary(questions: tuple[list[str], Matrices] | None, responsiveness: pd.DataFrame) -> dict[str, float]:
    """How long the compared answers' questions are in the model's vocabulary (median tokens),
    and the noise of their inferred mixtures (mean change of an answer's divergence, bits)."""
    if questions is None or responsiveness.empty:
        return {}
    ids, matrices = questions
    lengths = pd.Series(np.asarray(matrices.counts.sum(axis=1)).ravel(), index=ids)
    return {"question_tokens_median": float(lengths.loc[responsiveness.question_turn_id.unique()].median()),
            "question_inference_noise_bits": None if np.isnan(noise := inference_noise(responsiveness))
            else round(noise, 6)}


def _coherence_reference(loaded: LoadedConfig, stopwords: frozenset[str],
                         lemmatize: Lemmatizer) -> tuple[str, list[list[str]]] | None:
    """The reference corpus for coherence, normalised like the units, if the config names one."""
    patterns = loaded.config.evaluate.coherence_reference
    if not patterns:
        return None
    normalized = normalize_texts(inputs.read_reference_texts(loaded), loaded.config.normalize, stopwords, lemmatize)
    tokens = [unit for unit in normalized.tokens if unit]
    if not tokens:
        raise ConfigError(f"evaluate.coherence_reference: {', '.join(patterns)} holds no text to score coherence on")
    return f"the reference corpus {', '.join(patterns)}", tokens


def model_seed(root: int, model_cfg: Any) -> int:
    """The model's own seed if the config gives one, else one derived from the root and its name."""
    return model_cfg.seed if model_cfg.seed is not None else derive_seed(root, model_cfg.name)


@dataclass(frozen=True)
class Fits:
    """Every fit of one model: the restarts with different seeds (``reported`` is the best by
    the backend's own objective, the rest measure seed stability), refits on subsamples
    (resampling stability), and a refit without the held-out units (document completion)."""

    base_seed: int  # the model's own seed: it also seeds the subsamples and the held-out split
    reported: TopicModelResult
    other_seeds: list[TopicModelResult]
    scores: list[float]
    resampled: list[TopicModelResult]
    heldout_units: np.ndarray
    training_fit: TopicModelResult | None  # the best of the restarts' seeds on the units not held out


@dataclass(frozen=True)
class FitPlan:
    """The fits one model needs, as (seed, matrices, unit ids) jobs: the restarts first, then
    the resamples, then (if the backend can infer held-out halves) the held-out refits, one per
    restart seed, of which the best by the same objective is scored, as the reported fit is
    chosen."""

    model_cfg: Any
    base_seed: int
    jobs: list[tuple[int, Matrices, list[str]]]
    n_restarts: int
    n_resamples: int
    heldout_units: np.ndarray

    def fits(self, fitted: list[TopicModelResult]) -> Fits:
        """The plan's fits, in job order, sorted into restarts (the best reported), resamples
        and the held-out refits (the best kept)."""
        restarts = fitted[:self.n_restarts]
        scores = self.scores(restarts)
        best = int(np.argmax(scores))
        training = fitted[self.n_restarts + self.n_resamples:]
        return Fits(self.base_seed, restarts[best], restarts[:best] + restarts[best + 1:], scores,
                    fitted[self.n_restarts:self.n_restarts + self.n_resamples], self.heldout_units,
                    training[int(np.argmax(self.scores(training)))] if training else None)

    def scores(self, restarts: list[TopicModelResult]) -> list[float]:
        """The backend's objective for each restart (all 0 without one: the first is kept)."""
        backend = BACKENDS[self.model_cfg.backend]
        return [backend.score(r.metrics) if backend.score else 0.0 for r in restarts]


def fit_plan(model_cfg: Any, cfg: Config, data: Prepared) -> FitPlan:
    evaluate = cfg.evaluate
    base = model_seed(cfg.run.seed, model_cfg)
    ids, n = list(data.units.unit_id), len(data.units)
    seeds = [base] + [derive_seed(base, "stability", str(i)) for i in range(1, evaluate.stability_seeds)]
    jobs = [(seed, data.matrices, ids) for seed in seeds]
    backend = BACKENDS[model_cfg.backend]
    # A backend without a posterior carries its uncertainty into the joint model by these refits.
    count = max(evaluate.resamples, cfg.compare.refit_draws) if backend.infer is None and cfg.compare.contrasts \
        else evaluate.resamples
    samples = [rows for rows in resamples(n, evaluate.resample_share, count, base) if len(rows) >= model_cfg.k]
    jobs += [(base, data.matrices.subset(rows), [ids[i] for i in rows]) for rows in samples]
    heldout, training = heldout_split(data.matrices.unit_lengths, evaluate.heldout_share, base)
    if backend.infer is not None and len(heldout) and len(training) >= model_cfg.k:
        training_matrices = data.matrices.subset(training)
        jobs += [(seed, training_matrices, [ids[i] for i in training]) for seed in seeds]
    return FitPlan(model_cfg, base, jobs, len(seeds), len(samples), heldout)


@contextlib.contextmanager
def fits_in_order(cfg: Config, data: Prepared) -> Iterator[Callable[[], Fits]]:
    """Sends the fits of every model to the workers at once, and gives the block a function
    that waits for the next model's fits, in the config's order: the workers fit the next model
    while this process tabulates and evaluates the one before."""
    from joblib import Parallel, cpu_count, delayed

    plans = [fit_plan(model_cfg, cfg, data) for model_cfg in cfg.models]
    fits = [delayed(fit_model)(plan.model_cfg, seed, matrices, unit_ids, BACKENDS[plan.model_cfg.backend])
            for plan in plans for seed, matrices, unit_ids in plan.jobs]
    # One fit per task: joblib's automatic batches would join a model's last fit to the next
    # model's first, and hold the one back until the other is done.
    results = Parallel(n_jobs=min(len(fits), cfg.evaluate.n_jobs or -1), batch_size=1, return_as="generator",
                       **cluster.worker_setup())(
        fits + (cluster.figure_imports(cpu_count()) if cfg.figures.draw else []))
    waiting = iter(plans)

    def next_fits() -> Fits:
        plan = next(waiting)
        model = plan.model_cfg
        with cluster.crash_named(f"fit {model.name} ({model.backend}, k={model.k}, {len(plan.jobs)} fits on "
                                 f"{len(data.units)} units or subsets of them)"):
            fitted = list(shown(itertools.islice(results, len(plan.jobs)), len(plan.jobs),
                                f"fit {model.name}: restarts, resamples, held-out fit"))
        return plan.fits(fitted)

    with cluster.finished_or_cancelled(results, "fitting the models"):
        yield next_fits


def fit_models(cfg: Config, data: Prepared, design: DesignReport, covariates: pd.DataFrame,
               timer: StageTimer) -> list[ModelRun]:
    """Fits every configured model, with its tables, emphasis and diagnostics; contrast q-values
    are adjusted over the whole family of models x contrasts x topics. ``covariates``: the
    corpus's extra metadata columns by turn id, which the joint model's formula may name."""
    units, tokens, matrices = data.units, data.tokens, data.matrices
    for index, model_cfg in enumerate(cfg.models):
        check_k(model_cfg, index, len(units), len(matrices.vocabulary))
    model_runs = []
    with fits_in_order(cfg, data) as next_fits:
        for model_cfg in cfg.models:
            # The wait for this model's fits: they started while the model before was tabulated.
            with timer.stage(f"fit {model_cfg.name} ({model_cfg.backend}, k={model_cfg.k})"):
                fits = next_fits()
            result = fits.reported
            with timer.stage(f"tables {model_cfg.name}"):
                unit_table = topic_tables.unit_topics(units, result, [len(t) for t in tokens])
                frames = {
                    "topic_terms": topic_tables.topic_terms(result, matrices.term_counts, cfg.tables),
                    "unit_topics": unit_table,
                    "answer_topics": topic_tables.answer_topics(unit_table, units, result.k),
                    "representative_passages": topic_tables.representative_passages(
                        unit_table, units, result.k, cfg.tables.representative_n),
                }
                own_tables = BACKENDS[result.backend].tables
                if own_tables is not None:
                    frames.update(own_tables(result.native, matrices))
            with timer.stage(f"emphasis {model_cfg.name}"):
                emphasis_progress = within(shown, f"emphasis {model_cfg.name}")
                asked = question_mixtures(result, data.questions, emphasis_progress)
                answers = compared_answers(frames["answer_topics"], result.k, cfg.compare)
                emphasis = emphasis_tables(frames["answer_topics"], result.k, design, cfg.compare, cfg.run.seed,
                                           result.name, emphasis_progress)
                if design.contrasts:
                    emphasis["effects"] = model_effects(fits, answers, data, design, covariates, asked, cfg)
            with timer.stage(f"responsiveness {model_cfg.name}"):
                reinferred = question_mixtures(result, data.questions, emphasis_progress, again=True)
                responsiveness = answer_responsiveness(answers, asked, result.k,
                                                       reinferred if len(reinferred) else None)
                frames["answer_topics"] = frames["answer_topics"].merge(
                    responsiveness[["answer_id", "js_divergence"]].rename(
                        columns={"js_divergence": "question_divergence"}),
                    on="answer_id", how="left")
                unanswered = left_out(answers, asked)
                if len(unanswered):
                    log.info("responsiveness %s: %d of %d compared answers left out (%s)", result.name,
                             len(unanswered), len(answers), "; ".join(
                                 f"{n}: {reason}" for reason, n in unanswered.reason.value_counts().sort_index().items()))
                responsive = {"answers": responsiveness, "summary": summaries(
                    responsiveness.assign(all="all answers"), ("all", "speaker", "year", "question_outlet"), cfg.compare,
                    within(shown, f"responsiveness {result.name}"))}
            with timer.stage(f"evaluate {model_cfg.name}"):
                topic_diagnostics, evaluation, robust = evaluate_model(fits, data, design, emphasis["contrasts"], cfg)
            metrics = {
                "model": result.name, "backend": result.backend, "k": result.k, "seed": result.seed,
                "params": result.params, "fit_seconds": result.fit_seconds, "iterations": result.iterations,
                "n_units": len(units), "vocabulary_size": len(result.vocabulary),
                "prior_covariates": list(model_cfg.prior_covariates),
                "restart_scores": [round(score, 6) for score in fits.scores],
                "zero_mixture_rows": [result.unit_ids[i] for i in result.zero_rows], **result.metrics, **evaluation,
                **question_summary(data.questions, responsiveness),
                "responsiveness_left_out": [{"answer_id": row.answer_id, "speaker": row.speaker, "reason": row.reason}
                                            for row in unanswered.itertuples(index=False)],
            }
            if result.zero_rows:
                log.warning("model %s: %d units have no weight on any topic (flagged, mixtures left empty)",
                            result.name, len(result.zero_rows))
            if evaluation["exploratory"]:
                log.warning("model %s is exploratory: %s", result.name, evaluation["exploratory_reason"])
            model_runs.append(ModelRun(result, {**frames, "topic_diagnostics": topic_diagnostics},
                                       {**emphasis, "robustness": robust}, metrics, responsive))
    for table_name in ("contrasts", "effects"):
        holding = [run for run in model_runs if table_name in run.emphasis]
        adjusted = dict(zip((run.result.name for run in holding),
                            family_q([run.emphasis[table_name] for run in holding], cfg.compare.multiplicity)))
        model_runs = [dataclasses.replace(run, emphasis={**run.emphasis, table_name: adjusted[run.result.name]})
                      if run.result.name in adjusted else run for run in model_runs]
    return model_runs


def model_effects(fits: Fits, compared: pd.DataFrame, data: Prepared, design: DesignReport,
                  covariates: pd.DataFrame, asked: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The joint model of one fitted model's compared answers (``effects.csv``), its mixtures
    drawn for Rubin's rules, the question held fixed when configured."""
    result = fits.reported
    answers = compared.join(covariates, on="answer_id")
    tokens = np.array([len(t) for t in data.tokens], dtype=float)

    def by_answer(unit_mixtures: np.ndarray) -> np.ndarray:
        return answer_draws(unit_mixtures, data.units.answer_id, tokens, answers.answer_id)

    unit_draws, matched, between_scale = mixture_draws(fits, data.matrices, cfg.compare)
    draws = by_answer(unit_draws)
    draws[~np.broadcast_to(matched[:, None, :], draws.shape)] = np.nan
    mixtures = MixtureDraws(by_answer(result.doc_topic[None])[0], draws, result.doc_topic_posterior is not None,
                            between_scale)
    held = (answers[["question_turn_id"]].join(asked, on="question_turn_id")[asked.columns].to_numpy(float)
            if cfg.compare.hold_question else None)
    return joint_effects(answers, mixtures, design, cfg.compare, result.name, held)


def distinctive_tables(cfg: Config, data: Prepared, design: DesignReport,
                       model_runs: list[ModelRun]) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Fightin' Words per contrast, on the compared units: overall and within each model's
    topics (a unit's counts weighted by its share of the topic); and the count of words beyond
    |z| = 3 overall against its permutation null."""
    compared = data.units.kind.isin(cfg.compare.kinds).to_numpy()
    scopes = {"overall": np.ones(int(compared.sum()))}
    for run in model_runs:
        shares = np.nan_to_num(run.result.doc_topic[compared])
        scopes.update({f"{run.result.name} T{topic}": shares[:, topic] for topic in range(run.result.k)})
    units, counts = data.units[compared].reset_index(drop=True), data.matrices.counts[np.flatnonzero(compared)]
    table = distinctive_words(units, counts, data.matrices.vocabulary, design, cfg.distinctive.prior_strength, scopes)
    chance = chance_of_distinctive(units, counts, design, cfg.distinctive.prior_strength,
                                   cfg.distinctive.permutations, 3.0, derive_seed(cfg.run.seed, "distinctive"))
    return {str(name): frame.reset_index(drop=True) for name, frame in table.groupby("contrast", sort=False)}, chance


def mixture_draws(fits: Fits, matrices: Matrices, compare: CompareConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """Draws x units x k of the units' mixtures for Rubin's rules, which draws matched each
    topic (draws x k), and the factor on their between-draw variance.

    Dirichlet draws from the reported fit's posterior (all matched, factor 1); or, for a backend
    without one, the refits on subsamples of m of the n units, each applied to every unit with
    its topics matched to the reported ones (a topic whose cosine is below
    ``compare.draw_match`` is unmatched in that draw), factor m / (n - m): the spread of refits
    on subsamples without replacement is (n - m) / m times the variance of the full fit (the
    delete-d jackknife, Shao & Tu 1995, sec. 2.3)."""
    result = fits.reported
    k = result.k
    if result.doc_topic_posterior is not None:
        rng = np.random.default_rng(derive_seed(fits.base_seed, "mixture_draws"))
        concentration = np.maximum(result.doc_topic_posterior, 1e-12)
        draws = rng.gamma(concentration[None], size=(compare.draws, *concentration.shape))
        return draws / draws.sum(axis=2, keepdims=True), np.ones((compare.draws, k), bool), 1.0
    transform = BACKENDS[result.backend].transform
    if transform is None or not fits.resampled:
        return np.zeros((0, *result.doc_topic.shape)), np.zeros((0, k), bool), 1.0
    draws, matched = [], []
    for refit in fits.resampled:
        pairs, scores = match_topics(cosine_matrix(result.topic_term, refit.topic_term))
        mixtures = transform(refit.native, matrices, refit.params)[:, pairs]
        totals = mixtures.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws.append(np.where(totals > 0, mixtures / totals, result.doc_topic))
        matched.append(scores >= compare.draw_match)
    kept = np.mean([len(refit.unit_ids) for refit in fits.resampled])
    return np.array(draws), np.array(matched), float(kept / (len(result.unit_ids) - kept))


def gate_criteria(summary: dict[str, Any], evaluate: EvaluateConfig) -> list[dict[str, Any]]:
    """The exploratory gate's criteria that apply to a model: each with its value, threshold and
    whether it passes. Seed and resampling stability (average Jaccard, Greene et al. 2014), topic
    diversity, tokens per topic-word parameter, and the held-out gain over the unigram model; the
    thresholds are calibrated on planted corpora (DESIGN, "Exploratory gate")."""
    floors = (("mean_stability", "seed stability", evaluate.stability_threshold),
              ("mean_resample_stability", "resampling stability", evaluate.stability_threshold),
              ("topic_diversity", "topic diversity", evaluate.min_topic_diversity),
              ("tokens_per_parameter", "tokens per parameter", evaluate.min_tokens_per_parameter),
              ("heldout_gain_over_unigram", "held-out gain over the unigram model", evaluate.min_heldout_gain))
    return [{"criterion": label, "value": round(float(summary[key]), 6), "threshold": threshold,
             "passed": bool(summary[key] >= threshold)}
            for key, label, threshold in floors if summary.get(key) is not None and np.isfinite(summary[key])]


def gate_reason(criteria: list[dict[str, Any]]) -> str:
    """Why a model is exploratory ("" when it is not): every criterion it fails, with its value,
    so that its topics, and every comparison built on them, are not read as findings."""
    return "; ".join(f"{c['criterion']} {c['value']:.2f} < {c['threshold']:g}" for c in criteria if not c["passed"])


def evaluate_model(fits: Fits, data: Prepared, design: DesignReport, reference_contrasts: pd.DataFrame,
                   cfg: Config) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Diagnostics, seed and resampling stability, held-out likelihood by document completion,
    contrast robustness across seeds, and the stability gate."""
    units, tokens, matrices = data.units, data.tokens, data.matrices
    result, evaluate = fits.reported, cfg.evaluate
    n_tokens = np.array([len(t) for t in tokens], dtype=float)
    top_of = lambda fit: top_terms(fit.topic_term, fit.vocabulary, evaluate.stability_top_n)  # noqa: E731
    refit_top = [top_of(r) for r in fits.other_seeds]
    reference, texts = data.coherence_reference or ("the modelled units", tokens)
    progress = within(shown, f"evaluate {result.name}")
    table, summary = diagnostics(result.topic_term, result.vocabulary, result.doc_topic, refit_top,
                                 [top_of(r) for r in fits.resampled], texts, matrices.dictionary, n_tokens, evaluate,
                                 reference, progress, fits.base_seed)
    summary["restarts"] = len(fits.scores)
    if fits.training_fit is not None:
        summary.update(heldout_scores(fits, matrices, units.conference_id.to_numpy(), cfg.compare.level, progress))
    criteria = gate_criteria(summary, evaluate)
    reason = gate_reason(criteria)
    summary.update(exploratory=bool(reason), exploratory_reason=reason, gate=criteria)
    table = table.assign(exploratory=bool(reason))
    reference_top = top_of(result)
    refit_contrasts = []
    for refit, top in zip(fits.other_seeds, refit_top):
        unit_table = topic_tables.unit_topics(units, refit, n_tokens.astype(int).tolist())
        answers = compared_answers(topic_tables.answer_topics(unit_table, units, refit.k), refit.k, cfg.compare)
        refit_emphasis = contrasts(answers, refit.k, design, cfg.compare, cfg.run.seed, result.name)
        matched, similarity = match_topics(average_jaccard_matrix(reference_top, top))
        refit_contrasts.append((refit_emphasis, np.where(similarity >= evaluate.min_match_jaccard, matched, -1)))
    return table, summary, robustness(reference_contrasts, refit_contrasts, cfg.compare.significance)


def heldout_scores(fits: Fits, matrices: Matrices, conferences: np.ndarray, level: float,
                   progress: Progress) -> dict[str, Any]:
    """Document completion on the held-out units with the refit that never saw them, beside a
    unigram model of the same training units and the uniform log V, and the model's gain over
    the unigram model per word with its standard error clustered by the units' ``conferences``."""
    fit = fits.training_fit
    completion = document_completion(BACKENDS[fit.backend].infer, fit.native, fit.topic_term, matrices,
                                     fits.heldout_units, fits.base_seed, progress)
    training_counts = matrices.term_counts - np.asarray(matrices.counts[fits.heldout_units].sum(axis=0)).ravel()
    unigram = unigram_log_likelihoods(training_counts, completion.held)
    words = np.asarray(completion.held.sum(axis=1)).ravel()
    gain = heldout_gain(completion.log_likelihood, unigram, words, conferences[completion.units])
    return {
        "heldout_log_perplexity": completion.log_perplexity,
        "heldout_unigram_log_perplexity": float(-unigram.sum() / words.sum()),
        "heldout_uniform_log_perplexity": float(np.log(len(matrices.vocabulary))),
        # JSON has no NaN: with one held-out conference the error is null.
        "heldout_gain_over_unigram": gain.per_word, "heldout_gain_se": gain.se if np.isfinite(gain.se) else None,
        "heldout_gain_df": gain.df if np.isfinite(gain.df) else None,
        "heldout_gain_distinguishable": gain.distinguishable(level),
        "heldout_units": len(fits.heldout_units), "heldout_conferences": gain.conferences,
        "heldout_words": int(words.sum()),
        "heldout_units_too_short": int((matrices.unit_lengths < COMPLETION_MIN_TOKENS).sum()),
    }


def align(model_runs: list[ModelRun], threshold: float) -> tuple[list[ModelRun], pd.DataFrame]:
    """The runs with each topic's ``aligned_with`` naming the topics found by both, and the
    LDA-NMF agreement table for every pair of an LDA-family and an NMF-family model."""
    frames, notes = [], {run.result.name: {} for run in model_runs}
    for a in (r for r in model_runs if r.result.family == "lda"):
        for b in (r for r in model_runs if r.result.family == "nmf"):
            pairs = alignment(a.result.topic_term, b.result.topic_term, threshold).assign(
                model_a=a.result.name, model_b=b.result.name)
            frames.append(pairs)
            for run, found in zip((a, b), aligned_with(pairs)):
                for topic, names in found.items():
                    notes[run.result.name].setdefault(topic, []).extend(names)
    updated = []
    for run in model_runs:
        table = run.tables["topic_diagnostics"]
        found = notes[run.result.name]
        table = table.assign(aligned_with=[
            "; ".join(filter(None, [current, *found.get(topic, [])]))
            for topic, current in zip(table.topic, table.aligned_with)])
        updated.append(dataclasses.replace(run, tables={**run.tables, "topic_diagnostics": table}))
    columns = list(schemas.ALIGNMENT.columns)
    return updated, (pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns))


def validate_against_corpus(loaded: LoadedConfig) -> str:
    """``validate``: the config is valid, the inputs ingest (nothing is written), and the
    formula and contrasts name columns and values the corpus has, else a ``ConfigError``;
    returns the one-line verdict."""
    timer = StageTimer()
    _, corpus = ingested(loaded, timer)
    selected = selected_units(loaded, corpus)
    design = checked_design(loaded.config, selected, strict=False)
    data = prepared(loaded, selected, timer, cache=False)  # what `run` checks before fitting: units, k
    for index, model_cfg in enumerate(loaded.config.models):
        check_k(model_cfg, index, len(data.units), len(data.matrices.vocabulary))
    totals = corpus.report["totals"]
    return (f"valid (sha256 {loaded.config.sha256()}); inputs: {totals['files_parsed']} files parsed, "
            f"{totals['files_skipped']} skipped, {totals['conferences']} conferences, {len(selected)} units "
            f"({len(data.units)} to model, vocabulary {len(data.matrices.vocabulary)}); "
            f"{len(design.contrasts)} contrasts checked, {len(design.refused())} refused")


def execute(loaded: LoadedConfig, *, with_models: bool = True, strict: bool = False) -> Path:
    """Runs the configured stages and writes the run directory in one atomic step."""
    cfg = loaded.config
    target = loaded.resolve(cfg.run.output_dir) / cfg.run.name
    rundir.check_writable(target.parent)
    rundir.recover(target)
    if not with_models and (target / "models").is_dir():
        beside = target.with_name(f"{target.name}-ingest")
        log.warning("%s holds a complete run, which `ingest` leaves as it is: its tables go to %s",
                    inputs.display_path(target, loaded.root), inputs.display_path(beside, loaded.root))
        target = beside
        rundir.recover(target)
    timer = StageTimer()
    with cluster.local_workers_starting() if with_models else contextlib.nullcontext():
        sources, corpus = ingested(loaded, timer)
        with timer.stage("design"):
            selected = selected_units(loaded, corpus)
            design = checked_design(cfg, selected, strict, lenient=not with_models)
        data = prepared(loaded, selected, timer) if with_models else None
    covariates = corpus.turns.set_index("turn_id")[list(cfg.corpus.columns.extra)]
    model_runs, aligned, distinctive, chance = [], None, {}, pd.DataFrame()
    if data is not None:
        model_runs = fit_models(cfg, data, design, covariates, timer)
        with timer.stage("alignment and distinctive words"):
            model_runs, aligned = align(model_runs, cfg.evaluate.alignment_threshold)
            distinctive, chance = distinctive_tables(cfg, data, design, model_runs)
    sections: dict[str, Any] = {}
    if data is not None:
        sections["seeds"] = {"root": cfg.run.seed, "models": {r.result.name: r.result.seed for r in model_runs}}
        sections["normalization"] = data.normalization
        sections["models"] = {r.result.name: {k: v for k, v in r.metrics.items() if k != "zero_mixture_rows"}
                              for r in model_runs}
    with rundir.staged_directory(target) as staging:
        with timer.stage("write tables"):
            # Stage timings are filled in as stages end, so the manifest written last has them all.
            run_manifest = manifest(loaded, sources, timer, **sections)
            writes = [
                partial(rundir.write_corpus, corpus.conferences, corpus.turns, corpus.paragraphs, corpus.report,
                        staging),
                partial(rundir.write_design, design.cells, design.table(), design.summary_fields(), staging),
                *(partial(rundir.write_model, staging, run.result, data.matrices, run.tables, run.metrics,
                          run.emphasis, run.responsiveness) for run in model_runs),
                *([partial(rundir.write_table, aligned, schemas.ALIGNMENT, staging / "alignment.csv")]
                  if aligned is not None else []),
                partial(rundir.write_distinctive, distinctive, chance, cfg.distinctive.top_n, staging),
                partial(rundir.write_text, cfg.to_yaml(), staging / "config.yaml"),
            ]
            for write in shown(writes, len(writes), "write tables"):
                write()
        if with_models:
            with timer.stage("figures and report"):
                render(staging, run_manifest, cfg, {})
        run_manifest["run_seconds"] = timer.elapsed()
        rundir.write_json(run_manifest, staging / "manifest.json")
    log.info("wrote %s; %s", inputs.display_path(target, loaded.root), timer.summary())
    return target


def render(folder: Path, run_manifest: dict[str, Any], cfg: Config, custom_labels: dict[str, dict[int, str]]) -> None:
    """Labels, topics.md, figures and reports of a run directory, from its saved tables only."""
    run = rundir.load_tables(folder, run_manifest)
    labels, labelled = {}, {}
    for name, model in run.models.items():
        labels[name] = topic_labels(model.topic_terms, custom_labels.get(name))
        labelled[name] = dataclasses.replace(
            model, emphasis={table_name: frame.assign(topic_label=frame.topic.map(labels[name]))
                             if "topic_label" in frame else frame for table_name, frame in model.emphasis.items()},
            topic_diagnostics=model.topic_diagnostics.assign(
                topic_label=model.topic_diagnostics.topic.map(labels[name])))
    figures = (catalogue(labelled, run.alignment, run.design["cells"], labels, cfg, run.distinctive,
                         run.distinctive_chance)
               if cfg.figures.draw else [])
    topics = {}
    with rundir.figures_drawing(figures, folder / "figures", cfg.figures.dpi, cfg.figures.pdf) as drawn:
        for name, model in labelled.items():  # written while the figures are drawn
            vocabulary, topic_term = model.topic_term()
            topics[name] = topic_tables.topics_overview(topic_term, vocabulary, model.vocabulary["count"].to_numpy(),
                                                        labels[name], cfg.tables.frex_weight)
            rundir.write_text(topic_tables.topics_markdown(name, model.metrics["backend"], model.metrics["seed"],
                                                           topics[name]), model.folder / "topics.md")
            for table_name, frame in model.emphasis.items():
                rundir.write_table(frame, schemas.emphasis_schema(table_name),
                                   folder / "emphasis" / name / f"{table_name}.csv", copies=True)
            rundir.write_table(model.topic_diagnostics, schemas.TOPIC_DIAGNOSTICS,
                               model.folder / "topic_diagnostics.csv", copies=True)
        if cfg.figures.draw and cfg.figures.browser:  # built here while the workers draw
            rundir.write_text(topics_html(labelled, run.paragraphs, run.alignment, labels,
                                          cfg.tables.relevance_lambda, cfg.figures.browser_passages),
                              folder / "topics.html")
        png = drawn()
    blocks = outline(dataclasses.replace(run, models=labelled), cfg, labels, topics, figures)
    rundir.write_text(to_markdown(blocks, cfg.figures.pdf), folder / "report.md")
    rundir.write_text(to_html(blocks, png, f"Topic report: {cfg.run.name}"), folder / "report.html")


def relabel(run_dir: Path, labels_file: Path | None) -> Path:
    """Re-renders a run's labelled tables, figures and reports; never refits or changes numbers."""
    rundir.recover(run_dir)
    if not (run_dir / "manifest.json").is_file():
        raise InputError(f"{run_dir} is not a run directory (no manifest.json)")
    if not (run_dir / "config.yaml").is_file():
        raise InputError(f"{run_dir}: config.yaml is missing; the run cannot be re-rendered (rerun it)")
    cfg = validate(read_yaml((run_dir / "config.yaml").read_bytes(), f"{run_dir}/config.yaml"))
    custom: dict[str, dict[int, str]] = {}
    labels_meta = None
    if labels_file is not None:
        if not labels_file.is_file():
            raise ConfigError(f"labels file not found: {labels_file}")
        data = labels_file.read_bytes()
        custom = validate_labels(read_yaml(data, f"labels file {labels_file}"), {m.name: m.k for m in cfg.models})
        labels_meta = {"file": labels_file.as_posix(), "sha256": sha256_bytes(data)}
    run_manifest = rundir.read_manifest(run_dir)
    run_manifest["labels"] = labels_meta
    with rundir.staged_directory(run_dir) as staging:
        rundir.copy_tree(run_dir, staging)
        rundir.write_json(run_manifest, staging / "manifest.json")
        render(staging, run_manifest, cfg, custom)
    log.info("re-rendered %s%s", run_dir, f" with labels from {labels_file}" if labels_file else "")
    return run_dir


def run_sweep(loaded: LoadedConfig) -> Path:
    """Fits the sweep grid in parallel, streaming one row per fit; a rerun resumes it."""
    from joblib import Parallel, delayed

    cfg = loaded.config
    rundir.check_writable(loaded.resolve(cfg.run.output_dir))
    timer = StageTimer()
    data = prepared(loaded, selected_units(loaded, ingested(loaded, timer)[1]), timer)
    for index, k in enumerate(cfg.sweep.k_values()):
        check_k(sweep.model_config(cfg, BACKENDS[cfg.sweep.backends[0]], k), index, len(data.units),
                len(data.matrices.vocabulary))
    data_key = sweep.data_key(cfg, data.normalization["cache_key"])
    folder = loaded.resolve(cfg.run.output_dir) / cfg.run.name / "sweep"
    results_path = folder / "results.csv"
    previous = results_path.read_text(encoding="utf-8") if results_path.is_file() else ""
    done, discarded = sweep.read_results(previous, data_key)
    if discarded:
        log.warning("sweep: %d rows of %s discarded (interrupted write or other data/settings)", discarded,
                    inputs.display_path(results_path, loaded.root))
    rundir.write_text(",".join(sweep.RESULT_COLUMNS) + "\n" + "".join(sweep.csv_row(r) for r in done.to_dict("records")),
                      results_path)
    finished = set(zip(done.backend, done.k, done.seed))
    grid = sweep.jobs(cfg)
    todo = [job for job in grid if job.key not in finished]
    log.info("sweep: %d fits in the grid, %d already done, %d to run", len(grid), len(finished), len(todo))
    with timer.stage("sweep fits"):
        stream = Parallel(n_jobs=cfg.sweep.n_jobs or -1, return_as="generator_unordered", **cluster.worker_setup())(
            delayed(sweep.run_job)(job, BACKENDS[job.backend], cfg, data.matrices, data.tokens, data_key)
            for job in todo)
        with cluster.crash_named(f"sweep fits ({', '.join(cfg.sweep.backends)}; the rows already written are kept "
                                 "for a rerun to resume from)"):
            rundir.append_lines((sweep.csv_row(row) for row in shown(stream, len(todo), "sweep fits")),
                                results_path)
    results, _ = sweep.read_results(results_path.read_text(encoding="utf-8"), data_key)
    summary = sweep.summarise(results)
    suggestions = sweep.suggest_k(summary, cfg.sweep.stability_threshold)
    rundir.write_sweep(folder, summary, {
        "rule": " ".join(sweep.suggest_k.__doc__.split("\n\n")[0].split()),
        "stability_threshold": cfg.sweep.stability_threshold, "suggestions": suggestions,
    }, model_selection_figure(summary, cfg.figures, cfg.evaluate.diversity_top_n), cfg.figures.dpi, cfg.figures.pdf)
    for backend, suggestion in suggestions.items():
        print(f"suggested k for {backend}: {suggestion['k']} ({suggestion['reason']})")
    log.info("wrote %s; %s", inputs.display_path(folder, loaded.root), timer.summary())
    return folder
