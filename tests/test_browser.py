"""topics.html: its measures against hand computations, and the page itself in headless Chromium
(Debian's ``chromium``, driven by Playwright, the network blocked)."""

from __future__ import annotations

import re
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from pipeline.browser import TERMS, classical_mds, js_divergence_matrix, relevance_candidates
from pipeline.rundir import load_run

CHROMIUM = "/usr/bin/chromium"


def test_js_divergence_and_classical_mds_by_hand():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
    # M = (.25, .5, .25): KL(p || M) = .5 ln 2 + .5 ln 1 = .5 ln 2, the same for q, so JS = .5 ln 2.
    divergence = js_divergence_matrix(np.vstack([p, q, p]))
    assert divergence[0, 1] == pytest.approx(0.5 * np.log(2)) and divergence[0, 2] == 0 == divergence[1, 1]
    # Points of a plane come back with their distances (up to rotation and reflection).
    points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [1.0, 1.0]])
    distances = np.linalg.norm(points[:, None] - points[None], axis=2)
    placed = classical_mds(distances)
    assert np.allclose(np.linalg.norm(placed[:, None] - placed[None], axis=2), distances)
    assert np.array_equal(classical_mds(distances), placed)  # signs fixed: the same map every time


def test_candidates_hold_the_top_terms_at_every_lambda_of_the_slider():
    rng = np.random.default_rng(3)
    topic_term = rng.dirichlet(np.full(200, 0.1), size=4)
    counts = rng.integers(1, 50, size=200).astype(float)
    candidates = relevance_candidates(topic_term, counts, n_terms=10)
    log_p, log_lift = np.log(topic_term), np.log(topic_term / (counts / counts.sum()))
    for lam in (0.0, 0.37, 0.6, 1.0):
        for topic in range(4):
            top = np.argsort(-(lam * log_p[topic] + (1 - lam) * log_lift[topic]))[:10]
            assert set(top) <= set(candidates[topic])
    assert all(len(c) < 200 for c in candidates)


def relevance_order(model, topic: int, lam: float) -> list[str]:
    """The top terms of ``topic`` by relevance at ``lam``, from the saved matrix (ties by term)."""
    vocabulary, topic_term = model.topic_term()
    frequency = model.vocabulary["count"].to_numpy(float) / model.vocabulary["count"].sum()
    relevance = lam * np.log(topic_term[topic]) + (1 - lam) * np.log(topic_term[topic] / frequency)
    table = pd.DataFrame({"term": vocabulary, "relevance": relevance}).sort_values(
        ["relevance", "term"], ascending=[False, True])
    return table.term.head(TERMS).tolist()


def test_topics_html_in_a_browser_with_the_network_blocked(default_runs, tmp_path):
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), ("the browser test needs Debian's chromium: `apt-get install chromium` "
                                    "(.ci/run installs it)")
    run = load_run(default_runs / "a")
    lda = run.model("lda")
    # The page's relevance is topic_terms.csv's: the same values for the terms that table lists.
    vocabulary, topic_term = lda.topic_term()
    frequency = lda.vocabulary["count"].to_numpy(float) / lda.vocabulary["count"].sum()
    listed = lda.topic_terms[lda.topic_terms.topic == 0]
    index = [vocabulary.index(term) for term in listed.term]
    assert np.allclose(0.6 * np.log(topic_term[0, index]) + 0.4 * np.log(topic_term[0, index] / frequency[index]),
                       listed.relevance, atol=1e-6)

    page_file = tmp_path / "topics.html"
    shutil.copy(default_runs / "a" / "topics.html", page_file)
    requests, blocked = [], []

    def route(request_route):
        if request_route.request.url == page_file.as_uri():
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.route("**/*", route)
            page.on("request", lambda request: requests.append(request.url))
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            started = time.perf_counter()
            page.goto(page_file.as_uri())
            page.wait_for_selector('[class*="lda_map"] path')
            assert time.perf_counter() - started < 10  # loads in well under a second here; the note has figures

            def terms() -> list[str]:
                marks = page.eval_on_selector_all('[class*="lda_terms"] text', """els => els.map(e => [
                    e.textContent, e.getBoundingClientRect().top])""")
                return [text for text, _ in sorted(marks, key=lambda mark: mark[1])]

            def headers() -> list[str]:
                lines = page.eval_on_selector_all('[class*="lda_passages_text"] text', "els => els.map(e => e.textContent)")
                return [line for line in lines if re.match(r"\d+\. share \d", line)]

            def slide(name: str, value: float) -> None:
                page.eval_on_selector(f'input[name="{name}"]', """(el, value) => {
                    el.value = value; el.dispatchEvent(new Event('input', {bubbles: true})); }""", str(value))
                page.wait_for_timeout(200)

            assert page.locator('[class*="lda_map"] path').count() == lda.k  # one mark per topic
            assert page.locator('[class*="nmf_map"] path').count() == run.model("nmf").k
            assert terms() == relevance_order(lda, 0, 0.6)  # the run's lambda to start with
            slide("lda_lambda", 1)  # by probability: topic_terms.csv's own order
            assert terms() == relevance_order(lda, 0, 1.0)
            assert terms()[:20] == listed.sort_values("rank").term.tolist()
            slide("lda_lambda", 0.2)
            assert terms() == relevance_order(lda, 0, 0.2) != relevance_order(lda, 0, 1.0)

            page.locator('[class*="lda_map"] path').nth(3).click()
            page.wait_for_timeout(200)
            best = lda.unit_topics.sort_values(["topic_3", "unit_id"], ascending=[False, True]).head(5)
            paragraphs = run.paragraphs.set_index("paragraph_id").loc[best.unit_id]
            sources = [f"{row.source_file}:{row.line_start}-{row.line_end}" for row in paragraphs.itertuples()]
            shown = headers()
            assert len(shown) == 5 and all(line.endswith(source) for line, source in zip(shown, sources))
            assert terms() == relevance_order(lda, 3, 0.2)
            slide("lda_passages", 12)  # more than the top five
            assert len(headers()) == 12
            assert not errors
        finally:
            browser.close()
    assert blocked == [] and requests == [page_file.as_uri()]  # no request left the page


def test_a_page_of_50_topics_and_10000_passages_is_built(default_runs):
    """Altair's default refuses more than 5,000 rows of data; a large run's page has far more."""
    from pipeline.browser import page

    rows = 10_000
    view = {"name": "big", "banner": "",
            "map": pd.DataFrame({"topic": range(50), "label": "x", "marker": "x", "x": 0.0, "y": 0.0, "share": 0.02}),
            "terms": pd.DataFrame({"topic": np.repeat(range(50), 120), "term": [f"w{i}" for i in range(6000)],
                                   "p": 0.01, "pw": 0.001, "corpus": 5, "in_topic": 1.0}),
            "passages": pd.DataFrame({"topic": np.arange(rows) % 50, "rank": np.arange(rows) // 50 + 1,
                                      "line": [f"{i:05d}.000" for i in range(rows)], "text": "a passage", "header": True}),
            "emphasis": pd.DataFrame({"by": "speaker", "group": "A", "topic": range(50), "share": 0.02, "ci_low": 0.01,
                                      "ci_high": 0.03, "no_interval": False, "n_answers": 9}),
            "alignment": pd.DataFrame(columns=["topic", "text"])}
    html = page([view], 0.6, 200)
    assert html.count('"a passage"') == rows and '"big_lambda"' in html
