"""Normalisation steps, each with input/expected pairs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import NormalizeConfig
from pipeline.errors import ConfigError
from pipeline.normalize import cache_key, make_lemmatizer, normalize_texts, starts_sentence, stopword_set

KEEP_ALL = {"vocabulary": {"no_below": 1, "no_above": 1.0}, "phrases": {"enabled": False}}


def tokens_of(text: str, **settings) -> list[str]:
    cfg = NormalizeConfig.model_validate({**KEEP_ALL, **settings})
    return normalize_texts([text], cfg, stopword_set(cfg, []), make_lemmatizer(cfg.lemmatizer)).tokens[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5G and 6G networks", ["5G", "6G", "network"]),  # acronyms keep their case
        # Entities: acronyms that are also stopwords survive; names and compounds are not lemmatised.
        ("the US and the UN", ["US", "UN"]),
        ("WHO, EU and G20 members", ["WHO", "EU", "G20", "member"]),
        ("China-US trade", ["china-us", "trade"]),
        ("They met António Guterres", ["meet", "antónio", "guterres"]),
        ("Trade with Viet Nam grew", ["trade", "viet", "nam", "grow"]),
        ("China's exports", ["china", "export"]),
        ("Us and who", []),  # the pronouns themselves are still stopwords
        ("COVID-19 controls", ["covid-19", "control"]),
        ("the 14th Five-Year Plan", ["14th", "five-year", "plan"]),
        ("ＦＵＬＬ－ＷＩＤＴＨ chips", ["full-width", "chip"]),  # NFKC
        ("Growth of 9.6% in 2021", ["growth"]),  # numbers dropped, stopword "of"
        ("enterprises' supply chains", ["enterprise", "supply", "chain"]),
        ("I’m sure; I'm sure", ["i'm", "sure", "i'm", "sure"]),  # curly or straight: one term
    ],
)
def test_tokens(text, expected):
    assert tokens_of(text) == expected


def test_aliases_and_multiword_expressions():
    settings = {"aliases": {"smes": "sme", "nevs": "new_energy_vehicle"},
                "multiword_expressions": ["integrated circuit", "new energy vehicle"]}
    assert tokens_of("SMEs make integrated circuits and new energy vehicles; NEVs too", **settings) == [
        "sme", "make", "integrated_circuit", "new_energy_vehicle", "new_energy_vehicle"]


def test_stopwords_from_sklearn_files_and_extra():
    cfg = NormalizeConfig.model_validate({"stopwords": {"sklearn": True, "extra": ["Chip"]}})
    words = stopword_set(cfg, ["# comment", "thank", "", "  question  "])
    assert {"the", "thank", "question", "chip"} <= words and "# comment" not in words
    assert tokens_of("Thank you for the question about chips", stopwords={"extra": ["thank", "question"]}) == ["chip"]


def test_learned_phrases_use_npmi_and_are_reported():
    cfg = NormalizeConfig.model_validate({"vocabulary": {"no_below": 1, "no_above": 1.0},
                                          "phrases": {"min_count": 3, "threshold": 0.5}})
    texts = ["rare earth exports grew", "rare earth prices", "rare earth mining rules", "exports and prices",
             "mining grew"]
    result = normalize_texts(texts, cfg, stopword_set(cfg, []), make_lemmatizer("simplemma"))
    assert result.tokens[0] == ["rare_earth", "export", "grow"]
    assert [p["phrase"] for p in result.report["learned_phrases"]] == ["rare_earth"]
    assert 0.5 < result.report["learned_phrases"][0]["npmi"] <= 1


def test_pruning_and_report():
    cfg = NormalizeConfig.model_validate({"phrases": {"enabled": False},
                                          "vocabulary": {"no_below": 2, "no_above": 0.7}})
    texts = ["chip chip steel", "chip steel", "chip", "quantum"]
    result = normalize_texts(texts, cfg, stopword_set(cfg, []), make_lemmatizer("none"))
    # "chip" is in 3 of 4 units (> 0.7), "quantum" in 1 (< 2): both pruned.
    assert result.tokens == [["steel"], ["steel"], [], []]
    report = result.report
    assert report["units_empty"] == 2 and report["vocabulary_size"] == 1
    assert report["tokens_raw"] == 7 and report["tokens_kept"] == 2
    assert report["tokens_dropped"]["pruned_rare_or_common"] == 5
    assert report["top_terms"] == [{"term": "steel", "count": 2}]


def test_wordnet_without_its_data_fails_with_instructions(monkeypatch):
    import nltk

    def missing(_):
        raise LookupError("wordnet")

    monkeypatch.setattr(nltk.data, "find", missing)
    with pytest.raises(ConfigError, match=r"normalize.lemmatizer: wordnet needs NLTK's WordNet data.*nltk.downloader"):
        make_lemmatizer("wordnet")


def test_cache_key_changes_with_texts_settings_and_stopwords():
    cfg = NormalizeConfig()
    base = cache_key(["a b"], cfg, frozenset({"x"}))
    assert base == cache_key(["a b"], cfg, frozenset({"x"}))
    assert base != cache_key(["a b "], cfg, frozenset({"x"}))
    assert base != cache_key(["a b"], cfg.model_copy(update={"min_token_length": 3}), frozenset({"x"}))
    assert base != cache_key(["a b"], cfg, frozenset({"y"}))
    assert cache_key(["ab", "c"], cfg, frozenset()) != cache_key(["a", "bc"], cfg, frozenset())


def test_terms_pruned_as_too_common_are_listed():
    cfg = NormalizeConfig(phrases={"enabled": False}, vocabulary={"no_below": 1, "no_above": 0.5})
    texts = ["chips and steel", "chips and coal", "chips and wind"]
    report = normalize_texts(texts, cfg, stopword_set(cfg, []), make_lemmatizer("none")).report
    assert report["pruned_too_common"] == [{"term": "chips", "units": 3}]


def test_learned_phrases_never_collide_with_configured_expressions():
    """A configured expression is not counted as the pair it spells, so npmi stays <= 1."""
    cfg = NormalizeConfig(multiword_expressions=("rare earth",), phrases={"min_count": 2, "threshold": 0.1},
                          vocabulary={"no_below": 1})
    texts = ["rare earth exports grow", "rare earth mines", "new rare earth rules", "steel output grows"] * 3
    report = normalize_texts(texts, cfg, stopword_set(cfg, []), make_lemmatizer("simplemma")).report
    assert all(p["npmi"] <= 1 for p in report["learned_phrases"])
    assert "rare_earth" not in {p["phrase"] for p in report["learned_phrases"]}
    assert {t["term"] for t in report["top_terms"]} >= {"rare_earth"}


@given(st.text(alphabet=st.sampled_from(list('ab. ?!:;"“”\n\t\u3000\x1c,')), max_size=40), st.data())
def test_sentence_start_looks_back_over_whitespace_only(text, data):
    """The linear look-back gives what the regular expression on the whole text before the
    token gave (punctuation, then only whitespace, up to the token)."""
    start = data.draw(st.integers(0, len(text)))
    by_regex = start == 0 or bool(re.search(r"[.!?:;\"“”]\s*$", text[:start]))
    assert starts_sentence(text, start) == by_regex
