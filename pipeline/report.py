"""``report.md`` (renders on a Git host) and a self-contained ``report.html`` from one outline.

The outline is a list of blocks (headings, paragraphs, tables, figures) built from a run's
saved tables; the two renderers only format it, so the two reports always say the same.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

import pandas as pd

from pipeline.config import CompareConfig, Config, EvaluateConfig, VocabularyConfig
from pipeline.figures import FigureSpec
from pipeline.rundir import Run
from pipeline.topic_tables import markdown_table

Block = tuple[str, object]


def plain_reading(row: pd.Series, column: str, label: str, compare: CompareConfig) -> str:
    """One sentence a reader can quote: who gives the topic how much more, with its interval."""
    direction = "more" if row["diff"] > 0 else "less"
    interval = f"{compare.bootstrap.level:.0%} CI {row['ci_low']:.2f} to {row['ci_high']:.2f}; BH q = {row['q_bh']:.3f}"
    if column == "speaker":
        sentence = (f"{row['group_a']} gives topic '{label}' {abs(row['diff']):.2f} {direction} of their answers "
                    f"than {row['group_b']} ({interval}).")
    else:
        sentence = (f"Answers with {column} {row['group_a']} give topic '{label}' {abs(row['diff']):.2f} {direction} "
                    f"of their content than those with {column} {row['group_b']} ({interval}).")
    small = min(row["n_answers_a"], row["n_answers_b"])
    return sentence + (f" Caution: one side has only {small} answer(s)." if small < compare.min_answers else "")


def seed_reading(holding: int, seeds: int) -> str:
    if seeds == 1:
        return "(Not checked across seeds.)"
    if holding <= 1:
        return f"Holds in {holding} of {seeds} seeds only: fragile, do not report it as a finding."
    return f"Holds in {holding} of {seeds} seeds (same sign, q below the threshold)."


def model_summary(metrics: Mapping[str, object], evaluate: EvaluateConfig) -> str:
    parts = [f"Topic diversity (top {evaluate.diversity_top_n}) {metrics['topic_diversity']:.2f}",
             f"mean coherence c_v {metrics['mean_coherence_c_v']:.3f}, c_npmi {metrics['mean_coherence_c_npmi']:.3f}, "
             f"u_mass {metrics['mean_coherence_u_mass']:.3f}"]
    if metrics.get("mean_stability") is not None:
        parts.append(f"mean stability {metrics['mean_stability']:.2f} over {metrics['stability_seeds']} seeds "
                     f"(top-{evaluate.stability_top_n} Jaccard after Hungarian matching; 1 = identical topics; the "
                     "reported fit is the best of these restarts by the model's own objective)")
    if metrics.get("mean_resample_stability") is not None:
        parts.append(f"resampling stability {metrics['mean_resample_stability']:.2f} over {metrics['resamples']} "
                     f"refits on {evaluate.resample_share:.0%} subsamples of the units")
    if "heldout_log_perplexity" in metrics:
        parts.append(
            f"held-out log perplexity per word {metrics['heldout_log_perplexity']:.2f} by document completion on "
            f"{metrics['heldout_units']} held-out units ({metrics['heldout_words']} words scored from the other "
            f"half of each unit; Wallach et al. 2009), against {metrics['heldout_unigram_log_perplexity']:.2f} for "
            f"a unigram model and {metrics['heldout_uniform_log_perplexity']:.2f} (log V) for uniform word choice; "
            f"lower is better")
    parts.append(f"{metrics['tokens_per_parameter']:.2f} tokens per topic-word parameter (tokens / (k × V))")
    return "; ".join(parts) + "."


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
            "co-occurrence in a text.")


def exploratory_note(metrics: Mapping[str, object]) -> str:
    return (f"Exploratory model: {metrics['exploratory_reason']}. Its topics may not reappear in a refit, so "
            "its comparisons below are descriptions of this fit, not findings.")


def outline(run: Run, cfg: Config, labels: Mapping[str, Mapping[int, str]],
            topics: Mapping[str, pd.DataFrame], figures: Sequence[FigureSpec]) -> list[Block]:
    manifest = run.manifest
    blocks: list[Block] = [
        ("h1", f"Topic report: run `{cfg.run.name}`"),
        ("p", f"Config SHA-256 `{manifest['config_sha256']}`; git commit `{manifest.get('git_commit')}`; "
              f"created {manifest['created_utc']}. `python -m pipeline run {cfg.run.output_dir}/{cfg.run.name}/"
              f"config.yaml --set run.name={cfg.run.name}-rerun` reproduces every table byte for byte."),
        ("h2", "Corpus"),
        ("table", run.conferences[["conference_id", "date", "date_source", "title"]]),
    ]
    if manifest.get("normalization"):
        blocks.append(("p", vocabulary_summary(manifest["normalization"], cfg.normalize.vocabulary)))
    any_model = next(iter(run.models.values()), None)
    if any_model is not None and "design_counts" in any_model.emphasis:
        design = any_model.emphasis["design_counts"]
        counts = design.assign(cell=design.n_answers.astype(str) + " / " + design.n_units.astype(str)).pivot(
            index="speaker", columns="year", values="cell").fillna("–").reset_index()
        counts.columns = [str(c) for c in counts.columns]
        blocks += [
            ("p", "Speaker × year design (answers / modelled units). Speaker and year are confounded: each "
                  "minister speaks in certain years only, so a speaker contrast is also a year contrast."),
            ("table", counts),
        ]
    blocks += [("figure", f) for f in figures if f.section == ""]
    for name, model in run.models.items():
        metrics = model.metrics
        blocks += [
            ("h2", f"Model `{name}` ({metrics['backend']}, k = {metrics['k']}, seed {metrics['seed']})"),
            ("table", topics[name]),
            *([("p", exploratory_note(metrics))] if metrics.get("exploratory") else []),
            ("p", model_summary(metrics, cfg.evaluate) + " " + coherence_setup(metrics) + " Per topic:"),
            ("table", model.topic_diagnostics.assign(topic_label=model.topic_diagnostics.topic.map(labels[name]))
             .round(3).drop(columns=["topic"])),
        ]
        blocks += [("figure", f) for f in figures if f.section == name]
        contrasts = model.emphasis.get("contrasts")
        if contrasts is None or contrasts.empty:
            continue
        blocks.append(("h3", "Contrasts"))
        for contrast_name, rows in contrasts.groupby("contrast", sort=False):
            column = next(iter(cfg.compare.contrasts[contrast_name]))
            significant = rows[rows.q_bh < cfg.compare.significance]
            if significant.empty:
                text = (f"`{contrast_name}`: no topic differs between {rows.group_a.iloc[0]} and "
                        f"{rows.group_b.iloc[0]} at BH q < {cfg.compare.significance:g}.")
                blocks.append(("p", text))
            held = model.emphasis.get("robustness")
            for _, row in significant.iterrows():
                text = f"`{contrast_name}`: " + plain_reading(row, column, labels[name][int(row.topic)], cfg.compare)
                if metrics.get("exploratory"):
                    text = "(Exploratory model, not a finding.) " + text
                if held is not None:
                    seeds = held[(held.contrast == contrast_name) & (held.topic == row.topic)].iloc[0]
                    text += f" {seed_reading(int(seeds.seeds_holding), int(seeds.seeds))}"
                blocks.append(("p", text))
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


def to_markdown(blocks: list[Block]) -> str:
    parts = []
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append("#" * int(kind[1]) + f" {value}\n")
        elif kind == "p":
            parts.append(f"{value}\n")
        elif kind == "table":
            parts.append(markdown_table(value))
        else:
            parts.append(f"![{value.caption}](figures/{value.stem}.png)\n\n*{value.caption}* "
                         f"([PDF](figures/{value.stem}.pdf))\n")
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


def _inline(text: str) -> str:
    """Escapes text and renders `code` spans, the only inline markup the outline uses."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))
