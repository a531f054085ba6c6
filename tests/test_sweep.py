"""Sweeps: streaming results, resuming after a kill, and the k suggestion rule."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
import time

import pandas as pd

from pipeline.cli import main
from pipeline.sweep import RESULT_COLUMNS, csv_row, read_results, seed_stability, suggest_k

GRID = ["--set", "sweep.k=[3, 4]", "--set", "sweep.seeds=2", "--set", "sweep.n_jobs=1",
        "--set", "sweep.backends=[gensim_lda, sklearn_nmf]",
        "--set", "models=[{name: lda, backend: gensim_lda, k: 3, params: {passes: 3, iterations: 50}}]"]


def result(backend="sklearn_nmf", k=3, seed=0, key="abc"):
    return {"data_key": key, "backend": backend, "k": k, "seed": seed, "c_v": 0.5, "c_npmi": 0.1, "u_mass": -1.0,
            "diversity": 0.9, "heldout_log_perplexity": float("nan"), "fit_seconds": 0.1,
            "top_terms": json.dumps([["a", "b"], ["c", "d"]])}


def test_interrupted_writes_and_other_settings_are_discarded():
    header = ",".join(RESULT_COLUMNS) + "\n"
    text = header + csv_row(result(seed=0)) + csv_row(result(seed=1, key="other")) + csv_row(result(seed=2))[:25]
    frame, discarded = read_results(text, "abc")
    assert frame.seed.tolist() == [0] and discarded == 2
    assert frame.heldout_log_perplexity.isna().all() and frame.k.dtype.kind == "i"


def test_seed_stability_and_suggestion_rule():
    assert seed_stability([[["a", "b"], ["c", "d"]], [["c", "d"], ["a", "b"]]]) == 1.0
    summary = pd.DataFrame({
        "backend": "m", "k": [4, 6, 8, 10],
        "c_npmi_mean": [0.02, 0.09, 0.10, 0.08], "c_npmi_se": [0.01, 0.01, 0.02, 0.01],
        "stability": [0.9, 0.4, 0.8, 0.9],
    })
    # best is k=8 (0.10 ± 0.02): k=6 (0.09) is within one SE but unstable; k=8 is the smallest that is both.
    assert suggest_k(summary, 0.5)["m"]["k"] == 8
    unstable = suggest_k(summary, 0.95)["m"]
    assert unstable["k"] is None and unstable["reason"].startswith("no k has mean c_npmi within one SE")


def test_sweep_resumes_after_being_killed(project):
    config = str(project / "configs" / "sweep.yaml")
    results = project / "outputs" / "sweep" / "sweep" / "results.csv"
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "sweep", config, "-q", *GRID], cwd=project,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if results.is_file() and results.read_text().count("\n") >= 3:  # header and two fits
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()[1]
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = results.read_text().count("\n") - 1
    assert 2 <= done_before < 8, "the sweep should have been killed part-way"

    log = io.StringIO()
    with contextlib.redirect_stderr(log), contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["sweep", config, *GRID]) == 0
    assert f"8 fits in the grid, {done_before} already done, {8 - done_before} to run" in log.getvalue()
    frame, discarded = read_results(results.read_text(), str(pd.read_csv(results).data_key.iloc[0]))
    assert len(frame) == 8 and discarded == 0
    assert sorted(zip(frame.backend, frame.k, frame.seed)) == sorted(
        (b, k, s) for b in ("gensim_lda", "sklearn_nmf") for k in (3, 4) for s in (0, 1))
    folder = results.parent
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == 4 and summary.stability.between(0, 1).all()
    suggestion = json.loads((folder / "suggestion.json").read_text())
    assert set(suggestion["suggestions"]) == {"gensim_lda", "sklearn_nmf"}
    assert "suggested k for sklearn_nmf" in out.getvalue()
    assert (folder / "model_selection.png").stat().st_size > 10_000
    assert not (folder / "model_selection.pdf").exists()  # PDF copies only when figures.pdf asks for them

    # A finished sweep reruns nothing and gives the same summary.
    log = io.StringIO()
    with contextlib.redirect_stderr(log), contextlib.redirect_stdout(io.StringIO()):
        assert main(["sweep", config, *GRID]) == 0
    assert "8 already done, 0 to run" in log.getvalue()
    assert pd.read_csv(folder / "summary.csv").equals(summary)


def test_a_sweep_on_a_dask_cluster_gives_the_local_results(project):
    from distributed import LocalCluster

    config = str(project / "configs" / "sweep.yaml")
    grid = ["--set", "sweep.k=[3]", "--set", "sweep.seeds=2", "--set", "sweep.backends=[sklearn_nmf]", "-q"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["sweep", config, *grid, "--set", "run.name=here", "--set", "sweep.n_jobs=1"]) == 0
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
            assert main(["sweep", config, *grid, "--set", "run.name=there", "--scheduler",
                         cluster.scheduler_address]) == 0
            seen = cluster.scheduler.task_prefixes  # the fits went through the cluster's scheduler
    assert seen, "no task reached the Dask scheduler"

    def results(name):  # rows come in the order fits finish, and each row times its fit
        frame = pd.read_csv(project / "outputs" / name / "sweep" / "results.csv")
        return frame.drop(columns="fit_seconds").sort_values(["backend", "k", "seed"], ignore_index=True)

    pd.testing.assert_frame_equal(results("here"), results("there"))
    assert len(results("there")) == 2
    for table in ("summary.csv", "suggestion.json"):
        assert (project / "outputs" / "here" / "sweep" / table).read_bytes() == (
            project / "outputs" / "there" / "sweep" / table).read_bytes()


def test_an_unusable_scheduler_address_is_one_line(project, capsys):
    config = str(project / "configs" / "sweep.yaml")
    assert main(["sweep", config, "--scheduler", "nonsense://nowhere", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --scheduler nonsense://nowhere: ") and err.count("\n") == 1
