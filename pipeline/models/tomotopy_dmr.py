"""Dirichlet-multinomial regression (Mimno & McCallum 2008) by tomotopy's ``DMRModel``: LDA
whose prior on each unit's topic mixture depends on the unit's covariates.

Unit d's prior on topic t is alpha_dt = exp(lambda_t0 + sum_c lambda_t,c(d)): an intercept
plus one coefficient per covariate level the unit has (speaker=..., year=...), every lambda
drawn from N(0, sigma^2) as in Mimno & McCallum (sec. 3). tomotopy holds them as
``lambda_[:, 0, :]``, the levels as its ``multi_metadata`` (one ``metadata`` value, ""; its
prior mean for every lambda is log ``alpha``, so ``alpha`` = 1 gives the paper's N(0, sigma^2)),
and re-estimates them by L-BFGS every 10 sweeps of the collapsed Gibbs sampler
(tomotopy src/TopicModel/DMRModel.hpp, ``getNegativeLambdaLL`` and ``optimizeParameters``).
A unit without a level (an undated unit's year) has no coefficient for that covariate.

Units fitted or held out are inferred with their own covariates (levels the model never saw
are left out: tomotopy aborts on them); texts that are no modelled unit (questions, new texts)
have no covariates and are inferred under the intercept alone, one prior for every question, so
that no official's prior is read into the questions put to them. The lambdas are written as
``prior_coefficients.csv``: log prior weights, not shares.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from pipeline.errors import ConfigError
from pipeline.models.base import Backend, Fit, register
from pipeline.models.tomotopy_lda import GibbsParams, documents, inferred, load, reinfer_by, save, score, trained
from pipeline.sections import ModelSection
from pipeline.vectorize import Matrices

Covariate = Literal["speaker", "year", "position", "question_outlet"]
INTERCEPT = "(intercept)"


class TomotopyDmrParams(GibbsParams):
    """tomotopy ``DMRModel`` trained by collapsed Gibbs sampling, its lambdas by L-BFGS."""

    sigma: float = Field(1.0, gt=0)  # standard deviation of the normal prior (mean 0) on every lambda


class TomotopyDmrModelConfig(ModelSection):
    backend: Literal["tomotopy_dmr"]
    covariates: tuple[Covariate, ...] = Field(("speaker", "year"), min_length=1)
    params: TomotopyDmrParams = TomotopyDmrParams()

    @field_validator("covariates")
    @classmethod
    def _once_each(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) < len(value):
            raise ValueError("a covariate is named twice")
        return value

    @property
    def prior_covariates(self) -> tuple[str, ...]:
        return self.covariates


def unit_levels(covariates: pd.DataFrame | None, names: list[str], n_units: int) -> list[list[str]]:
    """Each unit's covariate levels as tomotopy features (``speaker=Li Wei``, ``year=2021``);
    a missing value is no feature. Units with no covariates (None) have none."""
    if covariates is None:
        return [[] for _ in range(n_units)]
    columns = []
    for name in names:
        values = covariates[name]
        text = values.astype("Int64").astype(str) if name == "year" else values.astype(str)
        present = values.notna().to_numpy() & (text.to_numpy() != "")
        columns.append([f"{name}={value}" if keep else None for value, keep in zip(text, present)])
    return [[level for level in unit if level is not None] for unit in zip(*columns)] if columns else []


def fit(cfg: TomotopyDmrModelConfig, seed: int, matrices: Matrices) -> Fit:
    import tomotopy

    missing = [c for c in cfg.covariates if matrices.covariates is None or c not in matrices.covariates]
    if missing:
        raise ConfigError(f"model {cfg.name}: its units carry no {', '.join(missing)} for the prior's covariates")
    p = cfg.params
    model = tomotopy.DMRModel(k=cfg.k, alpha=1.0, eta=p.eta, sigma=p.sigma, seed=seed % 2**31)
    for tokens, levels in zip(documents(matrices), unit_levels(matrices.covariates, list(cfg.covariates),
                                                                len(matrices.bow))):
        model.add_doc(tokens, metadata="", multi_metadata=levels)
    result = trained(model, p, matrices)
    return dataclasses.replace(result, native={**result.native, "covariates": list(cfg.covariates)})


def infer(native, matrices: Matrices) -> np.ndarray:
    import tomotopy

    model = tomotopy.DMRModel.loads(native["model"])
    known = set(model.multi_metadata_dict)
    levels = [[level for level in unit if level in known]
              for unit in unit_levels(matrices.covariates, native["covariates"], len(matrices.bow))]
    priors = np.array([model.get_topic_prior("", unit) for unit in levels], dtype=float).reshape(-1, model.k)
    units = [(tokens, {"multi_metadata": unit}) for tokens, unit in zip(documents(matrices), levels)]
    return inferred(model, units, priors, native["infer_iterations"])


def prior_coefficients(native, matrices: Matrices) -> dict[str, pd.DataFrame]:
    """The fitted lambdas, one row per covariate level and topic, with the units that have the
    level (the intercept: every unit)."""
    import tomotopy

    model = tomotopy.DMRModel.loads(native["model"])
    lambdas = np.asarray(model.lambda_, dtype=float)[:, 0, :]  # k x (1 + levels)
    column = {INTERCEPT: 0, **{level: i + 1 for i, level in enumerate(model.multi_metadata_dict)}}
    held = pd.Series([level for unit in unit_levels(matrices.covariates, native["covariates"], len(matrices.bow))
                      for level in unit]).value_counts()
    levels = [(INTERCEPT, INTERCEPT, len(matrices.bow))] + [
        (name, level.split("=", 1)[1], int(held.get(level, 0)))
        for name in native["covariates"] for level in sorted(l for l in column if l.startswith(f"{name}="))]
    rows = [{"covariate": name, "level": value, "topic": topic, "n_units": n,
             "lambda": float(lambdas[topic, column[INTERCEPT if name == INTERCEPT else f"{name}={value}"]])}
            for name, value, n in levels for topic in range(model.k)]
    return {"prior_coefficients": pd.DataFrame(rows)}


BACKEND = register(Backend(name="tomotopy_dmr", family="lda", config=TomotopyDmrModelConfig, fit=fit, score=score,
                           save=save, load=load, infer=infer, reinfer=reinfer_by(infer), tables=prior_coefficients))
