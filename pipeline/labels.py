"""Topic names: researcher-chosen labels, else "T3: supply, chain, industrial"."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pipeline.errors import ConfigError


def topic_labels(topic_terms: pd.DataFrame, custom: Mapping[int, str] | None = None, n_terms: int = 3) -> dict[int, str]:
    """A label per topic: the custom one where given, else its id and top terms by probability."""
    custom = custom or {}
    labels = {}
    for topic, terms in topic_terms.sort_values(["topic", "rank"]).groupby("topic"):
        labels[int(topic)] = custom.get(int(topic)) or f"T{topic}: " + ", ".join(terms.term.head(n_terms))
    return labels


def validate_labels(data: object, models: Mapping[str, int]) -> dict[str, dict[int, str]]:
    """Checks a labels file ({model: {topic id: name}}) against the run's models and their k."""
    if not isinstance(data, dict):
        raise ConfigError("labels: the file must map model names to {topic id: label}")
    checked: dict[str, dict[int, str]] = {}
    for model, entries in data.items():
        if model not in models:
            raise ConfigError(f"labels: no model {model!r} in this run (models: {', '.join(models)})")
        if not isinstance(entries, dict):
            raise ConfigError(f"labels.{model}: expected {{topic id: label}}")
        checked[model] = {}
        for topic, label in entries.items():
            if not isinstance(topic, int) or not 0 <= topic < models[model]:
                raise ConfigError(f"labels.{model}.{topic}: topic ids are 0 to {models[model] - 1}")
            if not isinstance(label, str) or not label.strip():
                raise ConfigError(f"labels.{model}.{topic}: a label must be non-empty text")
            named = next((other for other, given in checked[model].items() if given == label.strip()), None)
            if named is not None:
                raise ConfigError(f"labels.{model}: topics {named} and {topic} have the same label {label.strip()!r}; "
                                  "tables and figures could not tell them apart (give each topic its own label)")
            checked[model][topic] = label.strip()
    return checked
