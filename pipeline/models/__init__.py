"""Topic-model backends, dispatched by the config's ``backend`` tag."""

from pipeline.models import gensim_lda, sklearn_lda, sklearn_nmf
from pipeline.models.base import FitFunction, TopicModelResult, check_k, derive_seed, fit_model

BACKENDS: dict[str, FitFunction] = {
    "gensim_lda": gensim_lda.fit,
    "sklearn_lda": sklearn_lda.fit,
    "sklearn_nmf": sklearn_nmf.fit,
}

# Held-out evaluation for the probabilistic backends (NMF has no likelihood).
LOG_PERPLEXITY = {
    "gensim_lda": gensim_lda.log_perplexity,
    "sklearn_lda": sklearn_lda.log_perplexity,
}

__all__ = ["BACKENDS", "LOG_PERPLEXITY", "TopicModelResult", "check_k", "derive_seed", "fit_model"]
