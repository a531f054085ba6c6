"""Topic measures against hand-computed values and gensim's own calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gensim.corpora import Dictionary
from gensim.models.coherencemodel import CoherenceModel

from pipeline.diagnostics import (
    alignment,
    average_jaccard_matrix,
    coherence,
    coherence_bootstrap_sd,
    effective_number_of_words,
    match_topics,
    stability,
    topic_diversity,
    topic_exclusivity,
    topic_size,
)
from pipeline.emphasis import robustness
from pipeline.term_measures import frex

TEXTS = [["chip", "wafer", "fab"], ["chip", "wafer"], ["steel", "coal", "emission"], ["steel", "coal"],
         ["chip", "fab", "export"], ["coal", "emission", "steel"]]
TOPICS = [["chip", "wafer", "fab"], ["steel", "coal", "emission"]]


@pytest.mark.parametrize("measure", ["c_v", "c_npmi", "u_mass"])
def test_coherence_is_gensims(measure):
    dictionary = Dictionary(TEXTS)
    ours = coherence(TOPICS, TEXTS, dictionary, measure)
    kwargs = {"corpus": [dictionary.doc2bow(t) for t in TEXTS]} if measure == "u_mass" else {"texts": TEXTS}
    theirs = CoherenceModel(topics=TOPICS, dictionary=dictionary, coherence=measure, topn=3, **kwargs)
    assert ours == pytest.approx(theirs.get_coherence_per_topic())


def _long_texts() -> tuple[list[list[str]], list[list[str]]]:
    """Texts of 0 to 160 tokens (one empty, several longer than c_v's 110-token window), two
    topics of five words, one of them rare enough to be missing from some resamples."""
    rng = np.random.default_rng(11)
    vocabulary = [f"w{i}" for i in range(30)]
    texts = [list(rng.choice(vocabulary, size=n, p=np.r_[np.full(29, 0.999 / 29), 0.001]))
             for n in [0, *rng.integers(1, 160, size=13)]]
    return texts, [vocabulary[:5], [*vocabulary[25:29], "w29"]]


@pytest.mark.parametrize("measure", ["c_v", "c_npmi", "u_mass"])
@pytest.mark.parametrize("corpus", ["short", "long"])
def test_coherence_bootstrap_sd_is_the_spread_of_gensims_score_over_resampled_texts(measure, corpus):
    """The bootstrap reweights one count of gensim's windows; by hand, gensim scores each
    resample afresh: the two agree on short texts and on texts of many windows."""
    texts, topics = (TEXTS, TOPICS) if corpus == "short" else _long_texts()
    dictionary = Dictionary(texts)
    draws, seed = 30, 4
    sd = coherence_bootstrap_sd(topics, texts, dictionary, measure, draws, np.random.default_rng(seed))
    # By hand: the same resamples, each scored by gensim, topics without a score left out.
    rng, means = np.random.default_rng(seed), []
    for _ in range(draws):
        sample = [texts[i] for i in rng.integers(len(texts), size=len(texts))]
        kwargs = ({"corpus": [dictionary.doc2bow(t) for t in sample]} if measure == "u_mass" else {"texts": sample})
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.array(CoherenceModel(topics=topics, dictionary=dictionary, coherence=measure,
                                             topn=len(topics[0]), **kwargs).get_coherence_per_topic())
        means.append(scores[np.isfinite(scores)].mean())
    assert sd == pytest.approx(np.std(means, ddof=1), rel=1e-9) and sd > 0


@pytest.mark.parametrize("measure", ["c_v", "c_npmi", "u_mass"])
def test_coherence_bootstrap_sd_of_alike_texts_is_zero_and_undefined_below_two_draws(measure):
    dictionary = Dictionary(TEXTS)
    # Texts that are all alike resample to themselves: no spread.
    alike = [TEXTS[0]] * 6
    assert coherence_bootstrap_sd(TOPICS[:1], alike, Dictionary(alike), measure, 5, np.random.default_rng(0)) == 0
    assert np.isnan(coherence_bootstrap_sd(TOPICS, TEXTS, dictionary, measure, 1, np.random.default_rng(0)))


@pytest.mark.parametrize("measure", ["c_v", "c_npmi", "u_mass"])
def test_coherence_reads_the_texts_once_through_its_progress(measure):
    """The run's bar is a one-pass iterator: gensim must get every text from it, once."""
    dictionary = Dictionary(TEXTS)
    seen = []

    def one_pass(items, total, description):
        assert total == len(TEXTS) and measure in description
        for item in items:
            seen.append(item)
            yield item

    assert coherence(TOPICS, TEXTS, dictionary, measure, one_pass) == pytest.approx(
        coherence(TOPICS, TEXTS, dictionary, measure))
    assert seen == TEXTS


def test_u_mass_by_hand():
    # u_mass over ordered pairs (w_i, w_j), j < i: log(D(w_i, w_j) / D(w_j)); gensim smooths with
    # epsilon = 1e-12 where Mimno et al. (2011) add 1 to the co-document count.
    dictionary = Dictionary(TEXTS)
    # chip in 3 docs; wafer in 2 (both with chip); fab in 2 (both with chip, one with wafer)
    expected = np.mean([np.log(2 / 3), np.log(2 / 3), np.log(1 / 2)])
    assert coherence([TOPICS[0]], TEXTS, dictionary, "u_mass")[0] == pytest.approx(expected)


def test_diversity_size_effective_words_by_hand():
    assert topic_diversity([["a", "b", "c"], ["c", "d", "e"]]) == pytest.approx(5 / 6)
    assert topic_diversity([["a", "b"], ["a", "b"]]) == 0.5
    doc_topic = np.array([[1.0, 0.0], [0.5, 0.5], [np.nan, np.nan]])
    assert topic_size(doc_topic, np.array([10.0, 30.0, 99.0])) == pytest.approx([25 / 40, 15 / 40])
    beta = np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    assert effective_number_of_words(beta) == pytest.approx([2.0, 4.0])


def test_exclusivity_is_stms_with_its_weight_on_exclusivity():
    """stm's R/exclusivity.R by hand: within each topic, ex = rank of p(w|k) / sum_j p(w|j) over
    the V words / V, fr = rank of p(w|k) / V, FREX = 1 / (0.7 / ex + 0.3 / fr), summed over the
    topic's M most probable words. (Before, 0.7 sat on frequency: stm's calcfrex convention.)"""
    beta = np.array([[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    # Topic 0: exclusivities 0.6/0.7, 0.3/0.4, 0.1/0.9 rank 3, 2, 1; probabilities rank 3, 2, 1.
    # Topic 1: exclusivities 0.1/0.7, 0.1/0.4, 0.8/0.9 rank 1, 2, 3; probabilities rank 1.5, 1.5, 3.
    frex_stm = lambda ex, fr: 1 / (0.7 / (ex / 3) + 0.3 / (fr / 3))  # noqa: E731
    expected = [frex_stm(3, 3) + frex_stm(2, 2), frex_stm(3, 3) + frex_stm(1, 1.5)]
    assert topic_exclusivity(beta, top_n=2) == pytest.approx(expected)
    # The top term of topic 1 ties with the next on probability, not on exclusivity: the weight's side shows.
    assert topic_exclusivity(beta, top_n=2)[1] != pytest.approx(frex(beta, 0.7)[1, [2, 0]].sum())


def test_average_jaccard_equals_greene_et_al_by_hand():
    # AJ = (1/t) sum_d Jaccard(top d, top d). "a b c" vs "a c x": depth 1 {a}/{a} = 1, depth 2
    # {a}/{a b c} = 1/3, depth 3 {a c}/{a b c x} = 2/4.
    assert average_jaccard_matrix([["a", "b", "c"]], [["a", "c", "x"]])[0, 0] == pytest.approx((1 + 1 / 3 + 2 / 4) / 3)
    # Reversed order: depth 1 0, depth 2 0 ({a b} vs {c b}: 1/3), depth 3 1.
    assert average_jaccard_matrix([["a", "b", "c"]], [["c", "b", "a"]])[0, 0] == pytest.approx((0 + 1 / 3 + 1) / 3)
    ten = list("abcdefghij")
    leading, trailing = list("abcdefgxyz"), list("xyzdefghij")
    scores = average_jaccard_matrix([ten], [leading, trailing])[0]
    assert scores[0] == pytest.approx((7 + 7 / 9 + 7 / 11 + 7 / 13) / 10)  # 0.895; plain Jaccard 7/13 = 0.54
    assert scores[1] == pytest.approx(sum((d - 3) / (d + 3) for d in range(4, 11)) / 10)  # 0.262


def test_average_jaccard_and_hungarian_matching_on_toy_topics():
    reference = [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]]
    shuffled = [["g", "h", "x"], ["a", "b", "c"], ["d", "e", "f"]]
    # "g h i" vs "g h x": depths 1 and 2 agree, depth 3 shares 2 of 4.
    assert average_jaccard_matrix(reference, shuffled)[2, 0] == pytest.approx((1 + 1 + 2 / 4) / 3)
    columns, scores = match_topics(average_jaccard_matrix(reference, shuffled))
    assert columns.tolist() == [1, 2, 0] and scores.tolist() == pytest.approx([1.0, 1.0, 2.5 / 3])
    assert stability(reference, [shuffled, reference]).tolist() == pytest.approx([1.0, 1.0, (1 + 2.5 / 3) / 2])
    # Greedy matching would pair both "a b c" rows with the same topic; Hungarian keeps it one-to-one.
    columns, _ = match_topics(np.array([[0.9, 0.8], [0.85, 0.1]]))
    assert columns.tolist() == [1, 0]


def test_alignment_recovers_a_known_permutation():
    rng = np.random.default_rng(3)
    first = rng.dirichlet(np.full(50, 0.1), size=6)
    permutation = np.array([3, 0, 5, 1, 4, 2])
    second = first[permutation] + rng.dirichlet(np.full(50, 1.0), size=6) * 0.02
    pairs = alignment(first, second, 0.5)
    matched = pairs[pairs.matched].sort_values("topic_a")
    assert matched.topic_b.tolist() == np.argsort(permutation).tolist()
    assert (matched.cosine > 0.95).all() and len(pairs) == 36 and pairs.found_by_both.sum() == 6
    # Models with different k: every topic of the smaller model is matched once.
    uneven = alignment(first, second[:4], 0.5)
    assert uneven.matched.sum() == 4 and uneven[uneven.matched].topic_b.is_unique
    # Unrelated topics are still paired one to one, but none is found by both.
    unrelated = alignment(first, rng.dirichlet(np.full(50, 0.1), size=6), 0.5)
    assert unrelated.matched.sum() == 6 and not unrelated.found_by_both.any()


def test_robustness_counts_seeds_where_the_matched_topic_holds():
    reference = pd.DataFrame({"contrast": "c", "topic": [0, 1], "estimate": [0.2, -0.1], "p": [0.01, 0.3]})
    refit = pd.DataFrame({"contrast": "c", "topic": [0, 1], "estimate": [-0.05, 0.25], "p": [0.5, 0.02]})
    table = robustness(reference, [(refit, np.array([1, 0])), (refit, np.array([0, 1]))], 0.05)
    # Topic 0 holds in the reference and in the refit whose topic 1 matches it (0.25, p .02), not the other.
    assert table.seeds_holding.tolist() == [2, 0] and table.seeds.tolist() == [3, 3]
    assert table.share_holding.tolist() == pytest.approx([2 / 3, 0.0])


def test_document_completion_and_unigram_by_hand():
    import scipy.sparse as sp

    from pipeline.diagnostics import completion_log_likelihoods, unigram_log_likelihoods

    topic_term = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    theta = np.array([[0.5, 0.5], [1.0, 0.0]])
    held = sp.csr_matrix(np.array([[2, 0, 1], [0, 1, 0]]))
    # Unit 0: p(w0) = .5*.7 + .5*.1 = .4 (twice), p(w2) = .5*.1 + .5*.8 = .45; unit 1: p(w1) = .2.
    expected = [2 * np.log(0.4) + np.log(0.45), np.log(0.2)]
    assert completion_log_likelihoods(theta, topic_term, held) == pytest.approx(expected)
    training = np.array([5.0, 3.0, 0.0])  # add-one-half: (5.5, 3.5, 0.5) / 9.5
    expected = [2 * np.log(5.5 / 9.5) + np.log(0.5 / 9.5), np.log(3.5 / 9.5)]
    assert unigram_log_likelihoods(training, held) == pytest.approx(expected)


def test_heldout_gain_and_its_clustered_error_by_hand():
    from scipy.stats import t as student_t

    from pipeline.diagnostics import heldout_gain

    model = np.array([-10.0, -12.0, -6.0, -9.0, -20.0])
    unigram = np.array([-11.0, -11.5, -7.0, -9.5, -19.0])
    words = np.array([4.0, 5.0, 3.0, 4.0, 8.0])
    conferences = np.array(["a", "a", "b", "b", "c"])
    gain = heldout_gain(model, unigram, words, conferences)
    # Gain per word: total difference 1.0 - 0.5 + 1.0 + 0.5 - 1.0 = 1.0 over 24 words.
    mean = 1.0 / 24
    assert gain.per_word == pytest.approx(mean)
    # CR2 of a weighted mean: sum_g (D_g - mean N_g)^2 / (N^2 (1 - N_g / N)), D_g and N_g per conference.
    totals, counts = np.array([0.5, 1.5, -1.0]), np.array([9.0, 7.0, 8.0])
    variance = (((totals - mean * counts) ** 2) / (24.0**2 * (1 - counts / 24))).sum()
    assert gain.se == pytest.approx(np.sqrt(variance)) and gain.conferences == 3
    assert gain.distinguishable(0.95) == (abs(mean) > student_t.ppf(0.975, gain.df) * gain.se)
    assert not heldout_gain(model, unigram, words, np.array(["a"] * 5)).distinguishable(0.95)


def test_completion_halves_and_resamples_are_seeded_partitions():
    import scipy.sparse as sp

    from pipeline.diagnostics import completion_halves, resamples

    counts = sp.csr_matrix(np.array([[3, 0, 2], [1, 4, 0], [0, 0, 1]]))
    observed, held = completion_halves(counts, seed=7)
    assert (observed + held - counts).nnz == 0  # every token in exactly one half
    assert observed.sum(axis=1).A1.tolist() == [2, 2, 0] and held.sum(axis=1).A1.tolist() == [3, 3, 1]
    again = completion_halves(counts, seed=7)
    assert (again[0] - observed).nnz == 0
    samples = resamples(10, 0.8, 3, seed=1)
    assert [len(s) for s in samples] == [8, 8, 8] and all(len(set(s)) == 8 for s in samples)
    assert len({tuple(s) for s in samples}) == 3 and [list(s) for s in resamples(10, 0.8, 3, seed=1)] == [
        list(s) for s in samples]


def test_robustness_says_no_match_below_the_minimum_similarity():
    reference = pd.DataFrame({"contrast": ["c", "c"], "topic": [0, 1], "estimate": [0.2, -0.1], "p": [0.01, 0.02]})
    refit = reference.copy()
    matched = robustness(reference, [(refit, np.array([0, -1]))], 0.05)
    assert matched.seeds_holding.tolist() == [2, 1]  # topic 1 had no match in the refit: it does not hold


def test_coherence_on_a_separate_reference_corpus(project, capsys):
    from pipeline.cli import main
    from pipeline.rundir import load_run

    reference = project / "data" / "reference.txt"
    reference.write_text("\n\n".join(["Chips and wafers are made in fabs by the industry."] * 20
                                     + ["Steel output and coal use fell as emissions targets bit."] * 20))
    code = main(["run", str(project / "configs" / "default.yaml"), "-q", "--set", "evaluate.stability_seeds=1",
                 "--set", "evaluate.resamples=0", "--set", "evaluate.coherence_reference=[data/reference.txt]",
                 "--set", "compare.contrasts={}", "--set", "models.0.params.iterations=100",
                 "--set", "figures.draw=false"])
    assert code == 0, capsys.readouterr().err
    run = load_run(project / "outputs" / "default")
    setup = run.models["nmf"].metrics["coherence_setup"]
    assert setup["reference"] == "the reference corpus data/reference.txt" and setup["reference_units"] == 40
    assert "scored on the reference corpus data/reference.txt (40 texts" in (
        project / "outputs" / "default" / "report.md").read_text()


def test_units_too_short_for_document_completion_are_never_held_out():
    from pipeline.diagnostics import heldout_split
    from pipeline.seeds import rng_for

    lengths = np.array([1, 0, 5] * 40)
    held, rest = heldout_split(lengths, 0.1, seed=3)
    assert len(held) == 4 and (lengths[held] >= 2).all()  # 10% of the 40 units completion can score
    assert sorted([*held, *rest]) == list(range(120))
    # With every unit long enough, the split is the seeded order cut at the share, as before.
    held, rest = heldout_split(np.full(120, 5), 0.1, seed=3)
    assert [*held, *rest] == list(rng_for(3, "heldout").permutation(120)) and len(held) == 12


def test_the_gate_names_every_criterion_a_model_fails():
    from pipeline.config import EvaluateConfig
    from pipeline.workflow import gate_criteria, gate_reason

    # The case: k = 8 NMF on 11 units of 18.5 tokens, identical restarts, no likelihood.
    summary = {"mean_stability": 1.0, "mean_resample_stability": 0.72, "topic_diversity": 0.30,
               "tokens_per_parameter": 0.42, "heldout_gain_over_unigram": None}
    criteria = gate_criteria(summary, EvaluateConfig())
    assert [c["criterion"] for c in criteria] == ["seed stability", "resampling stability", "topic diversity",
                                                  "tokens per parameter"]  # no likelihood: no held-out criterion
    assert gate_reason(criteria) == "topic diversity 0.30 < 0.5; tokens per parameter 0.42 < 1.5"
    passing = {**summary, "topic_diversity": 0.9, "tokens_per_parameter": 5.0, "heldout_gain_over_unigram": 0.6}
    assert gate_reason(gate_criteria(passing, EvaluateConfig())) == ""
    assert gate_reason(gate_criteria({**passing, "heldout_gain_over_unigram": 0.02}, EvaluateConfig())) == (
        "held-out gain over the unigram model 0.02 < 0.1")
