"""Unit texts to token lists, offline and deterministic.

Order of steps: NFKC; NLTK regexp tokenisation on the text as written (Unicode letters kept:
``antónio``); case (``term_of``): all-capital acronyms keep their case (``US``, ``UN``,
``WHO``, ``G20``, ``5G``) and are never stopwords, everything else is lower-cased; aliases;
lemmas, except for acronyms, hyphenated compounds (``china-us``) and capitalised words inside
a sentence (proper names: ``Viet Nam`` stays ``viet nam``); configured multi-word expressions
(NLTK ``MWETokenizer``); learned phrases (gensim ``Phrases``, npmi) within the stretches
between configured expressions, so the two can never collide; stopwords, short tokens and bare
numbers dropped; vocabulary pruning (gensim ``Dictionary.filter_extremes``). The report says
what each step removed, so a researcher can see what the models saw.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.config import NormalizeConfig
from pipeline.errors import ConfigError

# Part of the token cache key: bump it when a change here changes the tokens of the same text.
NORMALIZER_VERSION = "5"
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_SENTENCE_END = frozenset('.!?:;"“”')


def is_acronym(token: str) -> bool:
    """All capitals, with two or more letters or a digit: US, UN, WHO, EU, G20, 5G (not I, A)."""
    letters = [c for c in token if c.isalpha()]
    return (bool(letters) and all(c.isupper() for c in letters) and "-" not in token
            and (len(letters) >= 2 or any(c.isdigit() for c in token)))


def term_of(token: str, sentence_start: bool) -> tuple[str, bool]:
    """A token's term and whether it may be lemmatised.

    Acronyms keep their case and are not lemmatised; a hyphenated compound or a capitalised
    word inside a sentence (a name) is lower-cased and not lemmatised ("China-US" -> china-us,
    not china-we); any other word is lower-cased and lemmatised. A possessive 's goes first. A
    curly apostrophe is a straight one (scrapes mix them: "I’m" and "I'm" are one term).
    """
    token = _POSSESSIVE.sub("", token.replace("’", "'")) or token
    if is_acronym(token):
        return token, False
    if "-" in token or (token[:1].isupper() and not sentence_start):
        return token.lower(), False
    return token.lower(), True


def starts_sentence(text: str, start: int) -> bool:
    """Whether the token at ``start`` opens the text or follows sentence-ending punctuation
    (and only whitespace after it). Looks back over that whitespace only, not the whole text
    before the token, which was quadratic in a paragraph's length."""
    before = start
    while before > 0 and text[before - 1].isspace():
        before -= 1
    return start == 0 or (before > 0 and text[before - 1] in _SENTENCE_END)


Lemmatizer = Callable[[str], str]


def make_lemmatizer(name: str) -> Lemmatizer:
    """simplemma (offline, bundled data), NLTK WordNet (needs its data installed), or none."""
    if name == "none":
        return str
    if name == "wordnet":
        import nltk
        from nltk.stem import WordNetLemmatizer

        try:
            nltk.data.find("corpora/wordnet")
        except LookupError:
            raise ConfigError(
                "normalize.lemmatizer: wordnet needs NLTK's WordNet data, which is not installed here; "
                "on a machine with internet run `python -m nltk.downloader -d ~/nltk_data wordnet` and copy "
                "~/nltk_data to this machine, or use lemmatizer: simplemma"
            ) from None
        wordnet = WordNetLemmatizer()
        return lambda token: wordnet.lemmatize(token).lower()
    import simplemma

    return lambda token: simplemma.lemmatize(token, lang="en").lower()


@dataclass(frozen=True)
class Normalized:
    tokens: list[list[str]]
    report: dict[str, Any]


def _lemmatized(texts: Iterable[str], cfg: NormalizeConfig, lemmatize: Lemmatizer) -> tuple[list[list[str]], set[str], int]:
    """Each text's terms after tokenising, case, aliases, lemmas and configured expressions; the
    configured expressions as named; and the count of raw tokens."""
    from nltk.tokenize import MWETokenizer, RegexpTokenizer

    tokenizer = RegexpTokenizer(cfg.token_pattern)
    # A corpus repeats a few thousand words hundreds of times: each is classified once.
    classified = functools.cache(term_of)
    raw: list[list[tuple[str, bool]]] = []
    for text in texts:
        text = unicodedata.normalize("NFKC", text)
        raw.append([classified(text[start:end], starts_sentence(text, start))
                    for start, end in tokenizer.span_tokenize(text)])
    aliases = {key.lower(): value for key, value in cfg.aliases.items()}
    lemmas: dict[tuple[str, bool], str] = {}
    for term, lemmatisable in {t for unit in raw for t in unit}:
        alias = aliases.get(term.lower())
        # Aliases and phrases are already canonical; lemmatising "new_energy_vehicle" or "5g" would only damage them.
        if alias is not None:
            lemmas[(term, lemmatisable)] = alias
        elif lemmatisable and not any(c.isdigit() for c in term):
            lemmas[(term, lemmatisable)] = lemmatize(term)
        else:
            lemmas[(term, lemmatisable)] = term
    expressions = [expression.lower().split() for expression in cfg.multiword_expressions]
    # Matched on lemmas ("integrated circuits" -> integrate circuit) but named as configured.
    spelled = {"_".join(lemmatize(w) for w in words): "_".join(words) for words in expressions}
    mwe = MWETokenizer([tuple(joined.split("_")) for joined in spelled], separator="_")
    units = [[spelled.get(t, t) for t in mwe.tokenize([lemmas[t] for t in tokens])] for tokens in raw]
    return units, set(spelled.values()), sum(map(len, raw))


def _phrased(units: list[list[str]], configured: set[str], phrases: Any) -> list[list[str]]:
    """Units with ``phrases`` (a gensim ``FrozenPhrases``) applied between configured expressions."""
    return [[t for stretch in _stretches(unit, configured) for t in
             (stretch if stretch[0] in configured else phrases[stretch])] for unit in units]


def _trimmer(configured: set[str], stopwords: frozenset[str]) -> Callable[[str], str]:
    @functools.cache
    def trimmed(token: str) -> str:
        """A learned phrase without stopwords at its edges ("above_designate" -> "designate")."""
        if "_" not in token or token in configured:
            return token
        parts = token.split("_")
        while parts and parts[0] in stopwords:
            parts.pop(0)
        while parts and parts[-1] in stopwords:
            parts.pop()
        return "_".join(parts) or token.split("_")[0]

    return trimmed


def normalize_texts(
    texts: Iterable[str], cfg: NormalizeConfig, stopwords: frozenset[str], lemmatize: Lemmatizer
) -> Normalized:
    from gensim.corpora import Dictionary
    from gensim.models.phrases import Phrases

    units, configured, tokens_raw = _lemmatized(texts, cfg, lemmatize)
    trimmed = _trimmer(configured, stopwords)
    dropped: Counter[str] = Counter()
    learned: list[dict[str, Any]] = []
    if cfg.phrases.enabled:
        # Learned before stopwords go, so words that were never adjacent never pair up
        # ("Central Committee and the State Council" must not give committee_state), and only
        # within the stretches between configured expressions, which are left out: gensim keys
        # the pair (supply, chain) as "supply_chain", so counting a configured "supply_chain" too
        # would inflate the pair's count and give an npmi above 1.
        stretches = [stretch for unit in units for stretch in _stretches(unit, configured)
                     if stretch[0] not in configured]
        phrases = Phrases(stretches, min_count=cfg.phrases.min_count, threshold=cfg.phrases.threshold,
                          scoring="npmi", delimiter="_", connector_words=frozenset()).freeze()
        before = sum(map(len, units))
        units = _phrased(units, configured, phrases)
        dropped["merged_into_phrases"] = before - sum(map(len, units))
        learned = [{"phrase": p, "npmi": round(float(s), 4), "term": trimmed(p)}
                   for p, s in sorted(phrases.phrasegrams.items(), key=lambda item: (-item[1], item[0]))]

    @functools.cache
    def dropped_as(token: str) -> str | None:
        """Why a token goes (stopword, number, short), or None when it stays."""
        if token in stopwords and not is_acronym(token):
            return "stopword"
        if cfg.drop_numbers and _NUMBER.match(token):
            return "number"
        if len(token) < cfg.min_token_length:
            return "short"
        return None

    filtered: list[list[str]] = []
    for unit in units:
        kept = []
        for token in map(trimmed, unit):
            reason = dropped_as(token)
            if reason is None:
                kept.append(token)
            else:
                dropped[reason] += 1
        filtered.append(kept)
    dictionary = Dictionary(filtered)
    too_common = cfg.vocabulary.no_above * len(filtered)
    pruned_common = sorted(({"term": dictionary[i], "units": n} for i, n in dictionary.dfs.items() if n > too_common),
                           key=lambda entry: (-entry["units"], entry["term"]))
    dictionary.filter_extremes(no_below=cfg.vocabulary.no_below, no_above=cfg.vocabulary.no_above,
                               keep_n=cfg.vocabulary.keep_n)
    kept_terms = set(dictionary.token2id)
    before = sum(map(len, filtered))
    tokens = [[t for t in unit if t in kept_terms] for unit in filtered]
    dropped["pruned_rare_or_common"] = before - sum(map(len, tokens))
    counts = Counter(t for unit in tokens for t in unit)
    report = {
        "units": len(tokens),
        "units_empty": sum(1 for unit in tokens if not unit),
        "tokens_raw": tokens_raw,
        "pruned_too_common": pruned_common,
        "tokens_kept": sum(counts.values()),
        "tokens_dropped": dict(sorted(dropped.items())),
        "vocabulary_size": len(kept_terms),
        "lemmatizer": cfg.lemmatizer,
        "stopwords": len(stopwords),
        "learned_phrases": learned,
        "top_terms": [{"term": t, "count": c} for t, c in sorted(counts.items(), key=lambda i: (-i[1], i[0]))[:30]],
    }
    return Normalized(tokens, report)


def normalize_as_learned(texts: Iterable[str], cfg: NormalizeConfig, lemmatize: Lemmatizer,
                         learned_phrases: list[dict[str, Any]], vocabulary: set[str]) -> list[list[str]]:
    """New texts normalised as a run's units were: the same steps and settings, the run's learned
    phrases (``learned_phrases`` of its normalisation report) instead of phrases learned anew,
    and the run's vocabulary instead of pruning. On the run's own units it gives their tokens:
    every stopword, number and short token is outside the vocabulary, so keeping the vocabulary's
    terms drops them as the run did."""
    from gensim.models.phrases import Phrases

    units, configured, _ = _lemmatized(texts, cfg, lemmatize)
    if learned_phrases:
        phrases = Phrases(min_count=1, threshold=cfg.phrases.threshold, scoring="npmi", delimiter="_",
                          connector_words=frozenset()).freeze()
        # Only a phrase's presence decides (gensim merges the first pair it finds, left to right),
        # so the reported npmi, rounded, is not needed.
        phrases.phrasegrams = {entry["phrase"]: float("inf") for entry in learned_phrases}
        units = _phrased(units, configured, phrases)
    as_term = {entry["phrase"]: entry["term"] for entry in learned_phrases}
    return [[term for term in (as_term.get(t, t) for t in unit) if term in vocabulary] for unit in units]


def _stretches(unit: list[str], configured: set[str]) -> list[list[str]]:
    """A unit cut before and after each configured expression (which stands alone)."""
    stretches: list[list[str]] = [[]]
    for token in unit:
        if token in configured:
            stretches += [[token], []]
        else:
            stretches[-1].append(token)
    return [stretch for stretch in stretches if stretch]


def stopword_set(cfg: NormalizeConfig, file_words: Iterable[str]) -> frozenset[str]:
    """sklearn's English list (optional) + the domain files' words + ``extra``."""
    words: set[str] = set()
    if cfg.stopwords.sklearn:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        words |= ENGLISH_STOP_WORDS
    words |= {w.strip().lower() for w in file_words if w.strip() and not w.lstrip().startswith("#")}
    words |= {w.lower() for w in cfg.stopwords.extra}
    return frozenset(words)


def cache_key(texts: Iterable[str], cfg: NormalizeConfig, stopwords: frozenset[str]) -> str:
    """Hash of everything the token lists depend on: texts, settings, stopwords, lemmatiser version."""
    from importlib import metadata

    digest = hashlib.sha256()
    for part in (NORMALIZER_VERSION, cfg.model_dump_json(), json.dumps(sorted(stopwords)), metadata.version("simplemma"),
                 metadata.version("gensim"), metadata.version("nltk")):
        digest.update(part.encode("utf-8") + b"\x00")
    for text in texts:
        digest.update(text.encode("utf-8") + b"\x00")
    return digest.hexdigest()
