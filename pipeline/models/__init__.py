"""Topic-model backends, one module each, found by the config's ``backend`` tag.

Adding a backend: a module here that builds a ``Backend`` record and ``register``s it, and its
import below (or, outside the package, ``register`` called before the config is loaded).
"""

from pipeline.models import gensim_lda, sklearn_lda, sklearn_nmf  # noqa: F401  (each registers itself)
from pipeline.models.base import BACKENDS, Backend, Fit, TopicModelResult, backend_of, check_k, fit_model, register

__all__ = ["BACKENDS", "Backend", "Fit", "TopicModelResult", "backend_of", "check_k", "fit_model", "register"]
