"""The documentation runs as written: example configs, and every command in the READMEs."""

from __future__ import annotations

import json
import re
import shlex

import pandas as pd
import pytest

from pipeline.cli import _parser
from pipeline.config import load_config
from tests.conftest import FEWER_REFITS, ROOT

EXAMPLE_CONFIGS = ["default.yaml", "sweep.yaml", "answers.yaml", "csv_example.yaml"]


def shell_commands(markdown: str) -> list[str]:
    """Commands in ```sh blocks, continuation lines joined and comments removed."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            command = command.split(" #")[0].strip()
            if command:
                commands.append(command)
    return commands


DOCUMENTED = [c for doc in ("README.md", "configs/README.md") for c in shell_commands((ROOT / doc).read_text())]


@pytest.mark.parametrize("name", EXAMPLE_CONFIGS)
def test_example_configs_validate(name):
    assert load_config(ROOT / "configs" / name).config.run.name


def test_every_documented_command_is_known(default_runs):
    assert {"make run", "make test"} <= set(DOCUMENTED)
    makefile = (ROOT / "Makefile").read_text()
    verbs = set()
    for command in DOCUMENTED:
        if command.startswith("make "):
            assert re.search(rf"^{command.split()[1]}:", makefile, flags=re.M), command
            continue
        words = shlex.split(command)
        assert words[:3] == ["python", "-m", "pipeline"], command
        args = _parser().parse_args(words[3:])  # exits (fails the test) on an unknown verb or option
        verbs.add(args.command)
        if args.command in {"run", "ingest", "validate", "sweep"}:
            config = ROOT / args.config
            if args.config.parts[0] == "outputs":  # a finished run's resolved config (README's rerun recipe)
                config = default_runs / args.config.relative_to("outputs").as_posix().replace("default", "a", 1)
            load_config(config, args.overrides)  # the config and its overrides validate
    assert verbs == {"run", "ingest", "validate", "report", "sweep", "bench"}


def assert_csv_example_has_the_same_kinds_of_outputs(out) -> None:
    """The CSV example's run (README, run as written in the test below): the tables, figures and
    report of a transcript run, from its two conferences and six official answers."""
    for path in ("corpus/conferences.csv", "corpus/turns.csv", "corpus/paragraphs.csv", "corpus/ingest_report.json",
                 "models/lda/topic_terms.csv", "models/nmf/answer_topics.csv", "models/nmf/topic_diagnostics.csv",
                 "emphasis/nmf/by_speaker.csv", "emphasis/nmf/contrasts.csv", "alignment.csv", "report.html",
                 "figures/emphasis_speaker_nmf.png", "figures/contrast_wang_vs_zhao_lda.png"):
        assert (out / path).stat().st_size > 0, path
    report = json.loads((out / "corpus" / "ingest_report.json").read_text())
    assert report["totals"]["conferences"] == 2 and report["files"][0]["lines_dropped"] == {"csv_header": 1}
    answers = pd.read_csv(out / "models" / "nmf" / "answer_topics.csv")
    assert len(answers) == 6  # six official answers in the CSV
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["normalization"]["units_modelled"] == 18


def test_readme_commands_run_as_written_after_make_run_in_a_copy_outside_the_repo(default_runs, tmp_path):
    """Every ``python -m pipeline`` line of the README, run in a shell where the environment is
    active (``python`` is the venv's), from a copy of the project outside the repository in which
    only ``make run`` has been done (the default run, as ``outputs/default``). Some lines get
    settings that keep the suite within its time: ``sweep`` a two-k grid of one seed, ``run``
    lines fewer refits (the default runs test the full ones), ``bench`` the
    bundled corpus only (it has its own test from a clone without the scale corpus); and
    ``run configs/default.yaml`` is what ``make run`` did."""
    import os
    import shutil
    import subprocess
    import sys

    clone = tmp_path / "elsewhere" / "project"
    shutil.copytree(default_runs.parent, clone, symlinks=True)
    shutil.copytree(clone / "outputs" / "a", clone / "outputs" / "default")
    (clone / "labels.yaml").write_text('nmf: {0: "Supply-chain resilience", 7: "Steel"}\n')
    (clone / "data" / "examples").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "data" / "examples" / "turns.csv", clone / "data" / "examples" / "turns.csv")
    quicker = {"sweep": " --set 'sweep.k=[4, 6]' --set sweep.seeds=1 -q", "run": " " + shlex.join(FEWER_REFITS)}
    commands = [c for c in shell_commands((ROOT / "README.md").read_text())
                if c.startswith("python -m pipeline") and c != "python -m pipeline run configs/default.yaml"
                and shlex.split(c)[3] != "bench"]
    assert len(commands) == 6
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    for command in [*commands, "miit-topics validate configs/csv_example.yaml"]:
        line = command + quicker.get(shlex.split(command)[3] if command.startswith("python") else "", "")
        done = subprocess.run(line, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
    assert (clone / "outputs" / "default-ingest" / "corpus" / "turns.csv").is_file()  # beside the complete run
    assert json.loads((clone / "outputs" / "default" / "manifest.json").read_text())["labels"]["file"] == "labels.yaml"
    assert_csv_example_has_the_same_kinds_of_outputs(clone / "outputs" / "csv_example")
    assert (clone / "outputs" / "sweep" / "sweep" / "suggestion.json").is_file()
