"""Topic-model backends, one module each, found by the config's ``backend`` tag.

Adding a backend: a module here that builds a ``Backend`` record and ``register``s it, and its
import below (or, outside the package, ``register`` called before the config is loaded).
"""

from pipeline.models import gensim_lda, sklearn_lda, sklearn_nmf, tomotopy_dmr, tomotopy_lda  # noqa: F401  (each registers itself)
from pipeline.models.base import BACKENDS, Backend, Fit, TopicModelResult, check_k, fit_model, mixtures_under, register

# The models of a config that lists none, and the backends a sweep compares by default.
DEFAULT_MODELS = ({"name": "lda", "backend": "tomotopy_lda", "k": 8}, {"name": "nmf", "backend": "sklearn_nmf", "k": 8})

__all__ = ["DEFAULT_MODELS", "BACKENDS", "Backend", "Fit", "TopicModelResult", "check_k", "fit_model", "mixtures_under", "register"]
