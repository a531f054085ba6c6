"""What makes a run citable: the manifest (config hash, inputs, versions, seeds, git commit)
and the stage timer (seconds and peak memory per stage)."""

from __future__ import annotations

import hashlib
import logging
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline import interrupts
from pipeline.config import LoadedConfig
from pipeline.inputs import display_path

log = logging.getLogger("pipeline")

PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "gensim", "tomotopy", "nltk", "simplemma",
            "matplotlib", "pydantic", "PyYAML", "joblib")


def _peak_memory_mib(reset: bool = False) -> float | None:
    """The process's peak resident memory (Linux VmHWM); ``reset`` restarts the peak from now."""
    try:
        if reset:
            Path("/proc/self/clear_refs").write_text("5")
            return None
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


@dataclass
class StageTimer:
    """Wall-clock seconds and peak memory (MiB, where Linux reports it) per named stage, and
    the seconds since the timer was made (``elapsed``), stages or not. An interrupt whose
    exception was swallowed stops the run as a stage begins or ends (``interrupts``)."""

    seconds: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float | None] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        interrupts.stop_if_interrupted()
        _peak_memory_mib(reset=True)
        start = time.perf_counter()
        log.info("%s ...", name)
        yield
        interrupts.stop_if_interrupted()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 4)
        self.peak_mib[name] = _peak_memory_mib()
        log.info("%s done in %.2f s", name, self.seconds[name])

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.started, 4)

    def summary(self) -> str:
        """One line: every stage's seconds, the time between them, and the total."""
        stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        total = self.elapsed()
        return f"time per stage: {stages}; other {total - sum(self.seconds.values()):.1f} s; total {total:.1f} s"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git_commit(root: Path) -> str | None:
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def manifest(
    loaded: LoadedConfig,
    sources: list[tuple[str, bytes]],
    timer: StageTimer,
    **sections: Any,
) -> dict[str, Any]:
    config = loaded.config
    return {
        "config_sha256": config.sha256(),
        "config_file": display_path(loaded.path, loaded.root),
        "overrides": list(loaded.overrides),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "git_commit": _git_commit(loaded.root),
        "packages": package_versions(),
        "inputs": [{"file": name, "sha256": sha256_bytes(data), "bytes": len(data)} for name, data in sources],
        "seeds": {"root": config.run.seed},
        "stage_seconds": timer.seconds,
        "stage_peak_mib": timer.peak_mib,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **sections,
        "config": config.model_dump(mode="json"),
    }
