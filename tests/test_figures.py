"""Every figure function on the bundled run: the axes carry the expected topic and group labels."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import LineCollection

from pipeline import figures
from pipeline.config import FiguresConfig
from pipeline.labels import topic_labels
from pipeline.rundir import load_run

SPEAKERS = ["Jin Zhuanglong", "Tao Qing", "Tian Yulong", "Xiao Yaqing"]


@pytest.fixture(scope="module")
def model(default_runs):
    return load_run(default_runs / "a").models["nmf"]


@pytest.fixture(scope="module")
def labels(model):
    return topic_labels(model.topic_terms, {2: "Technological self-reliance"})


def texts(items) -> list[str]:
    return [item.get_text().replace("\n", " ") for item in items]


def test_top_terms_grid(model, labels):
    fig = figures.top_terms_figure(model.topic_terms, labels, FiguresConfig())
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left").replace("\n", " ") for ax in panels] == [labels[t] for t in range(8)]
    first_terms = model.topic_terms.query("topic == 0 and rank <= 8")
    assert [t.strip() for t in texts(panels[0].texts)] == first_terms.term.tolist()  # at the end of each bar
    assert [t.get_position()[0] for t in panels[0].texts] == pytest.approx(first_terms.weight.tolist())
    assert fig.get_figwidth() == pytest.approx(7.0)
    column = figures.top_terms_figure(model.topic_terms, labels, FiguresConfig(width="column"))
    assert column.get_figwidth() == pytest.approx(3.5)
    assert len({round(ax.get_position().x0, 2) for ax in column.axes if ax.get_visible()}) == 2  # two columns


def test_emphasis_by_speaker_dots(model, labels):
    fig = figures.emphasis_dot_figure(model.emphasis["by_speaker"], labels, FiguresConfig())
    ax = fig.axes[0]
    assert texts(ax.get_yticklabels()) == [labels[t] for t in range(8)]
    legend = texts(fig.legends[0].get_texts())
    assert [entry.split(" (")[0] for entry in legend] == SPEAKERS
    # Xiao's 9 answers come from one conference: no interval, as for Jin and Tao (one answer each)
    # and Tian (4 answers in 2 conferences).
    assert "Jin Zhuanglong (1 answer, 1 conference; no interval)" in legend
    assert "Xiao Yaqing (9 answers, 1 conference; no interval)" in legend

    def hollow(figure) -> int:
        return len([c for c in figure.axes[0].collections if hasattr(c, "get_facecolors") and len(c.get_facecolors())
                    and tuple(c.get_facecolors()[0][:3]) == (1.0, 1.0, 1.0)])

    assert hollow(fig) == 4
    # A group with an interval is drawn filled, with its bar.
    table = model.emphasis["by_speaker"].copy()
    xiao = table.group == "Xiao Yaqing"
    table.loc[xiao, ["ci_low", "ci_high", "flagged"]] = [0.01, 0.5, False]
    with_interval = figures.emphasis_dot_figure(table, labels, FiguresConfig())
    assert hollow(with_interval) == 3 and "Xiao Yaqing (9 answers, 1 conference)" in texts(
        with_interval.legends[0].get_texts())


def test_emphasis_by_year_small_multiples(model, labels):
    fig = figures.emphasis_year_figure(model.emphasis["by_year"], labels, FiguresConfig())
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left").replace("\n", " ") for ax in panels] == [labels[t] for t in range(8)]
    # 2022 has a statement, no answer: its tick is there, and no line runs through it.
    assert [float(x) for x in panels[-1].get_xticks()] == [2021.0, 2022.0, 2023.0]
    for ax in panels:
        line = ax.get_lines()[0]
        assert list(line.get_xdata()) == [2021, 2022, 2023] and np.isnan(line.get_ydata()[1])
    # No year has an interval on the bundled run (one conference each); with one for 2021 and none
    # for 2023 there is no band, and 2021's interval is a bar.
    by_year = model.emphasis["by_year"].copy()
    assert by_year.ci_low.isna().all()
    in_2021 = by_year.group == "2021"
    by_year.loc[in_2021, "ci_low"], by_year.loc[in_2021, "ci_high"] = by_year.share[in_2021] / 2, by_year.share[in_2021] * 2
    by_year.loc[in_2021, "flagged"] = False
    fig = figures.emphasis_year_figure(by_year, labels, FiguresConfig())
    panels = [ax for ax in fig.axes if ax.get_visible()]
    for topic, ax in enumerate(panels):
        row = by_year[(by_year.topic == topic) & (by_year.group == "2021")].iloc[0]
        bars = [segment for c in ax.collections if isinstance(c, LineCollection) for segment in c.get_segments()]
        assert len(bars) == 1 and np.allclose(bars[0], [[2021, row.ci_low], [2021, row.ci_high]])


def test_contrast_difference_plot(model, labels):
    rows = model.emphasis["contrasts"].query("contrast == 'xiao_vs_tian'")
    fig = figures.contrast_figure(rows, labels, FiguresConfig(), 0.05)
    ax = fig.axes[0]
    assert texts(ax.get_yticklabels()) == [labels[t] for t in range(8)]
    # The bare points say why on the figure: too few answers on Tian's side for an interval.
    assert " ".join(ax.get_xlabel().split()) == ("Difference in topic share: Xiao Yaqing minus Tian Yulong, within "
                                                 "conferences (no interval: 3 answers on the smaller side, fewer than 5)")
    # Within the one conference both answer at: Xiao's 9 answers there against Tian's 3.
    assert " ".join(ax.get_title(loc="left").split()) == ("Xiao Yaqing (9 answers) vs Tian Yulong (3 answers), "
                                                          "within 1 conference holding both")
    assert any(line.get_xdata()[0] == 0 for line in ax.get_lines())  # the zero line
    assert texts(fig.legends[0].get_texts()) == ["q ≥ 0.05"]
    effects = model.emphasis["effects"].query("contrast == 'xiao_vs_tian'")
    with_joint = figures.contrast_figure(rows, labels, FiguresConfig(), 0.05, effects)
    assert texts(with_joint.legends[0].get_texts()) == ["q ≥ 0.05", "joint model, conference held fixed"]
    assert " ".join(with_joint.axes[0].get_xlabel().split()).endswith(
        "joint model estimate only: 3 conferences, fewer than 20, too few for clustered errors)")
    untestable = model.emphasis["contrasts"].query("contrast == 'y2021_vs_2023'")
    legend = figures.contrast_figure(untestable, labels, FiguresConfig(), 0.05).legends[0]
    assert texts(legend.get_texts()) == ["not testable at this level"]


def test_heatmap_prints_every_share_and_the_answers_behind_each_column(model, labels):
    table = model.emphasis["by_speaker_year"]
    fig = figures.heatmap_figure(table, labels, FiguresConfig())
    ax = fig.axes[0]
    assert texts(ax.get_yticklabels()) == [labels[t] for t in range(8)]
    assert texts(ax.get_xticklabels()) == ["Jin Zhuanglong 2023 n = 1", "Tao Qing 2023 n = 1", "Tian Yulong 2021 n = 3",
                                           "Tian Yulong 2023 n = 1", "Xiao Yaqing 2021 n = 9"]
    assert len(ax.texts) == len(table)
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.2f}".removeprefix("0") for v in table.share)


def test_heatmap_stays_legible_with_many_groups(labels):
    import pandas as pd

    groups = [f"Official number {i} | {2010 + i}" for i in range(14)]
    table = pd.DataFrame([{"group": g, "topic": t, "share": 0.125, "n_answers": 20 - i}
                          for i, g in enumerate(groups) for t in range(8)])
    fig = figures.heatmap_figure(table, labels, FiguresConfig())
    ax = fig.axes[0]
    assert len(ax.get_xticklabels()) == FiguresConfig().max_groups  # the 10 largest groups; the table keeps all
    assert min(t.get_fontsize() for t in ax.texts + ax.get_xticklabels()) >= figures.MIN_FONT
    assert all(label.get_rotation() == 90 for label in ax.get_xticklabels())  # narrow columns: upright lines
    assert fig.get_figwidth() == FiguresConfig().page_width
    column = figures.heatmap_figure(table, labels, FiguresConfig(width="column")).axes[0]
    assert texts(column.get_xticklabels()) == [f"{g.replace(' | ', ' ')} (n = {20 - i})" for i, g in enumerate(groups[:4])]


def test_distinctive_words_plot_labels_each_side_without_overlap(default_runs):
    table = load_run(default_runs / "a").distinctive["xiao_vs_tian"]
    overall = table[table.scope == "overall"]
    fig = figures.distinctive_figure(table, 15, FiguresConfig())
    ax = fig.axes[0]
    texts_by_height = sorted(ax.texts, key=lambda t: t.get_position()[1])
    assert len(texts_by_height) == 30
    assert texts_by_height[0].get_text() == overall.nsmallest(1, "z").term.iloc[0]  # artificial_intelligence
    assert texts_by_height[-1].get_text() == overall.nlargest(1, "z").term.iloc[0]  # steel
    heights = np.array([t.get_position()[1] for t in texts_by_height])
    # each label's leader runs level from its word's point to the cloud's edge, then to the label
    words = overall.set_index("term")
    leaders = np.array([leader for c in ax.collections if isinstance(c, LineCollection) for leader in c.get_segments()])
    assert leaders.shape == (30, 3, 2)
    for text in texts_by_height:
        word = words.loc[text.get_text()]
        start, elbow, end = leaders[np.abs(leaders[:, 2] - text.get_position()).sum(axis=1).argmin()]
        assert np.allclose(end, text.get_position())
        assert np.allclose(start, (np.log10(word.count_a + word.count_b), word.z)) and elbow[1] == start[1]
    # No two leaders cross: the level parts never do, and the slants keep the words' order.
    order = np.argsort(leaders[:, 1, 1], kind="stable")
    assert (np.diff(leaders[order, 2, 1]) >= 0).all() and len(set(leaders[:, 1, 0])) == 1
    span = max(overall.z.max(), 1) - min(overall.z.min(), -1)
    assert (np.diff(heights) >= 0.045 * span - 1e-9).all()  # one label per line: none overlaps another
    low, high = ax.get_ylim()
    assert low <= heights.min() and heights.max() <= high
    # Guides: dashed at |z| = 3, dotted at 2; the words beyond 3 coloured by side, in the legend;
    # the null count in the caption.
    assert sorted(line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "--") == [-3, 3]
    assert sorted(line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":") == [-2, 2]
    sides = {c.get_label().replace("\n", " "): len(c.get_offsets()) for c in ax.collections
             if c.get_label().startswith("z ")}
    assert sides == {"z > 3: more used by Xiao Yaqing": int((overall.z > 3).sum()),
                     "z < -3: more used by Tian Yulong": int((overall.z < -3).sum())}
    assert texts(fig.legends[0].get_texts()) == [*sides, "|z| = 3", "|z| = 2"]
    chance = load_run(default_runs / "a").distinctive_chance
    row = chance.set_index("contrast").loc["xiao_vs_tian"]
    assert figures.chance_caption(chance, "xiao_vs_tian") == (
        f"{int(row.observed)} words beyond, {row.expected:.1f} expected by chance with answers shuffled within the "
        f"design's blocks, permutation p = {row.p:.2f}")
    assert figures.chance_caption(chance, "absent") == "no permutation null for this contrast"


@pytest.mark.parametrize("width", ["page", "column"])
def test_every_figure_fits_its_width_with_text_of_at_least_8_pt(default_runs, width):
    """Every figure of the run, drawn at the configured width: nothing reaches past it (the saved
    box would widen the image), and no text is smaller than 8 pt at that print size."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from pipeline.config import validate

    run = load_run(default_runs / "a")
    cfg = validate({**run.config, "figures": {**run.config.get("figures", {}), "width": width}})
    labels = {name: topic_labels(m.topic_terms) for name, m in run.models.items()}
    specs = figures.catalogue(run.models, run.alignment, run.design["cells"], labels, cfg, run.distinctive,
                              run.distinctive_chance)
    assert len(specs) == 18
    for spec in specs:
        fig = spec.draw()
        fig.canvas.draw()
        box = fig.get_tightbbox()
        assert box.width <= (cfg.figures.column_width if spec.stem == "corpus_overview" else cfg.figures.inches) + 0.02, \
            spec.stem
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(sizes) >= figures.MIN_FONT, spec.stem
        plt.close(fig)


def test_alignment_names_the_topics_of_both_models(default_runs):
    run = load_run(default_runs / "a")
    labels = {name: topic_labels(m.topic_terms) for name, m in run.models.items()}
    fig = figures.alignment_figure(run.alignment, labels["lda"], labels["nmf"], FiguresConfig(), 0.5)
    ax = fig.axes[0]
    assert texts(ax.get_yticklabels()) == [labels["lda"][t] for t in range(8)]
    assert texts(ax.get_xticklabels()) == [labels["nmf"][t] for t in range(8)]


def test_corpus_overview(default_runs):
    fig = figures.corpus_overview_figure(load_run(default_runs / "a").design["cells"], FiguresConfig())
    ax = fig.axes[0]
    assert texts(ax.get_yticklabels()) == ["Xiao Yaqing (+2 statements)", "Tian Yulong", "Jin Zhuanglong",
                                           "Tao Qing"]
    assert fig.get_figwidth() == pytest.approx(3.5)


def test_every_figure_is_written_as_png_and_pdf(default_runs):
    figures = default_runs / "a" / "figures"
    stems = {p.stem for p in figures.iterdir()}
    expected = {"corpus_overview", "alignment_lda_nmf", "distinctive_xiao_vs_tian", "distinctive_y2021_vs_2023"} | {
        f"{kind}_{m}" for m in ("lda", "nmf")
        for kind in ("top_terms", "emphasis_speaker", "emphasis_year", "heatmap_speaker_year",
                     "contrast_xiao_vs_tian", "contrast_y2021_vs_2023", "responsiveness")
    }
    assert stems == expected
    for stem in expected:
        assert (figures / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (figures / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
        assert (figures / f"{stem}.png").stat().st_size > 10_000


def test_no_figure_is_cut_at_its_edge(default_runs):
    """The layout and the bounding box are computed once per figure and kept for every file:
    each PNG still has a white margin on all four sides (without the box, a panel title wider
    than its column runs off the right edge of top_terms_nmf)."""
    from PIL import Image

    pngs = sorted((default_runs / "a" / "figures").glob("*.png"))
    assert len(pngs) == 18
    for png in pngs:
        pixels = np.asarray(Image.open(png).convert("L"))
        edges = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        assert edges.min() >= 250, png.name


def test_figures_pdf_false_draws_png_only_and_the_report_links_no_pdf(default_runs):
    run = default_runs / "c"  # the default config: figures.pdf: false
    assert not list((run / "figures").glob("*.pdf")) and len(list((run / "figures").glob("*.png"))) >= 14
    assert "[PDF]" not in (run / "report.md").read_text() and "[PDF]" in (default_runs / "a" / "report.md").read_text()
