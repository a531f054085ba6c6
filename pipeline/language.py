"""Which language a paragraph is in, by a language-identification model (py3langid, whose
model ships in its wheel: nothing is downloaded).

py3langid is Lui & Baldwin's langid.py (2012): a naive Bayes classifier over byte n-grams of
97 languages. A paragraph gets the model's most probable language when its normalised
probability is at least ``MIN_CONFIDENCE``, else ``und`` (undetermined): "OK." and "Yes." are
too short for any model (their best guesses are Serbian at 0.01 and Kabyle at 0.09), and
"Thank you." scores English at 0.40. Short paragraphs fall below ``corpus.units.min_words``
anyway, so ``und`` rarely decides what is modelled. A paragraph is read from its first
``SAMPLE_CHARACTERS`` characters.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

import pandas as pd

MIN_CONFIDENCE = 0.5
EVERY_LANGUAGE = "*"
# The model reads this many characters: on the bundled corpus the first 300 give every
# paragraph the language its whole text gets, in half the time (0.12 against 0.27 ms).
SAMPLE_CHARACTERS = 400


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def paragraph_language(text: str) -> str:
    """The ISO 639-1 code of the paragraph's language ("en", "tl", "zh"), or "und"."""
    if not any(char.isalpha() for char in text):
        return "und"
    language, probability = _identifier().classify(text[:SAMPLE_CHARACTERS])
    return language if probability >= MIN_CONFIDENCE else "und"


def in_languages(languages_of: pd.Series, languages: Collection[str]) -> pd.Series:
    """Which paragraphs (by their ``lang``) are in ``languages``; "*" takes every language (a
    corpus of invented words, such as the test suite's planted ones, is in none)."""
    return pd.Series(True, index=languages_of.index) if EVERY_LANGUAGE in languages else languages_of.isin(languages)
