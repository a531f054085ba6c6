"""The one derivation of every seed and random generator from the run's root seed.

A computation is named by a path (``"nmf", "contrast", "xiao_vs_tian"``); its seed depends
only on the root seed and that name, so each table or refit is reproducible on its own and
stays the same when other models or tables are added or reordered.
"""

from __future__ import annotations

import zlib

import numpy as np


def seed_sequence(root: int, *names: str) -> np.random.SeedSequence:
    """numpy's ``SeedSequence`` for the named computation under ``root``."""
    return np.random.SeedSequence([root, zlib.crc32("/".join(names).encode("utf-8"))])


def derive_seed(root: int, *names: str) -> int:
    """An integer seed (0 <= seed < 2**32) for a library that takes one (gensim, scikit-learn)."""
    return int(seed_sequence(root, *names).generate_state(1)[0])


def rng_for(root: int, *names: str) -> np.random.Generator:
    """A generator for one named computation of ours (bootstrap, permutations, splits)."""
    return np.random.default_rng(seed_sequence(root, *names))
