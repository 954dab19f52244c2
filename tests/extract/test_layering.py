"""Production code never imports the evaluation package (the eval commands measure what ships)."""

from __future__ import annotations

import ast
from pathlib import Path

import tidings

SRC = Path(tidings.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else _resolve(path, node.module, node.level)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _resolve(path: Path, module: str, level: int) -> str:
    package = path.relative_to(SRC.parent).parent.parts
    return ".".join([*package[: len(package) - level + 1], module])


def _imports_eval(path: Path) -> bool:
    return any(m == "tidings.eval" or m.startswith("tidings.eval.") for m in _imported_modules(path))


def test_no_production_module_imports_eval() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if "eval" not in path.relative_to(SRC).parts[:1] and _imports_eval(path)
    ]
    assert offenders == []


def test_the_scan_sees_eval_imports() -> None:
    assert _imports_eval(SRC / "eval" / "commands.py")  # it imports the package lazily, inside functions
    assert _resolve(SRC / "extract" / "body.py", "eval.extraction", 2) == "tidings.eval.extraction"


def test_the_command_line_mounts_eval_without_importing_it() -> None:
    from typer.main import get_command

    from tidings.cli.main import app

    group = get_command(app)
    assert "eval" in group.commands  # type: ignore[attr-defined]
    assert set(group.commands["eval"].commands) >= {"extraction", "pairs", "stories", "mind", "topics"}  # type: ignore[attr-defined]
    assert not _imports_eval(SRC / "cli" / "main.py")
