"""The docs keep step with the code, as datasette does: every setting, CLI command and option, and REST
route is documented, and every setting the docs name exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from tidings.cli.main import app as cli_app
from tidings.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SETTING_NAME = re.compile(r"`(TIDINGS_[A-Z0-9_]+)`")
# Variables the docs may name that are not Settings: the test suite's own switches.
TEST_ONLY_VARIABLES = {
    "TIDINGS_TEST_POSTGRES_URL",
    "TIDINGS_TEST_CHROMIUM",
    "TIDINGS_TEST_DATABASE",
    "TIDINGS_CRASH_MIN_KILLS",
    "TIDINGS_CRASH_BUDGET",
}


def docs_text() -> str:
    """README.md plus every Markdown file under docs/."""
    parts = [(REPO_ROOT / "README.md").read_text(encoding="utf-8")]
    parts += [p.read_text(encoding="utf-8") for p in sorted((REPO_ROOT / "docs").rglob("*.md"))]
    return "\n".join(parts)


def setting_variables() -> set[str]:
    """The environment variable of every Settings field."""
    return {f"TIDINGS_{name.upper()}" for name in Settings.model_fields}


def walk_commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every leaf command of the CLI tree as ("group sub", command)."""
    # Typer may bring its own click, so groups and options are recognised by shape rather than by class.
    subcommands = getattr(command, "commands", None)
    if isinstance(subcommands, dict):
        for name, sub in subcommands.items():
            yield from walk_commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def cli_commands() -> list[tuple[str, Any]]:
    """The Typer app's leaf commands."""
    return list(walk_commands(typer.main.get_command(cli_app)))


def test_every_setting_is_documented() -> None:
    text = docs_text()
    missing = sorted(v for v in setting_variables() if f"`{v}`" not in text)
    assert not missing, f"settings missing from README/docs: {missing}"


def test_every_documented_setting_exists() -> None:
    named = set(SETTING_NAME.findall(docs_text()))
    unknown = sorted(named - setting_variables() - TEST_ONLY_VARIABLES)
    assert not unknown, f"docs name settings that do not exist: {unknown}"


def command_lines(name: str, text: str) -> list[str]:
    """The doc lines that document `tidings NAME`, also as one of `tidings a/b/c` or "`tidings g x` / `y`"."""
    *group, leaf = name.split()
    prefix = re.escape(" ".join(["tidings", *group]) + " ")
    direct = re.compile(prefix + r"(?:[\w-]+/)*" + re.escape(leaf) + r"\b")
    listed = re.compile(r"/ `" + re.escape(leaf) + r"\b")
    return [
        line
        for line in text.splitlines()
        if direct.search(line) or (re.search(prefix, line) and listed.search(line))
    ]


@pytest.mark.parametrize(("name", "command"), cli_commands(), ids=[n for n, _ in cli_commands()])
def test_every_cli_command_and_option_is_documented(name: str, command: Any) -> None:
    lines = command_lines(name, docs_text())
    assert lines, f"`tidings {name}` is not documented"
    for param in command.params:
        if param.param_type_name == "option" and not getattr(param, "hidden", False):
            flags = [o for o in [*param.opts, *getattr(param, "secondary_opts", [])] if o.startswith("--")]
            if flags and flags[0] not in ("--json", "--help"):
                documented = any(flag in line for flag in flags for line in lines)
                assert documented, f"`tidings {name}` option {flags[0]} is not documented beside the command"


PARAM = re.compile(r"\{[^}]*\}")
DOCUMENTED_ROUTE = re.compile(r"`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) ([^`?]+)")


def api_operations() -> set[tuple[str, str]]:
    """Every REST operation under /api/v1 as (METHOD, path relative to /api/v1 with {} for parameters)."""
    from tidings.web.app import create_app

    spec = create_app().openapi()
    return {
        (method.upper(), PARAM.sub("{}", path.removeprefix("/api/v1/")))
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }


def documented_operations(text: str) -> set[tuple[str, str]]:
    """The operations the docs list as `GET/POST path`."""
    return {
        (method, PARAM.sub("{}", path.strip().removeprefix("/api/v1/")))
        for methods, path in DOCUMENTED_ROUTE.findall(text)
        for method in methods.split("/")
    }


def test_every_rest_route_is_documented() -> None:
    operations = api_operations()
    assert len(operations) > 10
    missing = sorted(operations - documented_operations(docs_text()))
    assert not missing, f"REST operations missing from README/docs: {missing}"


def test_every_documented_rest_route_exists() -> None:
    unknown = sorted(documented_operations(docs_text()) - api_operations())
    assert not unknown, f"docs list REST operations that do not exist: {unknown}"


def walk_groups(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every group of the CLI tree (the root is "") with its own options (a Typer callback's)."""
    subcommands = getattr(command, "commands", None)
    if isinstance(subcommands, dict):
        yield " ".join(path), command
        for name, sub in subcommands.items():
            yield from walk_groups(sub, (*path, name))


def test_every_group_option_is_documented() -> None:
    text = docs_text()
    groups = list(walk_groups(typer.main.get_command(cli_app)))
    assert any(name == "" for name, _ in groups)
    for name, group in groups:
        for param in group.params:
            flags = [o for o in param.opts if o.startswith("--") and o != "--help"]
            if param.param_type_name == "option" and flags and not getattr(param, "hidden", False):
                mention = re.compile(r"`" + re.escape(flags[0]) + r"\b")
                label = f"tidings {name}".strip()
                assert mention.search(text), f"`{label}` option {flags[0]} is not documented"


def test_the_json_option_is_documented() -> None:
    assert "takes `--json`" in docs_text()


DOCUMENTED_COMMAND = re.compile(r"`tidings ((?:[a-z][\w-]*)(?: [a-z][\w-]*)?)")


def test_every_documented_command_exists() -> None:
    root = typer.main.get_command(cli_app)
    commands: dict[str, Any] = getattr(root, "commands", {})
    unknown = set()
    for words in DOCUMENTED_COMMAND.findall(docs_text()):
        first, _, second = words.partition(" ")
        command = commands.get(first)
        if command is None:
            unknown.add(first)
        elif (
            second and isinstance(getattr(command, "commands", None), dict) and second not in command.commands
        ):
            unknown.add(words)
    assert not unknown, f"docs name `tidings` commands that do not exist: {sorted(unknown)}"


def test_every_option_in_the_command_table_exists() -> None:
    options = {name: command for name, command in cli_commands()}
    unknown = []
    for line in docs_text().splitlines():
        if not line.startswith("| `tidings "):
            continue
        cell = line.split("|")[1]
        named = [n for n in options if command_lines(n, cell)]
        known = {
            o for n in named for p in options[n].params for o in [*p.opts, *getattr(p, "secondary_opts", [])]
        }
        assert named, f"the command table names no existing command: {cell.strip()}"
        unknown += [
            f"{flag} in {cell.strip()}" for flag in re.findall(r"--[a-z][\w-]*", cell) if flag not in known
        ]
    assert not unknown, f"the command table names options that do not exist: {unknown}"


def source_modules() -> list[str]:
    """Every module under src/tidings as a path relative to it, but package __init__ files and migrations."""
    root = REPO_ROOT / "src" / "tidings"
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "__init__.py" and "versions" not in path.relative_to(root).parts
    )


def test_architecture_names_every_module() -> None:
    text = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^- `([\w/]+\.py)`", text, re.MULTILINE))
    modules = source_modules()
    assert "ingest/encoding.py" in modules
    missing = sorted(set(modules) - named)
    assert not missing, f"docs/architecture.md lacks a line for: {missing}"
    gone = sorted(named - set(modules))
    assert not gone, f"docs/architecture.md names modules that no longer exist: {gone}"
