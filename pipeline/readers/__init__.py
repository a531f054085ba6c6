"""Input formats, one module each, found by ``corpus.format``.

Adding a format: a module here that builds a ``Reader`` and ``register``s it, and its import
below (or, outside the package, ``register`` called before the config is loaded).
"""

from pipeline.readers import scio, turn_rows  # noqa: F401  (each registers itself)
from pipeline.readers.base import READERS, Reader, ReaderContext, decode_source, register

__all__ = ["READERS", "Reader", "ReaderContext", "decode_source", "register"]
