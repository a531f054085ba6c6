"""Contract and known-answer tests, run against every backend with its default parameters."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from joblib import Parallel, delayed

from pipeline import diagnostics
from pipeline.config import validate
from pipeline.diagnostics import infer_in_chunks
from pipeline.errors import ConfigError
from pipeline.models import BACKENDS, check_k, fit_model
from pipeline.seeds import derive_seed
from pipeline.vectorize import vectorize

K, V, D, DOC_LEN = 5, 120, 400, 50


def lda_corpus(seed: int = 0, alpha: float = 0.1, beta: float = 0.05):
    """Documents drawn from LDA's generative process: true topics and tokens ``w000`` ..."""
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(V, beta), size=K)
    theta = rng.dirichlet(np.full(K, alpha), size=D)
    tokens = []
    for mixture in theta:
        counts = sum(rng.multinomial(n, topics[t]) for t, n in enumerate(rng.multinomial(DOC_LEN, mixture)))
        tokens.append([f"w{w:03d}" for w in np.repeat(np.arange(V), counts)])
    return topics, tokens


def unit_covariates(n: int) -> pd.DataFrame:
    """Speakers and years for the contract tests' units (no effect planted: the prior may learn none)."""
    return pd.DataFrame({"speaker": [f"s{i % 4}" for i in range(n)], "year": [2020 + i % 3 for i in range(n)]})


@pytest.fixture(scope="module")
def planted():
    topics, tokens = lda_corpus()
    return topics, vectorize(tokens).with_covariates(unit_covariates(D))


def best_match_cosines(true_topics: np.ndarray, vocabulary: list[str], topic_term: np.ndarray) -> np.ndarray:
    """For each true topic, the cosine similarity of the most similar fitted topic."""
    fitted = np.zeros((topic_term.shape[0], V))
    fitted[:, [int(w[1:]) for w in vocabulary]] = topic_term
    a = true_topics / np.linalg.norm(true_topics, axis=1, keepdims=True)
    b = fitted / np.linalg.norm(fitted, axis=1, keepdims=True)
    return (a @ b.T).max(axis=1)


def model_config(backend: str, k: int = K):
    return validate({"models": [{"name": backend, "backend": backend, "k": k}]}).models[0]


@pytest.fixture(scope="module")
def fitted(planted):
    _, matrices = planted
    ids = [f"u{i}" for i in range(D)]
    fits = Parallel(n_jobs=-1)(delayed(fit_model)(model_config(b), derive_seed(20210301, b), matrices, ids)
                               for b in BACKENDS)  # side by side: the same seeded fits, in half the time
    return dict(zip(BACKENDS, fits))


# Thresholds. On this draw a correct fit matches every planted topic with cosine >= 0.97
# (the LDAs) and >= 0.94 (NMF, which factorises tf-idf and so up-weights rarer words);
# a fit stuck in a local optimum that merges two topics scores about 0.7 on one of them,
# and the same fitted rows shuffled against the vocabulary score <= 0.45. The thresholds
# sit between: a broken or shuffled implementation cannot pass them.
THRESHOLD = {"gensim_lda": 0.9, "sklearn_lda": 0.9, "sklearn_nmf": 0.85, "tomotopy_lda": 0.9, "tomotopy_dmr": 0.9}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backend_recovers_planted_topics(planted, fitted, backend):
    topics, _ = planted
    result = fitted[backend]
    cosines = best_match_cosines(topics, result.vocabulary, result.topic_term)
    assert cosines.min() > THRESHOLD[backend], cosines


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_shuffling_terms_against_the_vocabulary_fails_recovery(planted, fitted, backend):
    topics, _ = planted
    result = fitted[backend]
    shuffled = result.topic_term[:, np.random.default_rng(1).permutation(result.topic_term.shape[1])]
    assert best_match_cosines(topics, result.vocabulary, shuffled).min() < THRESHOLD[backend] / 2


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_result_contract(fitted, backend):
    result = fitted[backend]
    assert result.topic_term.shape == (K, len(result.vocabulary))
    assert result.doc_topic.shape == (D, K)
    assert np.allclose(result.topic_term.sum(axis=1), 1, atol=1e-9)
    assert np.allclose(result.doc_topic.sum(axis=1), 1, atol=1e-9)
    assert (result.doc_topic >= 0).all() and result.zero_rows == []
    assert result.unit_ids[:2] == ["u0", "u1"] and result.backend == backend
    assert result.iterations >= 1 and result.fit_seconds >= 0


def test_gensim_mixtures_are_complete(fitted):
    """Shares below gensim's minimum_probability (0.01) are kept, not dropped."""
    doc_topic = fitted["gensim_lda"].doc_topic
    assert (doc_topic < 0.01).any() and (doc_topic > 0).all()


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_same_seed_same_result(planted, backend):
    _, matrices = planted
    ids = [f"u{i}" for i in range(D)]
    cfg = model_config(backend)
    quick = {"gensim_lda": {"passes": 2}, "sklearn_lda": {"max_iter": 5}, "tomotopy_lda": {"iterations": 50},
             "tomotopy_dmr": {"iterations": 50}}
    if backend in quick:
        cfg = cfg.model_copy(update={"params": cfg.params.model_copy(update=quick[backend])})
    first, second = (fit_model(cfg, 123, matrices, ids) for _ in range(2))
    assert np.array_equal(first.topic_term, second.topic_term)
    assert np.array_equal(first.doc_topic, second.doc_topic)


def test_nmf_zero_rows_are_flagged_not_made_uniform():
    tokens = [["a", "b", "a", "c"], ["b", "c", "b"], ["a", "c", "c"], ["d", "d"], ["a", "b"]]
    matrices = vectorize(tokens)
    result = fit_model(model_config("sklearn_nmf", k=2), 0, matrices, [str(i) for i in range(5)])
    for row in result.zero_rows:
        assert np.isnan(result.doc_topic[row]).all()
    defined = np.delete(result.doc_topic, result.zero_rows, axis=0)
    assert np.allclose(defined.sum(axis=1), 1)


def test_k_is_checked_against_units_and_vocabulary():
    with pytest.raises(ConfigError, match=r"models.1.k: 500 topics but only 93 units"):
        check_k(model_config("sklearn_nmf", k=500), 1, n_units=93, n_terms=700)
    with pytest.raises(ConfigError, match=r"models.0.k: 50 topics but only 40 terms"):
        check_k(model_config("sklearn_nmf", k=50), 0, n_units=93, n_terms=40)
    with pytest.raises(ConfigError, match="models.0.k: Input should be greater than or equal to 2"):
        validate({"models": [{"name": "x", "backend": "gensim_lda", "k": 1}]})


def test_seeds_derive_from_root_and_name():
    assert derive_seed(1, "lda") == derive_seed(1, "lda")
    assert len({derive_seed(1, "lda"), derive_seed(2, "lda"), derive_seed(1, "nmf")}) == 3


@pytest.mark.parametrize("backend", sorted(b for b in BACKENDS if BACKENDS[b].infer is not None))
def test_inference_in_chunks_gives_the_same_mixtures(planted, fitted, backend, monkeypatch):
    """The run infers questions and held-out units in chunks (one step of a progress bar each):
    that is only sound if a unit's inferred mixture does not depend on the units inferred with it."""
    _, matrices = planted
    infer, native = BACKENDS[backend].infer, fitted[backend].native
    whole = infer(copy.deepcopy(native), matrices)
    monkeypatch.setattr(diagnostics, "INFER_CHUNK", 150)
    steps = []
    chunked = infer_in_chunks(infer, copy.deepcopy(native), matrices,
                              lambda items, total, description: steps.append(total) or items)
    assert steps == [3] and np.array_equal(whole, chunked)


def test_tomotopy_inference_on_every_core_gives_the_mixtures_of_one_worker(planted, fitted):
    import tomotopy

    _, matrices = planted
    native = fitted["tomotopy_lda"].native
    model = tomotopy.LDAModel.loads(native["model"])
    documents = [model.make_doc([matrices.vocabulary[term] for term, count in unit for _ in range(int(count))])
                 for unit in matrices.bow]
    one, _ = model.infer(documents, iterations=native["infer_iterations"], workers=1,
                         parallel=tomotopy.ParallelScheme.NONE, together=False)
    assert np.array_equal(BACKENDS["tomotopy_lda"].infer(native, matrices), np.array([np.asarray(m) for m in one]))


def prior_mean(backend: str, native, unit: pd.Series) -> np.ndarray:
    """The mean of a fitted model's document-topic prior (DMR's: that of the ``unit``'s covariates)."""
    import tomotopy

    alpha = {"gensim_lda": lambda: native.alpha, "sklearn_lda": lambda: np.full(K, native.doc_topic_prior_),
             "tomotopy_lda": lambda: tomotopy.LDAModel.loads(native["model"]).alpha,
             "tomotopy_dmr": lambda: tomotopy.DMRModel.loads(native["model"]).get_topic_prior(
                 "", [f"speaker={unit.speaker}", f"year={unit.year}"])}[backend]()
    return np.asarray(alpha, dtype=float) / np.sum(alpha)


@pytest.mark.parametrize("backend", sorted(b for b in BACKENDS if BACKENDS[b].infer is not None))
def test_a_unit_with_no_word_the_model_knows_gets_the_prior_mean(planted, fitted, backend):
    """What sklearn's and gensim's inference give a unit with no known word; tomotopy aborted the
    process instead (issue 27). A unit of one token is inferred as the others are."""
    import scipy.sparse as sp

    _, matrices = planted
    one_token = sp.csr_matrix(([1.0], ([0], [3])), shape=(2, len(matrices.vocabulary)))
    native = fitted[backend].native
    two_units = matrices.subset(np.arange(2))
    mixtures = BACKENDS[backend].infer(copy.deepcopy(native), two_units.with_counts(one_token))
    assert mixtures[1] == pytest.approx(prior_mean(backend, native, two_units.covariates.iloc[1]), abs=1e-6)
    assert mixtures[0].sum() == pytest.approx(1) and np.abs(mixtures[0] - mixtures[1]).max() > 0.05


def test_nmf_restarts_differ_where_the_topics_are_not_identified():
    """Words drawn uniformly: no topics to find, so fits from different seeds must differ. Before,
    NNDSVDa with coordinate descent never read the seed: three seeds, one fit, stability 1.00."""
    from pipeline.diagnostics import stability
    from pipeline.term_measures import top_terms

    rng = np.random.default_rng(1)
    tokens = [[f"w{w:03d}" for w in rng.integers(0, 60, 30)] for _ in range(80)]
    matrices = vectorize(tokens)
    fits = [fit_model(model_config("sklearn_nmf", k=4), seed, matrices, [str(i) for i in range(80)])
            for seed in (1, 2, 3)]
    assert len({round(f.metrics["reconstruction_error"], 6) for f in fits}) > 1
    top = [top_terms(f.topic_term, f.vocabulary, 10) for f in fits]
    assert stability(top[0], top[1:]).mean() < 0.9
