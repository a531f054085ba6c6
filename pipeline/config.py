"""The one validated, frozen run configuration.

YAML is parsed into pydantic models with ``extra="forbid"``; overrides use dotted paths
(``--set corpus.units.min_words=30``) whose values are read as YAML. Validation errors are
turned into a single line naming the key's dotted path and what was expected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, get_args

import yaml
from pydantic import Field, SerializeAsAny, ValidationError, WrapValidator, field_validator, model_validator
from pydantic_core import PydanticCustomError

from pipeline.errors import ConfigError
from pipeline.models import BACKENDS, DEFAULT_MODELS
from pipeline.readers import READERS
from pipeline.readers.scio import ScioConfig
from pipeline.readers.turn_rows import ColumnsConfig
from pipeline.sections import NAME_PATTERN, ModelSection, Section, check_regex

Role = Literal["official", "moderator", "journalist", "unknown"]
Kind = Literal["statement", "question", "answer", "procedural", "unknown"]


class RunConfig(Section):
    name: str = Field("default", pattern=NAME_PATTERN, max_length=100)
    output_dir: str = "outputs"
    seed: int = Field(20210301, ge=0, le=2**32 - 1)


class UnitsConfig(Section):
    level: Literal["paragraph", "answer"] = "paragraph"
    roles: tuple[Role, ...] = Field(("official",), min_length=1)
    kinds: tuple[Kind, ...] = Field(("statement", "answer"), min_length=1)
    min_words: int = Field(20, ge=1)
    languages: tuple[str, ...] = Field(("en", "und"), min_length=1)  # und: too short for the model to tell


def _registered(value: str, registry: dict[str, Any]) -> str:
    """The value if a registry holds it, else the error pydantic gives for a literal."""
    if value not in registry:
        names = [f"'{name}'" for name in registry]
        expected = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
    return value


class CorpusConfig(Section):
    inputs: tuple[str, ...] = Field(("data/transcripts/*.txt",), min_length=1)
    format: str = "scio"  # a registered reader: pipeline/readers/
    columns: ColumnsConfig = ColumnsConfig()
    speakers: str | None = "configs/speakers.yaml"
    date_overrides: dict[str, dt.date] = Field(default_factory=dict)
    # Which pages are one conference: "auto" (a title and a held date, a sub-page published up to
    # 14 days later that quotes it or is numbered, pages of one day and one speaker list),
    # "same_day" (a title and a date, nothing else), "never" (each file its own conference).
    # Undated pages never merge.
    merge: Literal["auto", "same_day", "never"] = "auto"
    units: UnitsConfig = UnitsConfig()
    scio: ScioConfig = ScioConfig()

    @field_validator("format")
    @classmethod
    def _registered_format(cls, value: str) -> str:
        return _registered(value, READERS)


class PhrasesConfig(Section):
    """Learned collocations (gensim ``Phrases`` with npmi scoring, Bouma 2009)."""

    enabled: bool = True
    min_count: int = Field(5, ge=1)
    threshold: float = Field(0.5, gt=-1, le=1)


class StopwordsConfig(Section):
    sklearn: bool = True
    files: tuple[str, ...] = ("configs/stopwords/domain.txt",)
    extra: tuple[str, ...] = ()


class VocabularyConfig(Section):
    """Pruning as gensim ``Dictionary.filter_extremes``: counts are of units, not tokens."""

    no_below: int = Field(2, ge=1)
    no_above: float = Field(1.0, gt=0, le=1)
    keep_n: int | None = Field(None, ge=1)


TOKEN_PROBE = "The industry grew 5% in 2021, the minister said."


class NormalizeConfig(Section):
    token_pattern: str = r"[^\W_]+(?:[-'’][^\W_]+)*"
    aliases: dict[str, str] = Field(default_factory=dict)
    multiword_expressions: tuple[str, ...] = ()
    lemmatizer: Literal["simplemma", "wordnet", "none"] = "simplemma"
    stopwords: StopwordsConfig = StopwordsConfig()
    min_token_length: int = Field(2, ge=1)
    drop_numbers: bool = True
    phrases: PhrasesConfig = PhrasesConfig()
    vocabulary: VocabularyConfig = VocabularyConfig()

    @field_validator("token_pattern")
    @classmethod
    def _tokenises(cls, value: str) -> str:
        compiled = re.compile(check_regex(value))
        if compiled.groups:
            raise ValueError("a token pattern may not capture groups: write (?:...) instead of (...)")
        if not compiled.findall(TOKEN_PROBE):
            raise ValueError(f"the pattern finds no token in {TOKEN_PROBE!r}")
        return value


def _backend_config(value: Any, handler) -> ModelSection:
    """Validates a ``models`` entry with the config class of the backend its tag names."""
    if isinstance(value, ModelSection):
        return value
    if not isinstance(value, dict) or "backend" not in value:
        raise PydanticCustomError("union_tag_not_found", "Unable to extract tag using discriminator 'backend'")
    backend = BACKENDS.get(value["backend"])
    if backend is None:
        raise PydanticCustomError(
            "union_tag_invalid",
            "Input tag '{tag}' found using 'backend' does not match any of the expected tags: {expected}",
            {"tag": str(value["backend"]), "expected": ", ".join(f"'{b}'" for b in BACKENDS)},
        )
    return backend.config.model_validate(value)


# Any registered backend's entry, serialised with all of its own fields.
ModelConfig = SerializeAsAny[Annotated[ModelSection, WrapValidator(_backend_config)]]


class TablesConfig(Section):
    top_n: int = Field(20, ge=1, le=1000)
    frex_weight: float = Field(0.5, ge=0, le=1)
    relevance_lambda: float = Field(0.6, ge=0, le=1)
    representative_n: int = Field(5, ge=1, le=1000)


GroupColumn = Literal["speaker", "year", "position", "conference_id", "question_outlet", "kind"]


class Contrast(NamedTuple):
    """One contrast, A minus B on ``column``, tested by permuting labels within ``within``."""

    name: str
    column: str
    group_a: str
    group_b: str
    within: str


class CompareConfig(Section):
    """Emphasis comparisons on answers: group shares, the design, contrasts within strata."""

    by: tuple[str | tuple[str, ...], ...] = ("speaker", "year", ("speaker", "year"))
    kinds: tuple[Kind, ...] = Field(("answer",), min_length=1)
    weight: Literal["answers", "tokens"] = "answers"
    level: float = Field(0.95, gt=0.5, lt=1)  # of every interval
    permutations: int = Field(5000, ge=100, le=1_000_000)
    exact_limit: int = Field(100_000, ge=1, le=10_000_000)
    min_answers: int = Field(5, ge=2)
    min_conferences: int = Field(3, ge=2)  # a group's interval needs answers from this many conferences
    significance: float = Field(0.05, gt=0, lt=1)
    multiplicity: Literal["by", "bh"] = "by"
    formula: str = Field("C(speaker) + C(year)", min_length=1, max_length=500)
    hold_question: bool = False  # effects.csv holds the question's share of each topic fixed
    conference_effects: bool = True  # the joint model holds the conference fixed where the contrast varies within it
    min_clusters: int = Field(20, ge=2)
    draws: int = Field(50, ge=2, le=10_000)
    refit_draws: int = Field(20, ge=2, le=1000)  # refits on subsamples for a backend without a posterior (NMF)
    draw_match: float = Field(0.5, ge=0, le=1)  # a refit's topic below this cosine to the reported one is no draw
    contrasts: dict[str, dict[str, tuple[str | int, str | int] | str]] = Field(default_factory=dict)

    @field_validator("by")
    @classmethod
    def _groupings(cls, value: tuple) -> tuple:
        known = get_args(GroupColumn)
        for index, grouping in enumerate(value):
            columns = (grouping,) if isinstance(grouping, str) else grouping
            if not 1 <= len(columns) <= 2:
                raise ValueError(f"grouping {index} has {len(columns)} columns; a grouping is one column or a pair")
            for column in columns:
                if column not in known:
                    raise ValueError(f"grouping {index}: unknown column {column!r} (known: {', '.join(known)})")
        return value

    @field_validator("contrasts")
    @classmethod
    def _one_column_each(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        known = get_args(GroupColumn)
        for name, spec in value.items():
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
                raise ValueError(f"contrast name {name!r} must be letters, digits, _ . - (it names files)")
            columns = [c for c in spec if c != "within"]
            if len(columns) != 1 or columns[0] not in known or isinstance(spec[columns[0]], str):
                raise ValueError(f"contrast {name!r} must name exactly one column ({', '.join(known)}) with two "
                                 f"groups, e.g. {{speaker: [A, B]}}, and optionally within: <column>")
            within = spec.get("within", "conference_id")
            if within not in known or within == columns[0]:
                raise ValueError(f"contrast {name!r}: within must be another column ({', '.join(known)})")
        return value

    def contrast_list(self) -> list[Contrast]:
        """The contrasts as records; labels are permuted within conferences unless ``within`` says otherwise."""
        result = []
        for name, spec in self.contrasts.items():
            column = next(c for c in spec if c != "within")
            group_a, group_b = (str(v) for v in spec[column])
            result.append(Contrast(name, column, group_a, group_b, str(spec.get("within", "conference_id"))))
        return result


class DistinctiveConfig(Section):
    """Fightin' Words (Monroe, Colaresi & Quinn 2008) for every contrast."""

    prior_strength: float = Field(500.0, gt=0, le=1e9)  # alpha_0: the prior counts as this many tokens
    top_n: int = Field(15, ge=1, le=1000)  # words per side in the LaTeX/Markdown tables and labelled in figures
    permutations: int = Field(200, ge=20, le=100_000)  # shuffles for the count of |z| > 3 expected by chance


class FiguresConfig(Section):
    # Every figure is drawn at one width, text at 8-9 pt at that print size: "page" (the full
    # text width) or "column" (one column of a two-column paper; topic grids get two columns).
    width: Literal["page", "column"] = "page"
    column_width: float = Field(3.5, gt=1, le=20)  # inches, one paper column
    page_width: float = Field(7.0, gt=2, le=40)  # inches, full text width

    @property
    def inches(self) -> float:
        """The width every figure is drawn at."""
        return self.column_width if self.width == "column" else self.page_width
    dpi: int = Field(200, ge=72, le=1200)
    pdf: bool = False  # a vector PDF beside each PNG, for papers (a third more drawing time)
    draw: bool = True  # false: tables and reports without figures (for runs whose tables are all that is needed)
    top_terms: int = Field(8, ge=3, le=50)
    max_groups: int = Field(10, ge=2, le=50)
    browser: bool = True  # topics.html, the offline topic browser (drawn with the figures)
    browser_passages: int = Field(20, ge=1, le=1000)  # passages per topic the browser can show


class EvaluateConfig(Section):
    """Diagnostics of each fitted model (definitions in ``pipeline/diagnostics.py``)."""

    coherence_top_n: int = Field(10, ge=2)
    coherence_bootstrap: int = Field(20, ge=0, le=1000)  # resamples of the reference texts for coherence's SD; 0: none
    # Plain-text files (globs) to score coherence on instead of the modelled units: each
    # blank-line-separated paragraph is a reference document, normalised like the units.
    coherence_reference: tuple[str, ...] = ()
    diversity_top_n: int = Field(25, ge=1)
    heldout_share: float = Field(0.1, gt=0, lt=0.5)
    stability_seeds: int = Field(5, ge=1, le=100)  # restarts: the best by the fit's objective is reported
    resamples: int = Field(5, ge=0, le=100)  # refits on subsamples for resampling stability
    resample_share: float = Field(0.8, gt=0.2, lt=1)
    stability_top_n: int = Field(10, ge=2)
    min_match_jaccard: float = Field(0.25, ge=0, le=1)  # average Jaccard below which a refit topic is "no match"
    # The exploratory gate: a model below any of these is exploratory (calibrated in DESIGN).
    stability_threshold: float = Field(0.55, ge=0, le=1)  # seed and resampling stability (average Jaccard)
    min_topic_diversity: float = Field(0.5, ge=0, le=1)
    min_tokens_per_parameter: float = Field(1.5, ge=0)
    min_heldout_gain: float = Field(0.1)  # nats per word over the unigram model (models with a likelihood)
    alignment_threshold: float = Field(0.5, ge=0, le=1)
    n_jobs: int | None = Field(None, ge=1, le=256)


class KRange(Section):
    start: int = Field(ge=2)
    stop: int = Field(ge=2)
    step: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _not_empty(self) -> "KRange":
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop}) is below start ({self.start}): the range of k is empty")
        return self

    def values(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.stop + 1, self.step))


class SweepConfig(Section):
    """A grid over k, seeds and backends for ``python -m pipeline sweep``."""

    k: tuple[int, ...] | KRange = KRange(start=4, stop=16, step=2)
    seeds: int = Field(3, ge=1, le=100)
    backends: tuple[str, ...] = Field(tuple(m["backend"] for m in DEFAULT_MODELS), min_length=1)
    n_jobs: int | None = Field(None, ge=1, le=256)
    stability_threshold: float = Field(0.55, ge=0, le=1)  # resampling stability, as the exploratory gate

    @field_validator("k", mode="before")
    @classmethod
    def _grid(cls, value: Any) -> Any:
        """A range ``{start, stop, step}`` or a non-empty list of k, each at least 2."""
        if isinstance(value, dict):
            return KRange.model_validate(value)
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError("list at least one k")
            if not all(isinstance(k, int) and k >= 2 for k in value):
                raise ValueError(f"each k must be a whole number of at least 2 (got {list(value)})")
        return value

    @field_validator("backends")
    @classmethod
    def _registered_backends(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_registered(backend, BACKENDS) for backend in value)

    def k_values(self) -> tuple[int, ...]:
        return self.k.values() if isinstance(self.k, KRange) else tuple(sorted(set(self.k)))


def _default_models() -> tuple[ModelSection, ...]:
    return tuple(BACKENDS[m["backend"]].config.model_validate(m) for m in DEFAULT_MODELS)


class Config(Section):
    run: RunConfig = RunConfig()
    corpus: CorpusConfig = CorpusConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    models: tuple[ModelConfig, ...] = Field(default_factory=_default_models)
    tables: TablesConfig = TablesConfig()
    compare: CompareConfig = CompareConfig()
    distinctive: DistinctiveConfig = DistinctiveConfig()
    figures: FiguresConfig = FiguresConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    sweep: SweepConfig = SweepConfig()

    @field_validator("models")
    @classmethod
    def _unique_names(cls, models: tuple[ModelConfig, ...]) -> tuple[ModelConfig, ...]:
        names = [m.name for m in models]
        if not names:
            raise ValueError("list at least one model")
        if len(set(names)) != len(names):
            raise ValueError(f"model names must be unique (got {names})")
        return models

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config with where it came from; ``root`` anchors its relative paths."""

    config: Config
    path: Path
    root: Path
    overrides: tuple[str, ...]

    def resolve(self, relative: str | Path) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.root / path


def project_root(config_path: Path) -> Path:
    """The nearest ancestor of the config holding ``pyproject.toml``, else the config's folder."""
    folder = config_path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return folder


def apply_override(data: dict[str, Any], override: str) -> None:
    """Set ``a.b.0.c=value`` in nested dicts/lists; the value is parsed as YAML."""
    if "=" not in override:
        raise ConfigError(f"override {override!r}: expected KEY=VALUE, e.g. corpus.units.min_words=30")
    dotted, raw = override.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {dotted}: value is not valid YAML ({_first_line(exc)})") from None
    keys = dotted.strip().split(".")
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ConfigError(f"override {dotted}: {where} is not an index of a {len(node)}-item list")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise ConfigError(f"override {dotted}: {'.'.join(keys[:depth])} is not a section")


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def utf8_text(data: bytes, where: str) -> str:
    """A settings file's text, or a ``ConfigError`` naming ``where`` and the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                          "re-save it as UTF-8") from None


def read_yaml(data: bytes, where: str) -> Any:
    """YAML from a file's bytes; a file that is not UTF-8 or not valid YAML (or gives a key
    twice) is a ``ConfigError`` naming ``where``."""
    text = utf8_text(data, where)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({_first_line(exc)})") from None


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{loc}: unknown key"
    given = error.get("input")
    shown = "" if isinstance(given, (dict, list)) else f" (got {given!r})"
    return f"{loc}: {error['msg']}{shown}"


def validate(data: Any) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("config: the file must hold a YAML mapping of sections (run, corpus, ...)")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("config error: " + "; ".join(_describe(e) for e in exc.errors())) from None


def load_config(path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> LoadedConfig:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config {path} is a folder; name a YAML file such as configs/default.yaml")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    data = read_yaml(path.read_bytes(), f"config {path}")
    data = {} if data is None else data
    for override in overrides:
        if not isinstance(data, dict):
            break
        apply_override(data, override)
    return LoadedConfig(validate(data), path, project_root(path), tuple(overrides))
