"""``report.md`` (renders on a Git host) and a self-contained ``report.html`` from one outline.

The outline is a list of blocks (headings, paragraphs, tables, figures) built from a run's
saved tables; the two renderers only format it, so the two reports always say the same.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping, Sequence

import pandas as pd

from pipeline.config import CompareConfig, Config, EvaluateConfig, VocabularyConfig
from pipeline.design import column_words, plural
from pipeline.emphasis import estimand_label
from pipeline.figures import FigureSpec
from pipeline.ingest import warning_summary
from pipeline.rundir import Run
from pipeline.topic_tables import markdown_table

Block = tuple[str, object]


def group_phrase(group: str, column: str, n_answers: int, n_conferences: int, positions: Mapping[str, str]) -> str:
    """A group as every sentence names it: the official's registry position, answers, conferences."""
    position = positions.get(group, "") if column == "speaker" else ""
    name = group if column == "speaker" else f"{column} {group}"
    return f"{name} ({position + '; ' if position else ''}{plural(n_answers, 'answer')} in " \
           f"{plural(n_conferences, 'conference')})"


def contrast_sentences(rows: pd.DataFrame, column: str, labels: Mapping[int, str], compare: CompareConfig,
                       positions: Mapping[str, str]) -> list[tuple[int | None, str]]:
    """Plain sentences for one contrast of one model, each with its topic (None: about all
    topics): its findings at q < significance, else what the design could have detected;
    never "no difference"."""
    first = rows.iloc[0]
    a = group_phrase(first.group_a, column, int(first.n_answers_a), int(first.n_conferences_a), positions)
    b = group_phrase(first.group_b, column, int(first.n_answers_b), int(first.n_conferences_b), positions)
    where = f"compared within {plural(int(first.n_strata), column_words(first.within))} they share"
    level = compare.significance
    scale = f"q < {level:g} ({compare.multiplicity.upper()} over the run's tests)"
    if not bool(first.testable):
        return [(None, f"{a} vs {b}, {where}: not testable at {scale} ({first.p_method}; the smallest "
                       f"attainable p is {first.smallest_p:.2g}, too large for any q below {level:g}). The differences "
                       "in contrasts.csv describe these answers only.")]
    found = rows[rows.q < level]
    if found.empty:
        if rows.detectable.isna().all():
            power = (f"no difference is detectable: a single difference needs p below {first.finding_p:.2g} to reach "
                     f"{scale}, and these arrangements give p no lower than {first.smallest_p:.2g}"
                     if first.smallest_p > first.finding_p else
                     "no difference of shares (at most 1) is detectable with 80% power at that level")
        else:
            power = (f"with these answers the test detects, with 80% power at p < {first.finding_p:.2g} (what a "
                     f"single difference needs for {scale}), only differences of {rows.detectable.min():.2f} to "
                     f"{rows.detectable.max():.2f} of an answer's content or more, so smaller differences may well "
                     "exist")
        return [(None, f"{a} vs {b}, {where}: no topic reaches {scale}; {power}.")]
    sentences = []
    for _, row in found.iterrows():
        direction = "more" if row.estimate > 0 else "less"
        interval = (f"{compare.level:.0%} CI {row.ci_low:.2f} to {row.ci_high:.2f}"
                    if pd.notna(row.ci_low) else "no interval: " + row.interval.removeprefix("none: "))
        sentences.append((int(row.topic), f"{a} gives topic '{labels[int(row.topic)]}' {abs(row.estimate):.2f} "
                          f"{direction} of an answer's content than {b}, {where} ({interval}; permutation p = "
                          f"{row.p:.3g}, {row.p_method}; {compare.multiplicity.upper()} q = {row.q:.3g})."))
    return sentences


def seed_reading(holding: int, seeds: int) -> str:
    if seeds == 1:
        return "(Not checked across seeds.)"
    if holding <= 1:
        return f"Holds in {holding} of {seeds} seeds only: fragile, do not report it as a finding."
    return f"Holds in {holding} of {seeds} seeds (same sign, permutation p below the threshold)."


def model_summary(metrics: Mapping[str, object], evaluate: EvaluateConfig) -> str:
    def scored(measure: str) -> str:
        sd = metrics.get(f"coherence_{measure}_bootstrap_sd")
        return f"{measure} {metrics[f'mean_coherence_{measure}']:.3f}" + (f" (SD {sd:.3f})" if sd is not None else "")

    parts = [f"Topic diversity (top {evaluate.diversity_top_n}) {metrics['topic_diversity']:.2f}",
             f"mean coherence {', '.join(scored(m) for m in ('c_v', 'c_npmi', 'u_mass'))}"]
    if metrics.get("mean_stability") is not None:
        one_fit = len(set(metrics.get("restart_scores", []))) == 1 and metrics["stability_seeds"] > 1
        parts.append(f"mean stability {metrics['mean_stability']:.2f} over {metrics['stability_seeds']} seeds "
                     f"(average Jaccard of the top {evaluate.stability_top_n} terms over depths 1 to "
                     f"{evaluate.stability_top_n}, Greene et al. 2014, after Hungarian matching; 1 = identical topics; the "
                     "reported fit is the best of these restarts by the model's own objective"
                     + ("; every restart reached the same objective: one fit found again, which says nothing of "
                        "how robust the topics are" if one_fit else "") + ")")
    if metrics.get("mean_resample_stability") is not None:
        parts.append(f"resampling stability {metrics['mean_resample_stability']:.2f} over {metrics['resamples']} "
                     f"refits on {evaluate.resample_share:.0%} subsamples of the units")
    if "heldout_log_perplexity" in metrics:
        parts.append(heldout_sentence(metrics))
    parts.append(f"{metrics['tokens_per_parameter']:.2f} tokens per topic-word parameter (tokens / (k × V))")
    return "; ".join(parts) + ". " + gate_sentence(metrics)


def gate_sentence(metrics: Mapping[str, object]) -> str:
    """Every criterion of the exploratory gate with its value and threshold, and which decided."""
    criteria = metrics.get("gate") or []
    checked = ", ".join(f"{c['criterion']} {c['value']:.2f} {'≥' if c['passed'] else '<'} {c['threshold']:g}"
                        for c in criteria)
    failed = [c["criterion"] for c in criteria if not c["passed"]]
    listed = ", ".join(failed[:-1]) + (" and " if len(failed) > 1 else "") + (failed[-1] if failed else "")
    verdict = (f"exploratory, decided by {listed}" if failed else
               "passes every criterion, so its comparisons may be read as findings")
    return (f"Exploratory gate (thresholds calibrated on planted corpora with and without topics, docs/DESIGN.md): "
            f"{checked or 'no criterion applies'}: {verdict}.")


def heldout_sentence(metrics: Mapping[str, object]) -> str:
    """Document completion against the unigram baseline, with the gain's clustered error and what it allows."""
    gain, se = metrics["heldout_gain_over_unigram"], metrics["heldout_gain_se"]
    if se is None or not math.isfinite(se):  # one held-out conference (null; NaN in older runs)
        error, verdict = ("no standard error from one conference",
                          "nothing says whether the model predicts better than the unigram model")
    else:
        error = f"SE {se:.3f} clustered by conference, df {metrics['heldout_gain_df']:.1f}"
        verdict = ("the model is not distinguishable from the unigram model"
                   if not metrics["heldout_gain_distinguishable"] else
                   "the model predicts held-out words better than the unigram model" if gain > 0 else
                   "the model predicts held-out words worse than the unigram model")
    return (f"held-out log perplexity per word {metrics['heldout_log_perplexity']:.3f} by document completion on "
            f"{metrics['heldout_units']} held-out units of {metrics['heldout_conferences']} conferences "
            f"({metrics['heldout_words']} words scored from the other half of each unit, the half's mixture "
            "plugged in for each word: Wallach et al. 2009's completion setup, not their left-to-right "
            f"estimator), against {metrics['heldout_unigram_log_perplexity']:.3f} for a unigram model and "
            f"{metrics['heldout_uniform_log_perplexity']:.3f} (log V) for uniform word choice; lower is better. "
            f"Gain over the unigram model {gain:+.3f} nats per word ({error}): {verdict}; the held-out refit is the best of the same "
            "seeds as the reported fit"
            + (f"; {too_short} units of fewer than 2 tokens are never held out"
               if (too_short := metrics.get("heldout_units_too_short")) else ""))


def vocabulary_summary(normalization: Mapping[str, object], vocabulary: VocabularyConfig) -> str:
    """What the models saw: vocabulary size, the pruning rules, and every term pruned as too common."""
    pruned = normalization.get("pruned_too_common") or []
    listed = ", ".join(f"{entry['term']} ({entry['units']} units)" for entry in pruned) or "none"
    return (f"Vocabulary: {normalization['vocabulary_size']} terms in {normalization['units']} units "
            f"({normalization['tokens_kept']} tokens). Pruning keeps terms in at least {vocabulary.no_below} units"
            + (f" and at most {vocabulary.no_above:.0%} of units; terms pruned as too common: {listed}."
               if vocabulary.no_above < 1 else "; no term is pruned for being common (normalize.vocabulary.no_above: 1).")
            )


def coherence_setup(metrics: Mapping[str, object]) -> str:
    setup = metrics["coherence_setup"]
    windows = setup["windows"]
    return (f"Coherence is gensim's CoherenceModel on each topic's top {setup['top_n']} terms, scored on "
            f"{setup['reference']} ({setup['reference_units']} texts, {setup['reference_mean_tokens']} tokens on average): "
            f"c_v with a sliding window of {windows['c_v']} tokens (wider than a text shorter than that, where it "
            f"counts co-occurrence in the whole text), c_npmi with a window of {windows['c_npmi']}, u_mass by "
            "co-occurrence in a text. "
            + ("It is in-sample: the texts scored are the texts the topics were fitted on, which flatters every "
               "model alike and is no test of how topics generalise. " if setup["reference"] == "the modelled units"
               else "")
            + (f"The SD beside each mean is over {bootstrap} bootstrap resamples of those texts (with replacement, "
               "the topics held fixed): how much the score depends on which texts happened to be there; texts of one "
               "conference share its words, so it is a lower bound." if (bootstrap := setup.get("bootstrap"))
               else "No bootstrap of the texts was run (evaluate.coherence_bootstrap: 0)."))


def exploratory_note(metrics: Mapping[str, object]) -> str:
    return (f"Exploratory model: {metrics['exploratory_reason']}. Its topics may not reappear in a refit, so "
            "its comparisons below are descriptions of this fit, not findings.")


def prior_caution(name: str, column: str, models: Mapping[str, Mapping[str, object]]) -> str:
    """What a contrast estimates in a model whose prior holds the contrast's own covariate."""
    covariates = ", ".join(models[name]["prior_covariates"])
    blind = [f"`{other}`" for other, metrics in models.items() if column not in metrics.get("prior_covariates", [])]
    return (f"Model `{name}` was fitted with {column} in its prior (covariates {covariates}): each answer's "
            f"mixture is drawn toward the prior its {column} was given, which that {column}'s own answers fitted. "
            f"So the estimand here is the difference in the mixtures of a model told each answer's {column}, not "
            "of one blind to it: the prior can pull the groups apart (a group's words set its prior) or together "
            "(a small group's coefficients shrink toward zero and its prior toward the intercept). stm's "
            "`estimateEffect` asks for exactly this (the topic model should contain every covariate of the "
            "regression), and on planted corpora it recovers differences a blind model attenuates (docs/DESIGN.md)"
            + (f"; read it beside {' and '.join(blind)}, fitted without {column}." if blind else "."))


def prior_coefficient_blocks(name: str, coefficients: pd.DataFrame, labels: Mapping[int, str]) -> list[Block]:
    """A covariate model's lambdas, one row per covariate level, one column per topic."""
    table = coefficients.assign(topic=coefficients.topic.map(lambda t: labels.get(int(t), f"T{t}")))
    wide = table.pivot_table(index=["covariate", "level", "n_units"], columns="topic", values="lambda",
                             sort=False).round(2).reset_index()
    return [("p", f"Prior coefficients of `{name}` (lambda, Dirichlet-multinomial regression, Mimno & McCallum "
                  "2008): a unit's prior weight on topic t is exp(intercept_t + the lambdas of its levels), so "
                  "lambdas are log prior weights, not shares. A level's +0.7 doubles its units' prior weight on "
                  "the topic before any word is read; the words outweigh the prior as a unit grows. Each lambda "
                  "has a normal prior of mean 0, so a level with few units stays near 0. All of them in "
                  f"`models/{name}/prior_coefficients.csv`:"),
            ("long_table", wide)]


def design_blocks(design: Mapping[str, object], compare: CompareConfig) -> list[Block]:
    """The design before any estimate: the joint model's rank and df, who answers when, and each
    contrast refused, untestable or supported."""
    summary, cells = design["summary"], design["cells"]
    table = cells.assign(year=cells.year.astype("string").fillna("undated"),
                         cell=cells.n_answers.astype(str) + " / " + cells.n_statements.astype(str))
    counts = table.pivot_table(index=["speaker", "position"], columns="year", values="cell", aggfunc="first",
                               fill_value="–").reset_index()
    counts.columns = [str(c) for c in counts.columns]
    return [
        ("h2", "Design"),
        ("p", f"Comparisons use {'/'.join(compare.kinds)}s only; a group's share of a topic is the "
              f"{estimand_label(compare)}. {summary['summary'][0].upper()}{summary['summary'][1:]}."),
        ("p", "Answers / opening statements per official (registry position) and year; statements are their own "
              "genre and are not compared:"),
        ("table", counts),
        *[("p", line[0].upper() + line[1:] + ".") for line in summary["contrasts"]],
    ]


def summary_blocks(run: Run, cfg: Config, labels: Mapping[str, Mapping[int, str]]) -> list[Block]:
    """What a reader can take away, first: the corpus in one line, each model's gate, and the
    findings (contrasts at q < significance in models that pass the gate), or why there are none."""
    design = run.design["summary"]
    years = sorted({int(y) for y in run.design["cells"].year.dropna()})
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "no dated year")
    officials = run.design["cells"].speaker.nunique()
    sentences = [f"{plural(int(design['n_answers']), 'compared answer')} by {plural(officials, 'official')} at "
                 f"{plural(int(design['n_conferences']), 'conference')} ({span})."]
    gated = {name: model.metrics.get("exploratory_reason", "") for name, model in run.models.items()}
    sentences += [f"Model `{name}` is exploratory ({reason})." if reason else
                  f"Model `{name}` passes the exploratory gate." for name, reason in gated.items()]
    findings = []
    for name, model in run.models.items():
        contrasts = model.emphasis.get("contrasts")
        if gated[name] or contrasts is None or contrasts.empty:
            continue
        for row in contrasts[contrasts.q < cfg.compare.significance].itertuples():
            findings.append(f"`{name}` {row.contrast}, topic {labels[name].get(int(row.topic), f'T{row.topic}')}: "
                            f"{row.group_a} minus {row.group_b} {row.estimate:+.3f} (q = {row.q:.3f})")
    if findings:
        sentences.append(f"Findings (q < {cfg.compare.significance:g}): {'; '.join(findings)}.")
    else:
        why = ("every model is exploratory, so no comparison is a finding" if run.models and all(gated.values())
               else f"no contrast reaches q < {cfg.compare.significance:g} in a model that passes the gate"
               if run.models else "no model was fitted")
        sentences.append(f"Nothing here is a finding: {why}; the sections below describe this sample.")
    return [("h2", "Summary"), ("p", " ".join(sentences))]


def findings_blocks(run: Run, cfg: Config, labels: Mapping[str, Mapping[int, str]]) -> list[Block]:
    """Every model's contrasts in plain sentences, refused contrasts included: the report's first section."""
    blocks: list[Block] = [("h2", "Findings")]
    refused = run.design["contrasts"][run.design["contrasts"].refused.fillna("") != ""]
    blocks += [("p", f"Contrast {row.contrast} is refused: {row.refused} ({row.group_a} {plural(row.n_answers_a, 'answer')}"
                     f" in {plural(row.n_conferences_a, 'conference')}, {row.group_b} "
                     f"{plural(row.n_answers_b, 'answer')} in {plural(row.n_conferences_b, 'conference')}).")
               for row in refused.itertuples()]
    positions = dict(zip(run.design["cells"].speaker, run.design["cells"].position))
    for name, model in run.models.items():
        contrasts = model.emphasis.get("contrasts")
        if contrasts is None or contrasts.empty:
            continue
        blocks.append(("h3", f"Contrasts, model `{name}`"))
        held = model.emphasis.get("robustness")
        cautioned: set[str] = set()
        for contrast_name, rows in contrasts.groupby("contrast", sort=False):
            column = next(c.column for c in cfg.compare.contrast_list() if c.name == contrast_name)
            if column in model.metrics.get("prior_covariates", []) and column not in cautioned:
                cautioned.add(column)
                blocks.append(("p", prior_caution(name, column, {n: m.metrics for n, m in run.models.items()})))
            for topic, sentence in contrast_sentences(rows, column, labels[name], cfg.compare, positions):
                if model.metrics.get("exploratory"):
                    sentence = "(Exploratory model, not a finding.) " + sentence
                if held is not None and topic is not None:
                    seeds = held[(held.contrast == contrast_name) & (held.topic == topic)].iloc[0]
                    sentence += " " + seed_reading(int(seeds.seeds_holding), int(seeds.seeds))
                blocks.append(("p", sentence))
    return blocks


def chance_phrase(chance: pd.DataFrame | None, contrast: str) -> str:
    """The count of words beyond |z| = 3 against the count expected by chance, and its p."""
    if chance is None or contrast not in chance.index:
        return "no permutation null in this run"
    row = chance.loc[contrast]
    counted = f"{int(row.observed)} of {plural(int(row.words), 'word')} beyond |z| = 3"
    if not int(row.permutations):
        return f"{counted}; no shuffle is possible within the design's blocks, so chance is not measured"
    reading = "more than chance" if row.p <= 0.05 else "chance level"
    return (f"{counted}, {row.expected:.1f} expected by chance ({row.share_expected:.2%} of words), "
            f"permutation p = {row.p:.2f}: {reading}")


def distinctive_blocks(run: Run, cfg: Config) -> list[Block]:
    """Each contrast's most distinctive words, with the design behind them."""
    if not run.distinctive:
        return []
    blocks: list[Block] = [("h2", "Distinctive words"), (
        "p", f"Weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008; prior worth "
             f"{cfg.distinctive.prior_strength:g} tokens, from each stratum's compared text). Words come in bursts and "
             "answers share their conference's agenda, so the z are not normal deviates: how many words pass |z| = 3 "
             f"by chance is measured by shuffling whole answers within the design's blocks ({cfg.distinctive.permutations}"
             " shuffles; whole conferences for a label such as year), and a count no larger than that is chance level. "
             "Read the words at the top as a ranking.")]
    chance = run.distinctive_chance.set_index("contrast") if run.distinctive_chance is not None else None
    design = run.design["contrasts"].set_index("contrast")
    for name, table in run.distinctive.items():
        overall = table[table.scope == "overall"]
        row = design.loc[name]
        where = (f"compared within {plural(int(row.n_strata), column_words(row.within))} they share: "
                 f"{row.group_a} {plural(int(row.n_stratified_a), 'answer')}, {row.group_b} "
                 f"{plural(int(row.n_stratified_b), 'answer')}" if int(row.n_strata) else
                 f"{row.group_a} {plural(int(row.n_answers_a), 'answer')} in "
                 f"{plural(int(row.n_conferences_a), 'conference')}, {row.group_b} "
                 f"{plural(int(row.n_answers_b), 'answer')} in {plural(int(row.n_conferences_b), 'conference')}")
        side_a, side_b = ((g if row.column == "speaker" else f"{row.column} {g}") for g in (row.group_a, row.group_b))
        top = ", ".join(f"{r.term} ({r.z:.1f})" for r in overall.nlargest(5, "z").itertuples() if r.z > 0)
        bottom = ", ".join(f"{r.term} ({r.z:.1f})" for r in overall.nsmallest(5, "z").itertuples() if r.z < 0)
        blocks.append(("p", f"`{name}` ({where}): words {side_a} uses more: {top or 'none'}; words "
                            f"{side_b} uses more: {bottom or 'none'} (z in brackets; {chance_phrase(chance, name)}; "
                            f"a word of median frequency here needs a log-odds of ±{3 * overall.se.median():.1f} to "
                            f"pass |z| = 3). Within each topic: distinctive/{name}.csv."))
    return blocks


def gain_reading(gain: pd.Series) -> str:
    """What an interval of the responsiveness (baseline minus own divergence) allows one to say."""
    if pd.isna(gain.ci_low):
        return "no interval, so no reading beyond this sample"
    if gain.ci_low > 0:
        return "closer to their own question than to the others asked at the conference"
    if gain.ci_high < 0:
        return "farther from their own question than from the others asked at the conference"
    return "not distinguishable from the chance baseline"


def left_out_phrase(left_out: list[dict[str, str]]) -> str:
    """Which compared answers responsiveness leaves out and why ("" when none is)."""
    if not left_out:
        return ""
    groups = pd.DataFrame(left_out).groupby(["reason", "speaker"], sort=True).size()
    parts = [f"{plural(int(n), 'answer')} of {speaker} ({reason})" for (reason, speaker), n in groups.items()]
    return f"; left out, so fewer than in the emphasis tables: {'; '.join(parts)}"


def responsiveness_blocks(run: Run, cfg: Config) -> list[Block]:
    """How closely answers follow their questions, against the other questions of their
    conference, overall and per official, for each model."""
    blocks: list[Block] = []
    positions = dict(zip(run.design["cells"].speaker, run.design["cells"].position))
    level = f"{cfg.compare.level:.0%} CI"

    def interval(row: pd.Series) -> str:
        return (f"{level} {row.ci_low:.2f} to {row.ci_high:.2f}" if pd.notna(row.ci_low)
                else row.interval.replace("none: ", "no interval: "))

    for name, model in run.models.items():
        summary = model.responsiveness.get("summary", pd.DataFrame())
        if summary.empty or not (summary.by == "speaker").any():
            continue
        if not blocks:
            blocks += [("h2", "Responsiveness"), (
                "p", "Each question's topic mixture is inferred with the fitted model (never refitted on questions) "
                     "and compared with its answer's: the Jensen-Shannon divergence in bits (0: the same mixture, 1: "
                     "disjoint) and the share of the answer on the question's largest topic. A divergence means little "
                     "alone: the chance baseline is the answer's mean divergence from the other questions asked at its "
                     "conference (the same agenda, another question), and the responsiveness is that baseline minus "
                     "the divergence from its own question, paired within the answer, with its interval over "
                     "conferences: above 0, answers are closer to their own question than to the others. Descriptive: "
                     "outlets are not classed as domestic or foreign (the speaker registry does not say which).")]
        metrics = model.metrics
        noise = metrics.get("question_inference_noise_bits")
        noise_phrase = (f"inferring them again moves an answer's divergence by {noise:.3f} bits on average (Monte Carlo "
                        "noise, inside the intervals)" if noise is not None
                        else "their mixtures are not sampled, so inference adds no noise")
        caution = "(Exploratory model, not a finding.) " if metrics.get("exploratory") else ""
        measures = {(row.group, row.measure): row for row in summary.itertuples(index=False)}
        if ("all answers", "js_gain") in measures:
            gain = pd.Series(measures[("all answers", "js_gain")]._asdict())
            others = measures[("all answers", "js_other_questions")].mean  # over the same answers as the gain
            blocks.append(("p", f"{caution}Model `{name}`: questions are short (median "
                                f"{metrics.get('question_tokens_median', float('nan')):.0f} tokens in the model's "
                                f"vocabulary), and {noise_phrase}. Over {plural(int(gain.n_answers), 'answer')} with "
                                f"another question at their conference ({plural(int(gain.n_conferences), 'conference')}"
                                f"): {others - gain['mean']:.2f} bits from their own question, "
                                f"{others:.2f} from the others; responsiveness "
                                f"{gain['mean']:+.2f} bits ({interval(gain)}): {gain_reading(gain)}."))
        table = []
        for group, rows in summary[summary.by == "speaker"].groupby("group", sort=False):
            row = rows.set_index("measure")
            js, others, gain, on_topic = (row.loc[m] for m in ("js_divergence", "js_other_questions", "js_gain",
                                                               "share_on_question_topic"))
            table.append({
                "official": group, "position": positions.get(group, ""), "answers": int(js.n_answers),
                "conferences": int(js.n_conferences), "from own question (bits)": f"{js['mean']:.2f}",
                "from other questions (bits)": f"{others['mean']:.2f}" if int(others.n_answers) else "–",
                "responsiveness (bits)": (f"{gain['mean']:+.2f} ({interval(gain)})" if int(gain.n_answers)
                                          else "no other question at the conference"),
                "on question's top topic": f"{on_topic['mean']:.2f}"})
        blocks += [("p", f"{caution}Model `{name}`, per official (intervals over conferences, none for fewer than "
                         f"{cfg.compare.min_answers} answers or {cfg.compare.min_conferences} conferences)"
                         f"{left_out_phrase(metrics.get('responsiveness_left_out', []))}:"),
                   ("table", pd.DataFrame(table))]
    return blocks


def statement_blocks(run: Run, labels: Mapping[str, Mapping[int, str]], compare: CompareConfig) -> list[Block]:
    """Opening statements, their own genre: each one's largest topic in every model (not compared)."""
    if "statement" in compare.kinds or not run.models:
        return []
    rows = []
    for name, model in run.models.items():
        statements = model.answer_topics[model.answer_topics.kind == "statement"]
        shares = statements[[c for c in statements.columns if c.startswith("topic_")]]
        for (_, statement), (_, share) in zip(statements.iterrows(), shares.iterrows()):
            top = int(share.to_numpy().argmax())
            rows.append({"speaker": statement.speaker, "date": statement.date, "tokens": statement.n_tokens,
                         "model": name, "largest topic": labels[name][top], "share": round(float(share.iloc[top]), 3)})
    if not rows:
        return []
    return [("h2", "Opening statements"),
            ("p", "Prepared opening statements are a genre of their own: they are modelled but not compared with "
                  "answers (compare.kinds). Each statement's largest topic:"),
            ("table", pd.DataFrame(rows))]


PASSAGES_SHOWN = 2  # per topic in the report; representative_passages.csv has them all
PASSAGE_CHARACTERS = 300


def passages_table(passages: pd.DataFrame, labels: Mapping[int, str]) -> pd.DataFrame:
    """Each topic's top passages: who, when, the text (cut to ``PASSAGE_CHARACTERS``), file:line."""
    shown = passages[passages["rank"] <= PASSAGES_SHOWN]
    return pd.DataFrame({
        "topic": shown.topic.map(lambda t: labels.get(int(t), f"T{t}")), "share": shown.share.round(2),
        "speaker": shown.speaker, "date": shown.date, "source": shown.source,
        "passage": shown.text.map(lambda t: t if len(t) <= PASSAGE_CHARACTERS else t[:PASSAGE_CHARACTERS].rsplit(" ", 1)[0] + " …"),
    })


def outline(run: Run, cfg: Config, labels: Mapping[str, Mapping[int, str]],
            topics: Mapping[str, pd.DataFrame], figures: Sequence[FigureSpec]) -> list[Block]:
    """Findings first; then the design, statements, the models; the long corpus tables last."""
    manifest = run.manifest
    blocks: list[Block] = [
        ("h1", f"Topic report: run `{cfg.run.name}`"),
        ("p", f"Config SHA-256 `{manifest['config_sha256']}`; git commit `{manifest.get('git_commit')}`; "
              f"created {manifest['created_utc']}. `python -m pipeline run {cfg.run.output_dir}/{cfg.run.name}/"
              f"config.yaml --set run.name={cfg.run.name}-rerun` reproduces every table byte for byte."),
        *([] if cfg.figures.draw else [("p", "No figures: the run was made with `figures.draw: false` (rerun it with "
                                              "`--set figures.draw=true` to draw them).")]),
        *([("p", "Read the topics in the [topic browser](topics.html) (`topics.html`, offline): each model's "
                 "intertopic map, its topics' terms re-ranked by a relevance slider, their passages with "
                 "`file:line`, their emphasis by speaker and year.")] if cfg.figures.draw and cfg.figures.browser
          else []),
        *summary_blocks(run, cfg, labels),
        *findings_blocks(run, cfg, labels),
        *distinctive_blocks(run, cfg),
        *responsiveness_blocks(run, cfg),
        *design_blocks(run.design, cfg.compare),
        *[("figure", f) for f in figures if f.section == "distinctive"],
        *[("figure", f) for f in figures if f.section == ""],
        *statement_blocks(run, labels, cfg.compare),
    ]
    for name, model in run.models.items():
        metrics = model.metrics
        blocks += [
            ("h2", f"Model `{name}` ({metrics['backend']}, k = {metrics['k']}, seed {metrics['seed']})"),
            ("table", topics[name]),
            *(prior_coefficient_blocks(name, model.backend_tables["prior_coefficients"], labels[name])
              if "prior_coefficients" in model.backend_tables else []),
            *([("p", exploratory_note(metrics))] if metrics.get("exploratory") else []),
            ("p", model_summary(metrics, cfg.evaluate) + " " + coherence_setup(metrics) + " Per topic:"),
            ("long_table", model.topic_diagnostics.assign(topic_label=model.topic_diagnostics.topic.map(labels[name]))
             .round(3).drop(columns=["topic"])),
            ("p", f"Each topic's {PASSAGES_SHOWN} most typical passages (the units with the highest share of it, as "
                  "stm's findThoughts; all of them in representative_passages.csv), with the source lines to check:"),
            ("long_table", passages_table(model.representative_passages, labels[name])),
        ]
        blocks += [("figure", f) for f in figures if f.section == name]
    blocks.append(("h2", "Corpus"))
    if manifest.get("normalization"):
        blocks.append(("p", vocabulary_summary(manifest["normalization"], cfg.normalize.vocabulary)))
    warnings = warning_summary(run.ingest_report)
    if warnings:
        blocks.append(("p", warnings[0] + " " + "; ".join(line.strip() for line in warnings[1:]) + "."))
    blocks.append(("long_table", run.conferences[["conference_id", "date", "date_source", "title"]]))
    packages = ", ".join(f"{k} {v}" for k, v in manifest["packages"].items())
    seeds = manifest.get("seeds", {})
    blocks += [
        ("h2", "Reproducing and citing"),
        ("p", f"Packages: {packages}. Root seed {seeds.get('root')}; model seeds {seeds.get('models', {})}. "
              f"Inputs: {len(manifest['inputs'])} files, each with its SHA-256 in manifest.json."),
    ]
    if manifest.get("labels"):
        blocks.append(("p", f"Topic labels from `{manifest['labels']['file']}` "
                            f"(SHA-256 `{manifest['labels']['sha256']}`)."))
    return blocks


def to_markdown(blocks: list[Block], pdf: bool = True) -> str:
    parts = []
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append("#" * int(kind[1]) + f" {value}\n")
        elif kind == "p":
            parts.append(f"{value}\n")
        elif kind in ("table", "long_table"):
            parts.append(markdown_table(value))
        else:
            parts.append(f"![{value.caption}](figures/{value.stem}.png)\n\n*{value.caption}*"
                         + (f" ([PDF](figures/{value.stem}.pdf))" if pdf else "") + "\n")
    return "\n".join(parts)


def to_html(blocks: list[Block], png: Mapping[str, bytes], title: str) -> str:
    parts = []
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{_inline(str(value))}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{_inline(str(value))}</p>")
        elif kind == "table":
            parts.append(value.to_html(index=False, border=0, classes="table"))
        elif kind == "long_table":
            parts.append(f"<details><summary>{len(value)} rows (click to show)</summary>"
                         f"{value.to_html(index=False, border=0, classes='table')}</details>")
        else:
            data = base64.b64encode(png[value.stem]).decode("ascii")
            parts.append(f'<figure><img alt="{html.escape(value.caption)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{html.escape(value.caption)}</figcaption></figure>")
    style = ("body{font-family:Georgia,serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
             "table{border-collapse:collapse;font-size:.85rem;margin:1rem 0}td,th{border-bottom:1px solid #ccc;"
             "padding:.25rem .5rem;text-align:left;vertical-align:top}img{max-width:100%}"
             "figcaption{font-style:italic;font-size:.9rem}code{background:#f3f3f3}")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> str:
    """Escapes text and renders `code` spans and [links](to.html), the only inline markup the outline uses."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else _LINK.sub(r'<a href="\2">\1</a>', p)
                   for i, p in enumerate(pieces))
