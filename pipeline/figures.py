"""Figures for papers, drawn from the saved tables (never recomputed here), and the catalogue
of a run's figures with their captions.

One style for all: 8-9 pt text at print size (``MIN_FONT`` and up), the Okabe-Ito
colour-blind-safe palette, every figure at the configured width (``figures.width``: one paper
column or a full page; layouts and label wrapping follow it), constrained layout so no text
is clipped. Every drawing function
returns a ``Figure``; saving is the run directory's business. Every number in a caption or
axis label comes from the config (interval level, small-group threshold, top-n).

Adding a figure: its drawing function and its entry in ``catalogue``.
"""

from __future__ import annotations

import dataclasses
import functools
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.collections
import matplotlib.patches
import matplotlib.ticker
import matplotlib.transforms

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pipeline.config import Config, FiguresConfig  # noqa: E402
from pipeline.design import column_words, plural  # noqa: E402
from pipeline.emphasis import contrast_interval_label, estimand_label, interval_label  # noqa: E402

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MIN_FONT = 8  # pt at print size: no text is drawn smaller
STYLE = {
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": MIN_FONT,
    "ytick.labelsize": MIN_FONT, "legend.fontsize": MIN_FONT, "legend.title_fontsize": MIN_FONT,
    "axes.spines.top": False, "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO), "pdf.fonttype": 42,
    # Titles sit just above their panel. Left to itself (titley None), matplotlib measures every
    # tick label of the panel at each layout pass to see whether a title must move above them;
    # no figure here has top ticks or an offset text, so the answer is always no, at about a
    # fifth of a grid figure's drawing time.
    "axes.titley": 1.0, "axes.formatter.useoffset": False,
}


def _wrap(label: str, width: int = 28) -> str:
    return "\n".join(textwrap.wrap(label, width, break_long_words=False, break_on_hyphens=False)) or label


GLYPH = 0.6  # em: an average glyph of DejaVu Sans, matplotlib's font, with room to spare


def _chars(inches: float, size: float = MIN_FONT) -> int:
    """About how many characters of ``size``-pt text fit in ``inches``."""
    return max(8, int(inches * 72 / (GLYPH * size)))


def _inches(text: str, size: float = MIN_FONT) -> float:
    """About how wide ``text`` runs at ``size`` pt (its longest line)."""
    return max(map(len, text.split("\n")), default=0) * GLYPH * size / 72


def _row_height(texts: Sequence[str], least: float) -> float:
    """The height one row of y tick labels needs: ``least``, or more for labels wrapped over lines."""
    lines = max((text.count("\n") + 1 for text in texts), default=1)
    return max(least, 0.14 * lines + 0.16)


def _share(value: float) -> str:
    """A share in a heatmap cell, as short as it reads: .42, 1 (the leading zero costs a column)."""
    text = f"{value:.2f}"
    return "1" if text == "1.00" else text.removeprefix("0")


def largest_groups(table: pd.DataFrame, limit: int) -> list[str]:
    """The ``limit`` groups with most answers, in the table's order (figures stay readable;
    the tables keep every group)."""
    answers = table.drop_duplicates("group").set_index("group").n_answers
    keep = set(answers.sort_values(ascending=False, kind="stable").index[:limit])
    return [g for g in dict.fromkeys(table.group) if g in keep]


def _grid_columns(n_topics: int, cfg: FiguresConfig) -> int:
    """Panels per row of a topic grid: 2 at column width; at page width 3 up to 9 topics, else 4."""
    return min(n_topics, 2 if cfg.width == "column" else 3 if n_topics <= 9 else 4)


def _topic_grid(topics: Sequence[int], labels: Mapping[int, str], cfg: FiguresConfig, *, row_height: float,
                shared: bool = False) -> tuple[Figure, list]:
    """A grid with one titled panel per topic (``_grid_columns`` to a row)."""
    columns = _grid_columns(len(topics), cfg)
    rows = int(np.ceil(len(topics) / columns))
    fig = _figure(cfg.inches, row_height * rows + 0.3)
    axes = fig.subplots(rows, columns, squeeze=False, sharex=shared, sharey=shared)
    panels = list(axes.flat[: len(topics)])
    for ax in axes.flat[len(topics):]:
        ax.set_visible(False)
    for ax, topic in zip(panels, topics):
        ax.set_title(_wrap(labels[topic], _chars(cfg.inches / columns - 0.2, 9)), loc="left")
    for ax in panels[-columns:]:
        ax.xaxis.set_tick_params(labelbottom=True)  # the bottom panel of each column keeps its x labels
    return fig, panels


def _figure(width: float, height: float) -> Figure:
    return plt.figure(figsize=(width, height), layout="constrained")


def _styled(function):
    @functools.wraps(function)  # also its qualified name, so a figure spec pickles by reference
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


@_styled
def top_terms_figure(topic_terms: pd.DataFrame, labels: Mapping[int, str], cfg: FiguresConfig) -> Figure:
    """A grid of horizontal bar charts: each topic's top terms by probability, each term
    written at the end of its bar (so the panel's title has the panel's whole width)."""
    topics = sorted(topic_terms.topic.unique())
    fig, panels = _topic_grid(topics, labels, cfg, row_height=0.16 * cfg.top_terms + 0.6)  # a line of 8 pt per bar
    panel = cfg.inches / _grid_columns(len(topics), cfg)
    for ax, topic in zip(panels, topics):
        terms = topic_terms[(topic_terms.topic == topic) & (topic_terms["rank"] <= cfg.top_terms)]
        ax.barh(range(len(terms)), terms.weight, color=OKABE_ITO[0])
        for row, (term, weight) in enumerate(zip(terms.term, terms.weight)):
            ax.text(weight, row, f" {term}", va="center", fontsize=MIN_FONT)
        # The bars take what the longest term leaves of the panel.
        label_share = min(0.75, (_inches(f" {max(terms.term, key=len)}") + 0.1) / max(panel - 0.2, 0.5))
        ax.set_xlim(0, terms.weight.max() / (1 - label_share))
        ax.set_ylim(len(terms) - 0.5, -0.5)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(2))
        ax.set_xlabel("p(term | topic)")
    return fig


def _topic_names(labels: Mapping[int, str], topics: Sequence[int], cfg: FiguresConfig) -> list[str]:
    """The topics' labels as a y axis shows them, wrapped to a third of the figure."""
    return [_wrap(labels[t], _chars(cfg.inches / 3)) for t in topics]


def _topic_axis(ax, names: Sequence[str]) -> None:
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)


@_styled
def emphasis_dot_figure(by_group: pd.DataFrame, labels: Mapping[int, str], cfg: FiguresConfig,
                        level: float = 0.95, title: str = "") -> Figure:
    """Dot-and-interval plot: topic on y, share on x, one colour per group; groups without an
    interval (too few answers or conferences) hollow."""
    topics = sorted(by_group.topic.unique())
    groups = largest_groups(by_group, cfg.max_groups)
    columns = 1 if cfg.width == "column" else min(2, len(groups))
    names = _topic_names(labels, topics, cfg)
    row = _row_height(names, 0.42)
    fig = _figure(cfg.inches, row * len(topics) + 0.9 + 0.15 * len(groups) / columns)
    ax = fig.add_subplot()
    offsets = np.linspace(-0.3, 0.3, len(groups)) if len(groups) > 1 else [0.0]
    for colour_index, (group, offset) in enumerate(zip(groups, offsets)):
        rows = by_group[by_group.group == group].set_index("topic").loc[topics]
        colour = OKABE_ITO[colour_index % len(OKABE_ITO)]
        small = bool(rows.flagged.iloc[0])
        y = np.arange(len(topics)) + offset
        ax.errorbar(rows.share, y, xerr=[rows.share - rows.ci_low, rows.ci_high - rows.share], fmt="none",
                    ecolor=colour, elinewidth=1, capsize=0)
        ax.scatter(rows.share, y, s=18, facecolors="white" if small else colour, edgecolors=colour, zorder=3,
                   label=_wrap(f"{group} ({plural(int(rows.n_answers.iloc[0]), 'answer')}, "
                               f"{plural(int(rows.n_conferences.iloc[0]), 'conference')}"
                               f"{'; no interval' if small else ''})", _chars(cfg.inches / columns - 0.4)))
    _topic_axis(ax, names)
    ax.set_xlabel(_wrap(f"Topic share, mean over answers ({level:.0%} interval over conferences; none for hollow "
                        "points)", _chars(cfg.inches * 0.6, 9)))
    ax.set_xlim(left=0)
    if title:
        ax.set_title(title, loc="left")
    fig.legend(loc="outside lower center", ncols=columns, frameon=False)
    return fig


@_styled
def emphasis_year_figure(by_year: pd.DataFrame, labels: Mapping[int, str], cfg: FiguresConfig) -> Figure:
    """Small multiples, one per topic: share by year with its interval as a band between years
    and as a bar at each year (a year next to one without an interval has no band to show). A
    year with no answers between two with answers breaks the line: nothing is drawn across it."""
    topics = sorted(by_year.topic.unique())
    fig, panels = _topic_grid(topics, labels, cfg, row_height=1.5, shared=True)
    observed = by_year.group.astype(int)
    every_year = pd.Index(range(observed.min(), observed.max() + 1), name="year")
    for ax, topic in zip(panels, topics):
        data = (by_year[by_year.topic == topic].assign(year=lambda frame: frame.group.astype(int))
                .set_index("year").reindex(every_year).reset_index())
        data["flagged"] = data.flagged.fillna(False)
        years = data.year
        ax.fill_between(years, data.ci_low, data.ci_high, color=OKABE_ITO[0], alpha=0.25, linewidth=0)
        ax.plot(years, data.share, color=OKABE_ITO[0], marker="o", markersize=3)
        bounded = data.ci_low.notna().to_numpy()
        ax.errorbar(years[bounded], data.share[bounded], yerr=[(data.share - data.ci_low)[bounded],
                                                              (data.ci_high - data.share)[bounded]],
                    fmt="none", color=OKABE_ITO[0], elinewidth=0.8)
        small = data.flagged.astype(bool)
        ax.scatter(years[small], data.share[small], s=16, facecolors="white", edgecolors=OKABE_ITO[0], zorder=3)
        ax.set_xticks(list(every_year) if len(every_year) <= 8 else list(every_year)[::2])
    fig.supylabel("Mean topic share", fontsize=9)
    return fig


@_styled
def contrast_figure(contrast: pd.DataFrame, labels: Mapping[int, str], cfg: FiguresConfig,
                    significance: float = 0.05, effects: pd.DataFrame | None = None) -> Figure:
    """Difference plot (as stm's plot.estimateEffect, method = "difference"): A minus B per topic
    within strata; filled where q < ``significance``, grey when the design cannot reach it; the
    joint model's estimate (``effects``) as a diamond beside it, with its interval if it has one."""
    topics = sorted(contrast.topic.unique())
    rows = contrast.set_index("topic").loc[topics]
    names = _topic_names(labels, topics, cfg)
    row = _row_height(names, 0.4)
    fig = _figure(cfg.inches, row * len(topics) + (2.2 if cfg.width == "column" else 1.4))
    ax = fig.add_subplot()
    y = np.arange(len(topics))
    testable = bool(rows.testable.iloc[0])
    significant = ((rows.q < significance) & rows.testable).to_numpy()
    colour = OKABE_ITO[0] if testable else "0.5"
    ax.axvline(0, color="0.4", linewidth=0.8, linestyle="--")
    ax.errorbar(rows.estimate, y, xerr=[rows.estimate - rows.ci_low, rows.ci_high - rows.estimate], fmt="none",
                ecolor=colour, elinewidth=1)
    ax.scatter(rows.estimate[~significant], y[~significant], s=18, facecolors="white", edgecolors=colour,
               zorder=3, label="q ≥ " + f"{significance:g}" if testable else "not testable at this level")
    if significant.any():
        ax.scatter(rows.estimate[significant], y[significant], s=22, color=OKABE_ITO[3], zorder=3,
                   label=f"q < {significance:g}")
    if effects is not None and not effects.empty:
        joint = effects.set_index("topic").loc[topics]
        ax.errorbar(joint.estimate, y + 0.25, xerr=[joint.estimate - joint.ci_low, joint.ci_high - joint.estimate],
                    fmt="none", ecolor=OKABE_ITO[2], elinewidth=1)
        ax.scatter(joint.estimate, y + 0.25, marker="D", s=14, color=OKABE_ITO[2], zorder=3,
                   label="joint model, " + ("conference held fixed" if joint.within_conferences.iloc[0]
                                            else "between conferences"))
    _topic_axis(ax, names)
    a, b, within = rows.group_a.iloc[0], rows.group_b.iloc[0], column_words(rows.within.iloc[0])
    # Bare points say why, on the figure itself: it travels without its caption.
    why = [f"no interval: {reason.removeprefix('none: ')}" for reason in dict.fromkeys(rows.interval.fillna(""))
           if reason.startswith("none")]
    if effects is not None and not effects.empty and effects.ci_low.isna().all():
        why.append("joint model " + effects.method.iloc[0].split(";")[0].split(" (")[0])
    # The axes span what the topic labels leave; the title starts at the axes' left edge.
    text_width = _chars(cfg.inches - max(map(_inches, names)) - 0.3, 9)
    ax.set_xlabel(_wrap(f"Difference in topic share: {a} minus {b}, within {within}s", text_width)
                  + (f"\n({_wrap('; '.join(why), text_width)})" if why else ""))
    ax.set_title(_wrap(f"{a} ({plural(int(rows.n_answers_a.iloc[0]), 'answer')}) vs "
                       f"{b} ({plural(int(rows.n_answers_b.iloc[0]), 'answer')}), "
                       f"within {plural(int(rows.n_strata.iloc[0]), within)} holding both", text_width), loc="left")
    fig.legend(loc="outside lower center", ncols=1 if cfg.width == "column" else 2, frameon=False)
    return fig


@_styled
def heatmap_figure(by_speaker_year: pd.DataFrame, labels: Mapping[int, str], cfg: FiguresConfig) -> Figure:
    """Topics x (speaker, year) shares, each cell printed; the answers behind each column in its
    label. Only as many of the largest groups as fit a cell of 8 pt text (the table keeps all)."""
    cells = cfg.inches - cfg.inches / 3 - 0.9  # what the topic labels and the colour bar leave
    groups = largest_groups(by_speaker_year, min(cfg.max_groups, max(2, int(cells / 0.3))))
    table = by_speaker_year.pivot(index="topic", columns="group", values="share")[groups]
    answers = by_speaker_year.drop_duplicates("group").set_index("group").n_answers
    names = _topic_names(labels, table.index, cfg)
    row = _row_height(names, 0.35)
    fig = _figure(cfg.inches, row * len(table) + 1.6)
    ax = fig.add_subplot()
    values = table.to_numpy()
    image = ax.imshow(values, cmap="cividis", aspect="auto", vmin=0)
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, _share(value), ha="center", va="center", fontsize=MIN_FONT,
                color="black" if value > values.max() * 0.6 else "white")
    if cells / len(groups) >= 0.75:  # wide columns: each label wrapped under its column
        ax.set_xticks(range(len(groups)), [_wrap(g.replace(" | ", " "), 12) + f"\nn = {answers[g]}" for g in groups])
    else:  # narrow ones: each label one upright line
        ax.set_xticks(range(len(groups)), [f"{g.replace(' | ', ' ')} (n = {answers[g]})" for g in groups], rotation=90)
    ax.set_yticks(range(len(table)), names)
    ax.spines[:].set_visible(False)
    fig.colorbar(image, ax=ax, label="Topic share, mean over answers", shrink=0.8)
    return fig


@_styled
def alignment_figure(pairs: pd.DataFrame, labels_a: Mapping[int, str], labels_b: Mapping[int, str],
                     cfg: FiguresConfig, threshold: float) -> Figure:
    """Cosine similarity of two models' topics; Hungarian matches at or above ``threshold`` boxed."""
    model_a, model_b = pairs.model_a.iloc[0], pairs.model_b.iloc[0]
    matrix = pairs.pivot(index="topic_a", columns="topic_b", values="cosine")
    names = _topic_names(labels_a, matrix.index, cfg)
    row = _row_height(names, 0.38)
    fig = _figure(cfg.inches, row * len(matrix) + 2.4)
    ax = fig.add_subplot()
    image = ax.imshow(matrix.to_numpy(), cmap="cividis", vmin=0, vmax=1, aspect="auto")
    for row in pairs[pairs.matched].itertuples():
        strong = row.found_by_both
        ax.add_patch(matplotlib.patches.Rectangle((row.topic_b - 0.5, row.topic_a - 0.5), 1, 1, fill=False,
                                                  edgecolor=OKABE_ITO[1] if strong else "0.6",
                                                  linewidth=2 if strong else 1, linestyle="-" if strong else ":"))
        ax.text(row.topic_b, row.topic_a, _share(row.cosine), ha="center", va="center", fontsize=MIN_FONT,
                color="black" if row.cosine > 0.6 else "white")
    ax.set_yticks(range(len(matrix)), names)
    # Upright, one line each: a column is a line of text wide.
    ax.set_xticks(range(matrix.shape[1]), [labels_b[t] for t in matrix.columns], rotation=90)
    ax.set_ylabel(f"{model_a} topics")
    ax.set_xlabel(_wrap(f"{model_b} topics (boxed: matched; solid: cosine >= {threshold:g}, found by both)",
                        _chars(cfg.inches * 0.6, 9)))
    ax.spines[:].set_visible(False)
    fig.colorbar(image, ax=ax, label="Cosine similarity of topic-term rows", shrink=0.8)
    return fig


@_styled
def responsiveness_figure(summary: pd.DataFrame, cfg: FiguresConfig, level: float = 0.95) -> Figure:
    """Per official: the mean divergence of answers from their questions (beside it, as a cross,
    from the other questions of their conference: the chance baseline) and the mean share of an
    answer on the question's largest topic, with intervals (none, hollow, for small groups)."""
    by_speaker = summary[summary.by == "speaker"]
    groups = list(dict.fromkeys(by_speaker.sort_values("n_answers", ascending=False, kind="stable").group))
    groups = groups[: cfg.max_groups]
    column = cfg.width == "column"
    fig = _figure(cfg.inches, (0.6 * len(groups) + 2.4) if column else (0.3 * len(groups) + 1.3))
    panels = fig.subplots(2, 1) if column else fig.subplots(1, 2, sharey=True)
    titles = {"js_divergence": "Jensen-Shannon divergence, question vs answer (bits; x: from the other questions "
                               "of the conference)",
              "share_on_question_topic": "Share of the answer on the question's top topic"}
    for ax, (measure, title) in zip(panels, titles.items()):
        rows = by_speaker[by_speaker.measure == measure].set_index("group").loc[groups]
        y = np.arange(len(groups))
        ax.errorbar(rows["mean"], y, xerr=[rows["mean"] - rows.ci_low, rows.ci_high - rows["mean"]], fmt="none",
                    ecolor=OKABE_ITO[0], elinewidth=1)
        small = rows.interval.str.startswith("none").to_numpy()
        ax.scatter(rows["mean"], y, s=18, facecolors=np.where(small, "white", OKABE_ITO[0]), edgecolors=OKABE_ITO[0],
                   zorder=3)
        if measure == "js_divergence":
            baseline = by_speaker[by_speaker.measure == "js_other_questions"].set_index("group")["mean"]
            ax.scatter(baseline.reindex(groups), y, marker="x", s=22, color=OKABE_ITO[1], zorder=3)
        ax.set_xlabel(_wrap(title, _chars(cfg.inches * (0.55 if column else 0.3), 9)))
        ax.set_xlim(0, 1)
    for ax in panels[: 2 if column else 1]:
        ax.set_yticks(range(len(groups)), [f"{g} ({plural(int(n), 'answer')})" for g, n in zip(
            groups, by_speaker.drop_duplicates("group").set_index("group").n_answers.loc[groups])])
        ax.invert_yaxis()
    return fig


def spread_labels(y: np.ndarray, gap: float) -> np.ndarray:
    """Label heights at least ``gap`` apart, each as near its point as the others allow (points
    taken in order of height; labels pushed up, then the block shifted back to centre)."""
    order = np.argsort(y, kind="stable")
    placed = np.array(y[order], dtype=float)
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    placed -= (placed - y[order]).mean() if len(placed) else 0.0
    result = np.empty_like(placed)
    result[order] = placed
    return result


@_styled
def distinctive_figure(table: pd.DataFrame, top_n: int, cfg: FiguresConfig) -> Figure:
    """Monroe et al.'s plot: z against log frequency for every word, guides at |z| = 2 and 3,
    the words beyond 3 coloured by the side that uses them more, and the ``top_n`` words of each
    side labelled in a column beside the cloud, so no two labels overlap.

    Each leader runs level from its word to the edge of the cloud, then slants to its label:
    the slants keep the order of the labels, which keep the order of the words, so no two
    leaders cross.
    """
    overall = table[table.scope == "overall"]
    a, b = overall.group_a.iloc[0], overall.group_b.iloc[0]
    frequency = np.log10(overall.count_a + overall.count_b)
    fig = _figure(cfg.inches, 4.2 if cfg.width == "page" else 4.6)
    ax = fig.add_subplot()
    beyond_a, beyond_b = (overall.z > 3).to_numpy(), (overall.z < -3).to_numpy()
    plain = ~(beyond_a | beyond_b)
    ax.scatter(frequency[plain], overall.z[plain], s=4, color="0.7", linewidths=0)
    ax.scatter(frequency[beyond_a], overall.z[beyond_a], s=7, color=OKABE_ITO[0], linewidths=0,
               label=_wrap(f"z > 3: more used by {a}", _chars(cfg.inches / 3)))
    ax.scatter(frequency[beyond_b], overall.z[beyond_b], s=7, color=OKABE_ITO[3], linewidths=0,
               label=_wrap(f"z < -3: more used by {b}", _chars(cfg.inches / 3)))
    ax.axhline(0, color="0.4", linewidth=0.6)
    for level in (-3, 3):
        ax.axhline(level, color="0.4", linewidth=0.6, linestyle="--", label="|z| = 3" if level > 0 else None)
    for level in (-2, 2):
        ax.axhline(level, color="0.6", linewidth=0.5, linestyle=":", label="|z| = 2" if level > 0 else None)
    cloud = frequency.max() - frequency.min() + 1e-9
    elbow = frequency.max() + 0.04 * cloud
    right = elbow + 0.12 * cloud
    span = max(overall.z.max(), 1) - min(overall.z.min(), -1)
    low, high = min(overall.z.min(), -1), max(overall.z.max(), 1)
    longest = 0
    for side, chosen in (("a", overall.nlargest(top_n, "z")), ("b", overall.nsmallest(top_n, "z"))):
        chosen = chosen[(chosen.z > 0) if side == "a" else (chosen.z < 0)]
        heights = spread_labels(chosen.z.to_numpy(), 0.05 * span)
        if len(heights):
            low, high = min(low, heights.min()), max(high, heights.max())
        points = np.column_stack([np.log10(chosen.count_a + chosen.count_b), chosen.z])
        # Plain text and one collection of leader lines: an annotation with an arrow per word
        # costs as much to lay out as the rest of the figure.
        ax.add_collection(matplotlib.collections.LineCollection(
            [[(x, z), (elbow, z), (right, height)] for (x, z), height in zip(points, heights)], colors="0.6",
            linewidths=0.4))
        beside = matplotlib.transforms.offset_copy(ax.transData, fig, x=2, units="points")
        for term, height in zip(chosen.term, heights):
            ax.text(right, height, term, fontsize=MIN_FONT, va="center", transform=beside)
            longest = max(longest, len(term))
    ax.set_xlabel(_wrap("log10 frequency of the word in both groups' answers", _chars(cfg.inches - 1.0, 9)))
    ax.set_ylabel(_wrap(f"z: {a} (above) vs {b} (below)", 40))
    # The labels' column takes the share of the axes its longest label needs (the axes span
    # the figure less about an inch of y label and ticks).
    label_share = min(0.6, (_inches("x" * longest) + 0.2) / (cfg.inches - 1.0))
    points_span = right - frequency.min()
    ax.set_xlim(frequency.min() - 0.02 * cloud, right + points_span * label_share / (1 - label_share))
    ax.set_ylim(low - 0.03 * span, high + 0.03 * span)
    fig.legend(loc="outside lower center", ncols=2 if cfg.width == "column" else 4, frameon=False)
    return fig


@_styled
def corpus_overview_figure(cells: pd.DataFrame, cfg: FiguresConfig) -> Figure:
    """Answers per speaker, split by year (stacked bars); statements, their own genre, in the labels."""
    per_speaker = cells.groupby("speaker")[["n_answers", "n_statements"]].sum()
    shown = per_speaker.n_answers.sort_values(ascending=False, kind="stable").index[: cfg.max_groups]
    table = cells[cells.speaker.isin(shown)].assign(year=cells.year.astype("string").fillna("undated")).pivot_table(
        index="speaker", columns="year", values="n_answers", aggfunc="sum", fill_value=0).loc[list(shown)]
    fig = _figure(cfg.column_width, 0.35 * len(table) + 1.1)
    ax = fig.add_subplot()
    left = np.zeros(len(table))
    for index, year in enumerate(table.columns):
        ax.barh(range(len(table)), table[year], left=left, color=OKABE_ITO[index % len(OKABE_ITO)], label=str(year))
        left += table[year].to_numpy()
    statements = per_speaker.n_statements
    ax.set_yticks(range(len(table)), [s + (f" (+{statements[s]} statement{'s' if statements[s] > 1 else ''})"
                                           if statements[s] else "") for s in table.index])
    ax.set_xlabel("Answers")
    fig.legend(loc="outside lower center", ncols=min(len(table.columns), 4), frameon=False, title="Year")
    return fig


@_styled
def model_selection_figure(summary: pd.DataFrame, cfg: FiguresConfig, diversity_top_n: int = 25) -> Figure:
    """Coherence, diversity, stability and (LDA) held-out perplexity against k, one line per
    backend, bands spanning the seeds' minimum to maximum."""
    panels = [("c_v", "Coherence c_v"), ("c_npmi", "Coherence c_npmi"),
              ("diversity", f"Topic diversity (top {diversity_top_n})"),
              ("stability", "Resampling stability"),
              ("heldout_log_perplexity", "Held-out log perplexity (LDA, completion)")]
    column = cfg.width == "column"
    fig = _figure(cfg.inches, 6.0 if column else 4.2)
    axes = fig.subplots(3 if column else 2, 2 if column else 3, squeeze=False).flat
    for ax, (measure, title) in zip(axes, panels):
        for index, (backend, rows) in enumerate(summary.groupby("backend", sort=True)):
            colour = OKABE_ITO[index % len(OKABE_ITO)]
            rows = rows.sort_values("k")
            values = rows[measure] if measure == "stability" else rows[f"{measure}_mean"]
            if values.isna().all():
                continue
            ax.plot(rows.k, values, marker="o", markersize=3, color=colour, label=backend)
            if measure != "stability":
                ax.fill_between(rows.k, rows[f"{measure}_min"], rows[f"{measure}_max"], color=colour, alpha=0.2,
                                linewidth=0)
        ax.set_title(title, loc="left")
        ax.set_xlabel("k")
        ax.set_xticks(sorted(summary.k.unique()))
    axes[5].set_visible(False)
    handles, names = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=len(names), frameon=False)
    return fig


@dataclass(frozen=True)
class FigureSpec:
    """One figure of a run: file stem, caption, the report section it belongs to (a model's
    name, or "" for the corpus), and the call that draws it."""

    stem: str
    caption: str
    section: str
    function: Callable[..., Figure]
    arguments: tuple[Any, ...]
    stamp: str = ""  # printed on the figure itself (it travels with the PNG, the caption may not)

    def draw(self) -> Figure:
        return stamped(self.function(*self.arguments), self.stamp)


def stamped(fig: Figure, stamp: str) -> Figure:
    """The figure with ``stamp`` above everything else, in small vermilion type."""
    if stamp:
        with plt.rc_context(STYLE):
            # Wrapped to the figure's width, a long stamp keeps a column-wide figure column-wide
            # (the saved bounding box would otherwise widen the image to hold it).
            fig.suptitle(_wrap(stamp, _chars(fig.get_figwidth() - 0.2)), x=0.01, ha="left", fontsize=MIN_FONT,
                         color=OKABE_ITO[3])
    return fig


def chance_caption(chance: pd.DataFrame, contrast: str) -> str:
    """The count beyond |z| = 3 against its permutation null, for a figure caption."""
    row = chance.set_index("contrast").loc[contrast] if contrast in set(chance.contrast) else None
    if row is None or not int(row.permutations):
        return "no permutation null for this contrast"
    return (f"{int(row.observed)} words beyond, {row.expected:.1f} expected by chance with answers shuffled "
            f"within the design's blocks, permutation p = {row.p:.2f}")


def catalogue(models: Mapping[str, Any], alignment: pd.DataFrame | None, design_cells: pd.DataFrame,
              labels: Mapping[str, Mapping[int, str]], cfg: Config,
              distinctive: Mapping[str, pd.DataFrame] | None = None,
              distinctive_chance: pd.DataFrame | None = None) -> list[FigureSpec]:
    """Every figure of a run, from its saved tables (``models``: name -> ``ModelTables``)."""
    figures_cfg, compare, distinctive = cfg.figures, cfg.compare, distinctive or {}
    estimand = f"Share: {estimand_label(compare)}"
    interval = (f"{interval_label(compare)}, only for groups of at least {compare.min_answers} answers in at least "
                f"{compare.min_conferences} conferences")
    specs: list[FigureSpec] = []
    if not design_cells.empty:
        specs.append(FigureSpec("corpus_overview", "Answers per speaker and year (opening statements, their own "
                                "genre, in the labels).", "", corpus_overview_figure, (design_cells, figures_cfg)))
    for name, model in models.items():
        emphasis, topic_labels = model.emphasis, labels[name]
        start = len(specs)
        specs.append(FigureSpec(f"top_terms_{name}", f"Top terms per topic, model {name}.", name,
                                top_terms_figure, (model.topic_terms, topic_labels, figures_cfg)))
        if not emphasis.get("by_speaker", pd.DataFrame()).empty:
            specs.append(FigureSpec(
                f"emphasis_speaker_{name}", f"Topic shares by speaker, model {name}. {estimand}; {interval} "
                f"(hollow: fewer, no interval).", name,
                emphasis_dot_figure, (emphasis["by_speaker"], topic_labels, figures_cfg, compare.level)))
        if not emphasis.get("by_year", pd.DataFrame()).empty:
            specs.append(FigureSpec(f"emphasis_year_{name}", f"Topic shares by year, model {name}. {estimand}; "
                                    f"band and bars: {interval} (hollow: fewer, no interval); a year with no answers "
                                    "breaks the line.",
                                    name, emphasis_year_figure, (emphasis["by_year"], topic_labels, figures_cfg)))
        if not emphasis.get("by_speaker_year", pd.DataFrame()).empty:
            specs.append(FigureSpec(f"heatmap_speaker_year_{name}", f"Topic shares by speaker and year, model {name}, "
                                    f"n answers per column. {estimand}.",
                                    name, heatmap_figure, (emphasis["by_speaker_year"], topic_labels, figures_cfg)))
        effects = emphasis.get("effects", pd.DataFrame(columns=["contrast"]))
        for contrast_name, rows in emphasis["contrasts"].groupby("contrast", sort=False):
            unit = rows.unit.iloc[0]
            specs.append(FigureSpec(
                f"contrast_{contrast_name}_{name}", f"Contrast {contrast_name}, model {name}: difference in "
                f"topic share within {rows.within.iloc[0]} (stratified). {estimand}; "
                f"{contrast_interval_label(compare, unit)}, where each side has at least {compare.min_answers} "
                f"{unit}s; q: {compare.multiplicity.upper()} over every model, contrast and topic of the run. "
                "Diamonds: the joint model (effects.csv; an interval from "
                f"{compare.min_clusters} conferences).", name,
                contrast_figure, (rows, topic_labels, figures_cfg, compare.significance,
                                  effects[effects.contrast == contrast_name])))
        summary = model.responsiveness.get("summary", pd.DataFrame())
        if not summary.empty and (summary.by == "speaker").any():
            specs.append(FigureSpec(
                f"responsiveness_{name}", f"Do answers follow their questions? Model {name}: per official, the mean "
                f"over answers of the Jensen-Shannon divergence between the question's and the answer's topic mixture "
                f"(the question's inferred with the fitted model; crosses: the mean divergence from the other questions "
                f"of the same conference, the chance baseline) and of the answer's share on the question's largest "
                f"topic; {interval_label(compare)}, only for officials with at least {compare.min_answers} answers "
                f"in {compare.min_conferences} conferences (hollow: fewer).", name, responsiveness_figure,
                (summary, figures_cfg, compare.level)))
        if model.metrics.get("exploratory"):
            note = f"Exploratory model ({model.metrics['exploratory_reason']})"
            specs[start:] = [spec if spec.section == "" else dataclasses.replace(
                spec, caption=f"{note}: {spec.caption}", stamp=f"{note}: not a finding") for spec in specs[start:]]
    for contrast_name, table in distinctive.items():
        strata = int(table.n_strata.iloc[0]) if len(table) else 0
        specs.append(FigureSpec(
            f"distinctive_{contrast_name}", f"Distinctive words, contrast {contrast_name}: weighted log-odds with an "
            f"informative Dirichlet prior (Monroe, Colaresi & Quinn 2008; prior worth {cfg.distinctive.prior_strength:g}"
            f" tokens), z against frequency in the compared answers"
            + (f", pooled over {strata} {table.within.iloc[0]} strata" if strata else "") + "; the "
            f"{cfg.distinctive.top_n} words of each side labelled; dashed at |z| = 3"
            + (f" ({chance_caption(distinctive_chance, contrast_name)})" if distinctive_chance is not None else "")
            + ".", "distinctive",
            distinctive_figure, (table, cfg.distinctive.top_n, figures_cfg)))
    if alignment is not None:
        for (model_a, model_b), pairs in alignment.groupby(["model_a", "model_b"], sort=False):
            specs.append(FigureSpec(
                f"alignment_{model_a}_{model_b}", f"Agreement of {model_a} and {model_b} topics "
                "(cosine similarity over the shared vocabulary, Hungarian matching).", model_b,
                alignment_figure, (pairs, labels[model_a], labels[model_b], figures_cfg,
                                   cfg.evaluate.alignment_threshold)))
    return specs
