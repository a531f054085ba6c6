"""A planted SCIO-format corpus: transcript pages whose officials' answers are drawn from LDA's
generative process with known topics and known speaker preferences.

Words are invented (``bakume``, ``tolivo``, ...) so that no stopword list, lemmatiser or
phrase model changes them; each paragraph is ordinary page text ("Name:" labels, questions
ending in "?", a header with the speaker list), so the whole pipeline runs on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

K = 6
# A run's settings for a planted corpus in data/planted/: its invented words are in no language
# the language model knows, so every language is modelled.
PLANTED_INPUTS = ("--set", "corpus.inputs=[data/planted/*.txt]", "--set", "corpus.units.languages=['*']")
SPEAKERS = ("Li Wei", "Wang Fang", "Zhang Min", "Chen Jing")
MODERATOR = "Zhou Ling"
OUTLETS = ("Xinhua", "CCTV", "Reuters", "China Daily", "Bloomberg")
SYLLABLES = [c + v for c in "bdfgklmnprtvz" for v in "aeiou"]
FILLER = ("the", "and", "we", "will", "of", "to", "in", "this")


@dataclass(frozen=True)
class Planted:
    topics: np.ndarray  # K x V topic-word distributions over ``vocabulary``
    vocabulary: list[str]
    speaker_shares: pd.DataFrame  # speakers x K: mean planted topic share of each speaker's paragraphs


def invented_words(rng: np.random.Generator, n: int) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES, 3)))
    return sorted(words)


def official_names(n: int, seed: int) -> tuple[str, ...]:
    """``SPEAKERS`` and, beyond them, invented names ("Bako Tivu"), from their own stream."""
    rng = np.random.default_rng([seed, 1])
    invented = [" ".join("".join(rng.choice(SYLLABLES, 2)).capitalize() for _ in range(2))
                for _ in range(max(0, n - len(SPEAKERS)))]
    return (SPEAKERS + tuple(invented))[:n]


def _dealt(names: tuple[str, ...], quota: tuple[int, int], conferences: int, answers: int,
           seed: int) -> list[list[str]]:
    """Who answers at each conference: every official between quota[0] and quota[1] times,
    in a shuffled order, ``answers`` to a conference and the rest to the last."""
    rng = np.random.default_rng([seed, 2])
    turns = [name for name in names for _ in range(int(rng.integers(quota[0], quota[1] + 1)))]
    rng.shuffle(turns)
    return [turns[c * answers:(c + 1) * answers] for c in range(conferences - 1)] + [turns[(conferences - 1) * answers:]]


def write_planted_corpus(folder: Path, *, seed: int = 0, conferences: int = 10, answers: int = 12,
                         paragraphs: int = 3, words: tuple[int, int] = (35, 60),
                         speakers_by_year: dict[int, tuple[str, ...]] | None = None,
                         year_boost: tuple[int, int] | None = None, questions: str = "word",
                         topical: bool = True, small_groups: tuple[int, int, int] | None = None) -> Planted:
    """Writes ``conferences`` pages into ``folder`` and returns the planted truth.

    Each topic has 20 core words (most of its mass) and shares 40 background words; each
    official prefers two topics (Dirichlet prior 2.0 on them, 0.1 elsewhere). With
    ``speakers_by_year`` only those officials answer in each year (years 2020-2022, conference
    c in 2020 + c % 3) and every official has the same flat prior (0.5); ``year_boost`` =
    (year, topic) raises that topic's prior to 3.0 in that year: an effect of year alone.
    ``questions``: "word" asks about one random word; "copied" draws a 30-word question from
    one topic and the answer's paragraphs mostly (0.9) from that same topic; "unrelated" draws
    the question from one topic and the answer from another; "ignored" draws the answer's topic
    without looking at the question (the same topic one time in K). ``topical`` False writes a
    corpus with no topics: every paragraph's words come from the same mixture (1/K of each
    topic), so the words' frequencies are those of a topical corpus but nothing co-occurs.
    ``small_groups`` = (officials, fewest, most): that many officials, each answering between
    ``fewest`` and ``most`` times in the whole corpus, their answers dealt over the conferences
    in a shuffled order (``answers`` is then each conference's share of them, the last takes
    the rest).
    """
    rng = np.random.default_rng(seed)
    names = official_names(small_groups[0], seed) if small_groups else SPEAKERS
    schedule = _dealt(names, small_groups[1:], conferences, answers, seed) if small_groups else []
    vocabulary = invented_words(rng, K * 20 + 40)
    topics = np.zeros((K, len(vocabulary)))
    for t in range(K):
        topics[t, t * 20:(t + 1) * 20] = 0.85 * rng.dirichlet(np.full(20, 1.0))
        topics[t, K * 20:] = 0.15 * rng.dirichlet(np.full(40, 1.0))
    preference = np.full((len(names), K), 0.5 if speakers_by_year else 0.1)
    for s in range(len(names)):
        if not speakers_by_year:
            preference[s, [s % K, (s + 2) % K]] = 2.0
    drawn: dict[str, list[np.ndarray]] = {s: [] for s in names}
    folder.mkdir(parents=True, exist_ok=True)
    for c in range(conferences):
        lines = [f"SCIO press conference on planted topics number {c + 1}", "",
                 f"March {c + 1}, {2020 + c % 3}", ""]
        lines += [f"Mr. {name}, vice minister of industry and information technology" for name in names] + [""]
        lines += [f"Ms. {MODERATOR}, deputy director general of the Press Bureau of the State Council "
                  "Information Office (SCIO) and SCIO spokesperson", ""]
        lines += [f"{MODERATOR}:", "Good morning. The floor is open for questions.", ""]
        year = 2020 + c % 3
        answering = speakers_by_year[year] if speakers_by_year else SPEAKERS
        for a in range(len(schedule[c]) if small_groups else answers):
            speaker = schedule[c][a] if small_groups else answering[rng.integers(len(answering))]
            outlet = OUTLETS[a % len(OUTLETS)]
            asked = int(rng.integers(K))
            if questions == "word":
                question = f"What is the plan for {vocabulary[rng.integers(len(vocabulary))]} this year"
            else:
                question = " ".join(vocabulary[rng.choice(len(vocabulary), p=topics[asked])] for _ in range(30))
            lines += [f"{outlet}:", question.capitalize() + "?", "", f"{speaker}:"]
            answered = {"copied": asked, "ignored": int(rng.integers(K))}.get(
                questions, (asked + 1 + int(rng.integers(K - 1))) % K)
            for _ in range(paragraphs):
                prior = preference[names.index(speaker)].copy()
                if year_boost and year == year_boost[0]:
                    prior[year_boost[1]] = 3.0
                theta = rng.dirichlet(prior)
                if questions != "word":
                    theta = 0.1 * theta + 0.9 * np.eye(K)[answered]
                if not topical:
                    theta = np.full(K, 1 / K)
                drawn[speaker].append(theta)
                n = int(rng.integers(*words))
                assignments = rng.choice(K, size=n, p=theta)
                tokens = [vocabulary[rng.choice(len(vocabulary), p=topics[z])] for z in assignments]
                for i in range(4, len(tokens), 5):
                    tokens[i] = f"{FILLER[i % len(FILLER)]} {tokens[i]}"
                lines += [" ".join(tokens).capitalize() + ".", ""]
        (folder / f"planted_{c:02d}.txt").write_text("\n".join(lines), encoding="utf-8")
    shares = pd.DataFrame({s: np.mean(v, axis=0) for s, v in drawn.items() if v}).T
    return Planted(topics, vocabulary, shares)


def best_match_cosines(truth: np.ndarray, vocabulary: list[str], topic_term: np.ndarray,
                       fitted_vocabulary: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """For each planted topic, the cosine of the most similar fitted topic, and which topic that is."""
    column = {w: i for i, w in enumerate(vocabulary)}
    fitted = np.zeros((topic_term.shape[0], len(vocabulary)))
    for j, word in enumerate(fitted_vocabulary):
        if word in column:
            fitted[:, column[word]] += topic_term[:, j]
    a = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    b = fitted / np.maximum(np.linalg.norm(fitted, axis=1, keepdims=True), 1e-12)
    similarity = a @ b.T
    return similarity.max(axis=1), similarity.argmax(axis=1)


def speaker_share_correlation(planted: Planted, by_speaker: pd.DataFrame, matched: np.ndarray) -> float:
    """Correlation of estimated with planted speaker shares, fitted topics matched to planted ones."""
    estimated = by_speaker.pivot(index="group", columns="topic", values="share")
    pairs = [(planted.speaker_shares.loc[s, t], estimated.loc[s, matched[t]])
             for s in planted.speaker_shares.index for t in range(K)]
    return float(np.corrcoef(np.array(pairs).T)[0, 1])
