"""``topics.html``: an offline topic browser, drawn from a run's saved tables only.

For each model, one Vega-Lite view (built with Altair, saved with its JavaScript inlined by
vl-convert, so the page makes no network request): an intertopic map (Jensen-Shannon
divergence between topic-term rows, placed by classical multidimensional scaling, as
LDAvis; pyLDAvis ``_prepare.py``, ``js_PCoA``), marker area the topic's share of tokens; the
selected topic's top terms re-ranked by a relevance slider (Sievert & Shirley 2014: lambda
log p(w|k) + (1 - lambda) log(p(w|k) / p(w))), its in-topic count beside the corpus count;
its representative passages (speaker, date, the question asked, ``source_file:line``), as
many as a second slider asks for; its emphasis by speaker and by year with the run's
intervals, hollow where a group has none; and its matched topic in the other model.

The candidate terms of a topic are the union of its top ``TERMS`` terms at every lambda of
the slider's grid (0, 0.01, ..., 1), as pyLDAvis prepares them, so the order shown at each
slider position is exact.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

TERMS = 30  # terms shown per topic, as LDAvis' R
LAMBDA_GRID = np.round(np.arange(0, 101) / 100, 2)
PASSAGE_WIDTH = 110  # characters per line of a passage
SLIDERS_CSS = (".vega-bindings{position:fixed;top:8px;right:8px;background:#fff;border:1px solid #ccc;"
               "padding:6px 10px;font:12px sans-serif;z-index:10}.vega-bind{display:block}")


def js_divergence_matrix(topic_term: np.ndarray) -> np.ndarray:
    """Pairwise Jensen-Shannon divergence (nats) between rows, as pyLDAvis' ``_jensen_shannon``."""
    from scipy.special import rel_entr

    divergence = np.zeros((len(topic_term), len(topic_term)))
    for i, row in enumerate(topic_term):
        middle = (row[None, :] + topic_term) / 2
        divergence[i] = (rel_entr(row[None, :], middle).sum(axis=1) + rel_entr(topic_term, middle).sum(axis=1)) / 2
    np.fill_diagonal(divergence, 0)
    return np.clip((divergence + divergence.T) / 2, 0, None)


def classical_mds(distances: np.ndarray, dimensions: int = 2) -> np.ndarray:
    """Principal coordinates of a distance matrix (Torgerson; pyLDAvis ``_pcoa``): the top
    eigenvectors of the double-centred squared distances, scaled by the roots of their
    eigenvalues (negative ones set to 0). Each axis's sign is fixed so that its largest
    coordinate is positive: the same map on every run."""
    n = len(distances)
    centring = np.eye(n) - np.ones((n, n)) / n
    values, vectors = np.linalg.eigh(-centring @ (distances ** 2) @ centring / 2)
    order = np.argsort(values)[::-1][:dimensions]
    values, vectors = np.clip(values[order], 0, None), vectors[:, order]
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), range(vectors.shape[1])])
    return vectors * signs * np.sqrt(values)


def relevance_candidates(topic_term: np.ndarray, term_counts: np.ndarray, n_terms: int = TERMS) -> list[np.ndarray]:
    """Per topic, the indices of every term among its top ``n_terms`` by relevance at some
    lambda of ``LAMBDA_GRID``, with every term tied with the last of them (the page breaks ties
    by the term itself)."""
    log_p = np.log(np.where(topic_term > 0, topic_term, np.finfo(float).tiny))
    log_lift = log_p - np.log(term_counts / term_counts.sum())
    candidates = []
    for topic in range(len(topic_term)):
        chosen: set[int] = set()
        for lam in LAMBDA_GRID:
            score = lam * log_p[topic] + (1 - lam) * log_lift[topic]
            last = len(score) - min(n_terms, len(score))  # the n-th largest score, found without a sort
            chosen.update(np.flatnonzero(score >= np.partition(score, last)[last]).tolist())
        candidates.append(np.array(sorted(chosen)))
    return candidates


def topic_map(topic_term: np.ndarray, sizes: np.ndarray, labels: Mapping[int, str]) -> pd.DataFrame:
    """Each topic's place on the map, its share of tokens, its label, and what its marker says:
    its own label where the labels file gives one, else its number (the top-terms label is long)."""
    coordinates = classical_mds(js_divergence_matrix(topic_term))
    topics = range(len(topic_term))
    return pd.DataFrame({"topic": topics, "label": [labels[t] for t in topics],
                         "marker": [str(t) if labels[t].startswith(f"T{t}: ") else f"{t}: {labels[t]}" for t in topics],
                         "x": coordinates[:, 0].round(6), "y": coordinates[:, 1].round(6),
                         "share": np.asarray(sizes, dtype=float).round(6)})


def term_table(topic_term: np.ndarray, vocabulary: list[str], term_counts: np.ndarray,
               sizes: np.ndarray) -> pd.DataFrame:
    """Each topic's candidate terms: p(w|k), p(w), the corpus count and the topic's expected
    count of the term (p(w|k) times the topic's tokens, pyLDAvis' ``term_topic_freq``)."""
    total = term_counts.sum()
    rows = []
    for topic, terms in enumerate(relevance_candidates(topic_term, term_counts)):
        for term in terms:
            rows.append({"topic": topic, "term": vocabulary[term], "p": float(topic_term[topic, term]),
                         "pw": float(term_counts[term] / total), "corpus": int(term_counts[term]),
                         "in_topic": round(float(topic_term[topic, term] * sizes[topic] * total), 1)})
    return pd.DataFrame(rows)


def passage_lines(unit_topics: pd.DataFrame, paragraphs: pd.DataFrame, answers: pd.DataFrame, k: int,
                  per_topic: int) -> pd.DataFrame:
    """The ``per_topic`` units with the largest share of each topic, as display lines: a
    header (rank, share, speaker, date, ``file:line``), the question asked, the text wrapped.
    A unit's text and source are its paragraph's, or (answer-level units) its answer's from
    ``answer_topics.csv``."""
    located = paragraphs.set_index("paragraph_id")
    by_answer = answers.set_index("answer_id")
    rows = []
    for topic in range(k):
        column = f"topic_{topic}"
        best = unit_topics.dropna(subset=[column]).sort_values([column, "unit_id"], ascending=[False, True])
        for rank, unit in enumerate(best.head(per_topic).itertuples(index=False), 1):
            if unit.unit_id in located.index:
                paragraph = located.loc[unit.unit_id]
                text, source = paragraph.text, f"{paragraph.source_file}:{paragraph.line_start}-{paragraph.line_end}"
            else:
                text, source = by_answer.at[unit.answer_id, "answer_text"], by_answer.at[unit.answer_id, "source"]
            lines = [f"{rank}. share {getattr(unit, column):.2f} · {unit.speaker} · {unit.date or 'undated'} · {source}"]
            asked = textwrap.wrap(by_answer.at[unit.answer_id, "question_text"] or "", PASSAGE_WIDTH - 6)
            if len(asked) > 3:
                asked = [*asked[:2], asked[2] + " …"]
            lines += ["   Q: " + line for line in asked]
            lines += ["   " + line for line in textwrap.wrap(" ".join(text.split()), PASSAGE_WIDTH - 3)]
            rows += [{"topic": topic, "rank": rank, "line": f"{rank:05d}.{number:03d}", "text": line,
                      "header": number == 0} for number, line in enumerate(lines)]
    return pd.DataFrame(rows, columns=["topic", "rank", "line", "text", "header"])


def emphasis_table(emphasis: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    frames = [frame.assign(by=name.removeprefix("by_")) for name, frame in emphasis.items()
              if name in ("by_speaker", "by_year") and not frame.empty]
    if not frames:
        return pd.DataFrame(columns=["by", "group", "topic", "share", "ci_low", "ci_high", "no_interval", "n_answers"])
    table = pd.concat(frames, ignore_index=True)
    return table.assign(group=table.group.astype(str), no_interval=table.ci_low.isna())[
        ["by", "group", "topic", "share", "ci_low", "ci_high", "no_interval", "n_answers"]]


def alignment_lines(alignment: pd.DataFrame | None, model: str, labels: Mapping[str, Mapping[int, str]]) -> pd.DataFrame:
    """Per topic of ``model``, its matched topic in the other model of each aligned pair."""
    rows = []
    for pair in [] if alignment is None else alignment[alignment.matched].itertuples(index=False):
        if model in (pair.model_a, pair.model_b):
            own, other, other_topic = ((pair.topic_a, pair.model_b, pair.topic_b) if pair.model_a == model
                                       else (pair.topic_b, pair.model_a, pair.topic_a))
            rows.append({"topic": int(own), "text": f"Matched in {other}: {labels[other][int(other_topic)]} "
                                                    f"(cosine {pair.cosine:.2f})"})
    return pd.DataFrame(rows, columns=["topic", "text"])


def model_view(name: str, data: Mapping[str, pd.DataFrame], relevance_lambda: float, banner: str,
               max_passages: int):
    """One model's linked charts; every parameter is prefixed with the model's name."""
    import altair as alt

    topic = alt.selection_point(name=f"{name}_topic", fields=["topic"], value=[{"topic": 0}], empty=False,
                                toggle=False, clear=False)
    lam = alt.param(name=f"{name}_lambda", value=relevance_lambda,
                    bind=alt.binding_range(min=0, max=1, step=0.01, name=f"{name}: relevance λ "))
    shown = alt.param(name=f"{name}_passages", value=min(5, max_passages),
                      bind=alt.binding_range(min=1, max=max(max_passages, 1), step=1, name=f"{name}: passages "))
    base_map = alt.Chart(data["map"]).encode(
        x=alt.X("x:Q", title="PC1 (Jensen-Shannon, classical MDS)", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("y:Q", title="PC2", axis=alt.Axis(labels=False, ticks=False)))
    circles = base_map.mark_circle(opacity=0.6, stroke="black", strokeWidth=0.5).encode(
        size=alt.Size("share:Q", scale=alt.Scale(range=[60, 2500]), legend=None, title="share of tokens"),
        color=alt.condition(topic, alt.value("#D55E00"), alt.value("#0072B2")),
        tooltip=["topic:O", "label:N", alt.Tooltip("share:Q", format=".1%", title="share of tokens")],
    ).add_params(topic).properties(name=f"{name}_map")
    numbers = base_map.mark_text(fontSize=10).encode(text="marker:N")
    intertopic = alt.layer(circles, numbers).properties(
        width=320, height=320, title="Intertopic map (click a topic; area: share of tokens)")

    terms = alt.Chart(data["terms"]).transform_filter(topic).transform_calculate(
        relevance=f"{name}_lambda * log(datum.p) + (1 - {name}_lambda) * log(datum.p / datum.pw)").transform_window(
        rank="row_number()", sort=[alt.SortField("relevance", order="descending"), alt.SortField("term")]
    ).transform_filter(f"datum.rank <= {TERMS}")
    y = alt.Y("term:N", sort=alt.EncodingSortField("rank", order="ascending"), title=None)
    corpus = terms.mark_bar(color="#BBBBBB").encode(
        y=y, x=alt.X("corpus:Q", title="count: corpus (grey), expected in the topic (red)"),
        tooltip=["term:N", "corpus:Q", "in_topic:Q", alt.Tooltip("relevance:Q", format=".3f")])
    in_topic = terms.mark_bar(color="#D55E00").encode(y=y, x="in_topic:Q")
    term_chart = alt.layer(corpus, in_topic, terms.mark_text(align="left", dx=3, fontSize=10).encode(
        y=y, x=alt.value(0), text="term:N", opacity=alt.value(0)).properties(name=f"{name}_terms")).add_params(
        lam).properties(width=300, height=alt.Step(13), title="Top terms at this λ (λ = 1: by probability)")

    passages = alt.Chart(data["passages"]).transform_filter(topic).transform_filter(
        f"datum.rank <= {name}_passages").mark_text(align="left", baseline="middle", fontSize=11).encode(
        y=alt.Y("line:O", axis=None), x=alt.value(0), text="text:N",
        color=alt.condition("datum.header", alt.value("black"), alt.value("#444444")),
    ).add_params(shown).properties(name=f"{name}_passages_text", width=760, height=alt.Step(14),
                                   title="Representative passages (units with the largest share of the topic)")

    emphasis_charts = []
    for by, title in (("speaker", "by speaker"), ("year", "by year")):
        rows = data["emphasis"][data["emphasis"].by == by]
        if rows.empty:
            continue
        chart = alt.Chart(rows).transform_filter(topic)
        rule = chart.mark_rule().encode(y=alt.Y("group:N", title=None), x="ci_low:Q", x2="ci_high:Q")
        dots = chart.mark_point(size=50, filled=True).encode(
            y="group:N", x=alt.X("share:Q", title="topic share (hollow: no interval)", axis=alt.Axis(tickCount=4)),
            fill=alt.condition("datum.no_interval", alt.value("white"), alt.value("#0072B2")),
            stroke=alt.value("#0072B2"), tooltip=["group:N", "share:Q", "ci_low:Q", "ci_high:Q", "n_answers:Q"])
        emphasis_charts.append(alt.layer(rule, dots).properties(width=240, height=alt.Step(18),
                                                               title=f"Emphasis {title}"))
    matched = alt.Chart(data["alignment"]).transform_filter(topic).mark_text(
        align="left", fontSize=11).encode(text="text:N", x=alt.value(0)).properties(
        name=f"{name}_matched", width=300, height=20)
    title = alt.TitleParams(f"Model {name}", subtitle=[banner] if banner else [], subtitleColor="#D55E00",
                            anchor="start", fontSize=16)
    return alt.vconcat(alt.hconcat(intertopic, term_chart, alt.vconcat(*emphasis_charts, matched)), passages,
                       title=title)


def topics_html(models: Mapping[str, Any], paragraphs: pd.DataFrame, alignment: pd.DataFrame | None,
                labels: Mapping[str, Mapping[int, str]], relevance_lambda: float, per_topic: int) -> str:
    """The whole page: every model's view, one below the other, as self-contained HTML."""
    views = []
    for name, model in models.items():
        vocabulary, topic_term = model.topic_term()
        counts = model.vocabulary["count"].to_numpy(dtype=float)
        sizes = model.topic_diagnostics.sort_values("topic")["size"].to_numpy(dtype=float)
        data = {"map": topic_map(topic_term, sizes, labels[name]),
                "terms": term_table(topic_term, vocabulary, counts, sizes),
                "passages": passage_lines(model.unit_topics, paragraphs, model.answer_topics, model.k, per_topic),
                "emphasis": emphasis_table(model.emphasis),
                "alignment": alignment_lines(alignment, name, labels)}
        banner = (f"Exploratory model ({model.metrics['exploratory_reason']}): not a finding"
                  if model.metrics.get("exploratory") else "")
        views.append(data | {"name": name, "banner": banner})
    return page(views, relevance_lambda, per_topic)


def page(views: list[dict[str, Any]], relevance_lambda: float, per_topic: int) -> str:
    """Self-contained HTML of the models' views (each: ``model_view``'s data, ``name`` and ``banner``).

    Altair refuses data of more than 5,000 rows unless told otherwise; a run's terms and
    passages have tens of thousands, all inlined on purpose (the page is offline).
    """
    import altair as alt
    import vl_convert

    with alt.data_transformers.disable_max_rows():
        charts = [model_view(view["name"], view, relevance_lambda, view["banner"], per_topic) for view in views]
        spec = alt.vconcat(*charts, spacing=60).configure_view(stroke=None).to_dict()
    html = vl_convert.vegalite_to_html(json.dumps(spec, sort_keys=True), bundle=True)
    # vega-embed puts the sliders below every view; pinned to the window's corner they stay at hand.
    # The bundled JavaScript in <head> holds "</head>" in a string of its own: the page's is the last.
    head, end, body = html.rpartition("</head>")
    return f"{head}<style>{SLIDERS_CSS}</style>{end}{body}"
