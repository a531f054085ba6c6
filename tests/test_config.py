"""Config validation: one-line errors with dotted paths, overrides, canonical hash."""

from __future__ import annotations

import re

import pytest
import yaml

from pipeline.config import Config, ScioConfig, load_config
from pipeline.errors import ConfigError
from tests.conftest import ROOT


def write(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_default_config_spells_out_the_code_defaults():
    """default.yaml documents the defaults; only its corpus-specific aliases and expressions differ."""
    data = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    corpus_specific = {"normalize": {"aliases", "multiword_expressions"}, "compare": {"contrasts"}}
    assert Config.model_validate(data).model_dump(exclude=corpus_specific) == Config().model_dump(exclude=corpus_specific)
    assert ScioConfig.model_validate(data["corpus"]["scio"]) == ScioConfig()
    assert data["normalize"]["aliases"] and data["normalize"]["multiword_expressions"] and data["compare"]["contrasts"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("corpus:\n  unit: {}\n", "corpus.unit: unknown key"),
        ("corpus:\n  units:\n    min_words: many\n", "corpus.units.min_words: Input should be a valid integer"),
        ("corpus:\n  units:\n    min_words: 0\n", "corpus.units.min_words: Input should be greater than or equal to 1"),
        ("corpus:\n  format: pdf\n", "corpus.format: Input should be 'scio', 'html', 'csv' or 'jsonl'"),
        ("corpus:\n  scio:\n    title_pattern: '('\n", "corpus.scio.title_pattern: Value error, not a valid regular expression"),
        ("run:\n  name: ../escape\n", "run.name: String should match pattern"),
        ("- a\n- b\n", "must hold a YAML mapping"),
    ],
)
def test_invalid_configs_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_overrides_use_dotted_paths_and_yaml_values(tmp_path):
    loaded = load_config(write(tmp_path, "run:\n  name: x\n"), [
        "corpus.units.min_words=30", 'corpus.inputs=["a/*.txt", "b.txt"]', "run.name=test",
    ])
    assert loaded.config.corpus.units.min_words == 30
    assert loaded.config.corpus.inputs == ("a/*.txt", "b.txt")
    assert loaded.overrides == ("corpus.units.min_words=30", 'corpus.inputs=["a/*.txt", "b.txt"]', "run.name=test")
    with pytest.raises(ConfigError, match="corpus.units.min_words: Input should be a valid integer"):
        load_config(write(tmp_path, ""), ["corpus.units.min_words=lots"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(write(tmp_path, ""), ["corpus.units.min_words"])


def test_hash_is_canonical_and_sensitive(tmp_path):
    a = load_config(write(tmp_path, "run: {seed: 1, name: a}\n")).config
    b = Config.model_validate({"run": {"name": "a", "seed": 1}})
    assert a.sha256() == b.sha256()
    assert a.sha256() != Config.model_validate({"run": {"name": "a", "seed": 2}}).sha256()


def test_config_is_frozen():
    with pytest.raises(Exception):
        Config().run.seed = 3  # type: ignore[misc]


def test_paths_resolve_from_the_project_root():
    loaded = load_config(ROOT / "configs" / "default.yaml")
    assert loaded.root == ROOT
    assert loaded.resolve("data/transcripts") == ROOT / "data" / "transcripts"


def documented_defaults() -> dict[str, str]:
    """configs/README.md's option rows: dotted key -> the default cell, as written. A row of
    several keys ("`evaluate.resamples` / `resample_share` | `5` / `0.8`") gives each its own."""
    rows = {}
    for line in (ROOT / "configs" / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 3 or not re.fullmatch(r"`[a-z_]+(\.[a-z_0-9]+)+`( / `[a-z_]+`)*", cells[0]):
            continue
        first, *others = [k.strip("`") for k in cells[0].split(" / ")]
        keys = [first] + [f"{first.rsplit('.', 1)[0]}.{other}" for other in others]
        defaults = cells[1].split(" / ") if others else [cells[1]]
        for key, default in zip(keys, defaults if len(defaults) == len(keys) else [cells[1]] * len(keys)):
            rows[key] = default if len(defaults) == len(keys) else ""
    return rows


def code_default(dotted: str):
    value = Config().model_dump(mode="json")
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def test_every_documented_default_is_the_codes():
    # A default cell that is one YAML literal in backticks must equal the code's default.
    checked = 0
    for key, cell in documented_defaults().items():
        literal = re.fullmatch(r"`([^`]*)`", cell)
        if not literal:
            continue  # prose ("see default.yaml") or several keys in one row
        actual = code_default(key)
        # A string (a regex, a path) is compared as written; anything else is read as YAML.
        documented = literal.group(1) if isinstance(actual, str) else yaml.safe_load(literal.group(1))
        if isinstance(actual, list):
            actual = [tuple(v) if isinstance(v, list) else v for v in actual]
            documented = [tuple(v) if isinstance(v, list) else v for v in (documented or [])]
        assert documented == actual, f"configs/README.md says {key}: {cell}; the code's default is {actual!r}"
        checked += 1
    assert checked > 60


def test_every_scalar_option_has_a_documented_row():
    def leaves(node, prefix=""):
        for name, value in node.items():
            dotted = f"{prefix}{name}"
            if isinstance(value, dict) and value and name not in {"boilerplate", "aliases", "date_overrides",
                                                                    "contrasts", "params", "k"}:
                yield from leaves(value, dotted + ".")
            elif not dotted.startswith("models"):
                yield dotted
    documented = documented_defaults()
    missing = [key for key in leaves(Config().model_dump(mode="json")) if key not in documented]
    assert not missing, f"configs/README.md has no row for {missing}"
