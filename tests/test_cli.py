"""The command line end to end: run directory contents, determinism, and bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main
from pipeline.config import load_config
from tests.conftest import ROOT

CORPUS_CSVS = ("conferences.csv", "turns.csv", "paragraphs.csv")


def write_config(project: Path, **corpus) -> Path:
    config = {"run": {"name": "default"}, "corpus": {"inputs": ["data/transcripts/*.txt"], **corpus}}
    path = project / "configs" / "test.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(capsys, *args: str) -> tuple[int, str]:
    code = main([*args, "-q"])
    return code, capsys.readouterr().err


def test_ingest_writes_corpus_tables_config_and_manifest(project, capsys):
    config = write_config(project)
    code, _ = run(capsys, "ingest", str(config))
    out = project / "outputs" / "default"
    assert code == 0
    assert sorted(p.name for p in (out / "corpus").iterdir()) == [
        "conferences.csv", "ingest_report.json", "paragraphs.csv", "turns.csv"]
    manifest = json.loads((out / "manifest.json").read_text())
    reloaded = load_config(out / "config.yaml")
    assert manifest["config_sha256"] == reloaded.config.sha256() == load_config(config).config.sha256()
    assert [i["file"] for i in manifest["inputs"]] == sorted(
        f"data/transcripts/{p.name}" for p in (project / "data" / "transcripts").glob("*.txt"))
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(
        (project / manifest["inputs"][0]["file"]).read_bytes()).hexdigest()
    assert manifest["seeds"]["root"] == 20210301 and "ingest" in manifest["stage_seconds"]
    assert manifest["packages"]["pandas"] != "not installed"
    assert not list((project / "outputs").glob(".*partial*"))


def test_two_runs_give_byte_identical_corpus_tables(project, capsys):
    config = write_config(project)
    assert run(capsys, "ingest", str(config), "--set", "run.name=a")[0] == 0
    assert run(capsys, "ingest", str(config), "--set", "run.name=b")[0] == 0
    for name in CORPUS_CSVS:
        a = (project / "outputs" / "a" / "corpus" / name).read_bytes()
        b = (project / "outputs" / "b" / "corpus" / name).read_bytes()
        assert a == b and len(a) > 200


def test_validate_checks_without_writing(project, capsys):
    config = write_config(project)
    assert main(["validate", str(config)]) == 0
    assert "valid" in capsys.readouterr().out
    assert not (project / "outputs").exists()


def add_file(project: Path, name: str, data: bytes) -> None:
    (project / "data" / "transcripts" / name).write_bytes(data)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"\n \n", "empty file"),
        ("latin1.txt", "SCIO press conference\n\nCCTV:\nCaf\u00e9?\n".encode("latin-1"), "not UTF-8 (byte 0xe9"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("notes.txt", b"Shopping list\n\nmilk\n\neggs\n", "no recognisable turns"),
    ],
)
def test_a_bad_file_is_skipped_with_its_reason_and_the_run_goes_on(project, capsys, name, data, reason):
    add_file(project, name, data)
    code, err = run(capsys, "ingest", str(write_config(project)))
    assert code == 0
    report = json.loads((project / "outputs" / "default" / "corpus" / "ingest_report.json").read_text())
    skipped = {f["source_file"]: f["reason"] for f in report["files"] if f["status"] == "skipped"}
    assert list(skipped) == [f"data/transcripts/{name}"]
    assert skipped[f"data/transcripts/{name}"].startswith(reason)
    assert reason in err  # logged as a warning too
    assert report["totals"]["conferences"] == 4


@pytest.mark.parametrize(
    ("inputs", "files", "message"),
    [
        (["data/none/*.txt"], {}, "error: no usable input (data/none/*.txt: matches no file)"),
        (["data/transcripts/missing.txt"], {}, "error: corpus.inputs: file not found: data/transcripts/missing.txt"),
        (["data/bad/*.txt"], {"a.txt": b"", "b.txt": b"\xff\xfe\x00"}, "error: no usable input (data/bad/a.txt: empty file; data/bad/b.txt: binary"),
    ],
)
def test_no_usable_input_exits_2_in_one_line_and_keeps_the_earlier_run(project, capsys, inputs, files, message):
    assert run(capsys, "ingest", str(write_config(project)))[0] == 0
    before = digest(project / "outputs")
    (project / "data" / "bad").mkdir()
    for name, data in files.items():
        (project / "data" / "bad" / name).write_bytes(data)
    code, err = run(capsys, "ingest", str(write_config(project, inputs=inputs)))
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1
    assert digest(project / "outputs") == before


def test_glob_matching_nothing_beside_good_inputs_is_reported(project, capsys):
    config = write_config(project, inputs=["data/transcripts/*.txt", "data/more/*.txt"])
    code, err = run(capsys, "ingest", str(config))
    assert code == 0 and "data/more/*.txt matches no file" in err
    report = json.loads((project / "outputs" / "default" / "corpus" / "ingest_report.json").read_text())
    assert report["unmatched_inputs"] == ["data/more/*.txt"]


def test_cli_process_reports_config_errors_in_one_line_without_traceback(project):
    config = project / "configs" / "bad.yaml"
    config.write_text("corpus:\n  unit: {min_words: 3}\n")
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", str(config)], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr == "error: config error: corpus.unit: unknown key\n"


def test_a_config_copied_out_of_the_project_still_finds_the_registry_and_stopwords(tmp_path, capsys):
    # A researcher's own folder: their config, their transcripts, no configs/ beside them.
    import shutil

    from tests.conftest import ROOT, TRANSCRIPTS

    shutil.copytree(TRANSCRIPTS, tmp_path / "pages")
    shutil.copy(ROOT / "configs" / "default.yaml", tmp_path / "mine.yaml")
    code = main(["validate", str(tmp_path / "mine.yaml"), "--set", "corpus.inputs=[pages/*.txt]"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"corpus.speakers: configs/speakers.yaml is not in {tmp_path}; using the pipeline's own" in err
