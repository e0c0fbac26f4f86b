"""The library's layout is the data flow: no import cycle, statistics apart from the
DataFrame stages, files touched only by the I/O modules, and every module importable alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "scimeta"

#: Pure statistics on arrays: they import no DataFrame stage, no plotting, no I/O.
STATISTICS = {"scimeta._dist", "scimeta.estimators", "scimeta.conversions", "scimeta.effects",
              "scimeta.pool", "scimeta.metareg", "scimeta.permutation"}
#: The modules that may import the I/O layer (they read or write files, or run jobs).
IO_USERS = {"scimeta.io", "scimeta.cli", "scimeta.workflow", "scimeta.plotting.save"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The scimeta modules ``name`` imports, anywhere in the file (function bodies too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as a path a -> ... -> a), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_library_has_no_import_cycle():
    assert len(GRAPH) > 30 and "scimeta.analysis" in GRAPH["scimeta.figures"]
    cycle = _cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle)


def test_statistics_import_only_statistics():
    for name in sorted(STATISTICS):
        assert GRAPH[name] <= STATISTICS, (name, sorted(GRAPH[name] - STATISTICS))


def test_only_the_io_modules_import_the_io_layer():
    users = {name for name, deps in GRAPH.items() if "scimeta.io" in deps}
    assert users <= IO_USERS, sorted(users - IO_USERS)


_IMPORT_EACH_ALONE = """
import importlib, json, sys, traceback
failed = {}
for module in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m == "scimeta" or m.startswith("scimeta.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(module)
    except Exception:
        failed[module] = traceback.format_exc(limit=3)
print(json.dumps(failed))
"""


def test_each_module_imports_alone():
    """Each module imported with nothing of scimeta loaded before it (one fresh
    interpreter; the third-party packages stay loaded between modules)."""
    import json

    done = subprocess.run([sys.executable, "-c", _IMPORT_EACH_ALONE, json.dumps(sorted(MODULES))],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    failed = json.loads(done.stdout.strip().splitlines()[-1])
    assert failed == {}, "\n".join(f"{m}:\n{tb}" for m, tb in failed.items())
