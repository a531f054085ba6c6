"""The module table in docs/DESIGN.md is the architecture: every module of pipeline/ has a row,
and imports only what its row allows."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipeline"


def design_table() -> dict[str, set[str] | None]:
    """Module -> the modules it may import (None: any), from DESIGN.md's module table."""
    text = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    section = text.split("### Modules: what each holds and what it may import", 1)[1].split("\n### ", 1)[0]
    allowed: dict[str, set[str] | None] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        module = cells[0].strip("`")
        allowed[module] = None if cells[2] == "any module above" else set(re.findall(r"`(\w+)`", cells[2]))
    return allowed


def top_level(name: str) -> str:
    """``pipeline.models.base`` -> ``models``; ``pipeline.cli`` -> ``cli``."""
    return name.split(".")[1]


def runtime_imports(path: Path) -> set[str]:
    """The pipeline modules a file imports when it runs (``if TYPE_CHECKING:`` blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and getattr(block.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            found |= {a.name for a in node.names} if node.module == "pipeline" else {top_level(node.module)}
        elif isinstance(node, ast.Import):
            found |= {top_level(a.name) for a in node.names if a.name.startswith("pipeline.")}
    return found


def test_every_module_has_a_row_and_imports_only_what_it_may():
    allowed = design_table()
    modules = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    modules -= {"__init__", "__main__"}
    assert modules == set(allowed), "DESIGN.md's module table and pipeline/ disagree"
    for path in PACKAGE.rglob("*.py"):
        module = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if module in ("__init__", "__main__") or allowed[module] is None:
            continue
        extra = runtime_imports(path) - allowed[module] - {module}
        assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)}, which DESIGN.md does not allow"


def test_the_table_is_layered():
    """A module may import only modules listed above it, so there are no cycles."""
    allowed = design_table()
    order = list(allowed)
    for module, imports in allowed.items():
        for name in imports or ():
            assert name == module or order.index(name) < order.index(module), f"{module} imports {name} below it"


def test_cli_is_parsing_and_dispatch():
    assert len((PACKAGE / "cli.py").read_text(encoding="utf-8").splitlines()) <= 150
