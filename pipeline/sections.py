"""Base classes of config sections, shared by ``config.py`` and the modules that own a section
(a backend's parameters live beside its fit function in ``pipeline/models/``)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Regex = Annotated[str, Field(min_length=1)]


class Section(BaseModel):
    """A config section: unknown keys are errors, values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSection(Section):
    """One entry of ``models``: what every backend's config has; a backend adds ``backend``
    (its tag, a ``Literal``) and ``params`` (its own parameter section)."""

    name: str = Field(pattern=NAME_PATTERN)
    k: int = Field(ge=2)
    seed: int | None = Field(None, ge=0, le=2**32 - 1)

    @property
    def prior_covariates(self) -> tuple[str, ...]:
        """The unit metadata the model's prior depends on (none: a model blind to who speaks)."""
        return ()


def check_regex(pattern: str) -> str:
    """The pattern unchanged, or ``ValueError`` saying why it does not compile."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return pattern
