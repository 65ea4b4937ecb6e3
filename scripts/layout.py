"""The import rules of docs/design.md, read statically from the source (nothing is imported or run).

Contracts: the library (bias, stats, explain, monitor, review, ledger, mitigate, _tabulate, discover, bounty, gate, privacy,
robustness, tasks) never imports its shells (cli, service, pytest_plugin, mlflow_evaluator) or its renderers (report, cards); report and cards never import cli or service; the CLI imports only the public names
of the library's packages (``assay.monitor``, not ``assay.monitor._profile``); nothing but service imports FastAPI;
no import cycle between modules of src/assay (imports at module level or in a top-level function's body; a nested function's
imports are lazy and left out); no function longer than 100 lines.

usage: python scripts/layout.py [ROOT]   (ROOT holds src/assay; exit 1 and one line per broken rule)
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

LIBRARY = ("bias", "stats", "explain", "monitor", "review", "ledger", "mitigate", "_tabulate", "discover", "bounty", "gate", "privacy", "robustness", "tasks")
SHELLS = ("cli", "service", "pytest_plugin", "mlflow_evaluator")
RENDERERS = ("report", "cards")
MAX_LINES = 100


def _modules(root: Path) -> dict[str, ast.Module]:
    base = root / "src"
    out = {}
    for path in sorted((base / "assay").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(base).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            parts = module.split(".") if is_package else module.split(".")[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        return [base] + [f"{base}.{a.name}" for a in node.names]
    return []


def _eager(tree: ast.Module) -> list[ast.AST]:
    """Import statements that run when the module is imported or a top-level function is called (not in nested functions, not
    under ``if TYPE_CHECKING``)."""
    out: list[ast.AST] = []
    for top in tree.body:
        stack: list[ast.AST] = [top]
        while stack:
            x = stack.pop()
            if x is not top and isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(x, ast.If) and "TYPE_CHECKING" in ast.dump(x.test):
                continue
            if isinstance(x, (ast.Import, ast.ImportFrom)):
                out.append(x)
            stack.extend(ast.iter_child_nodes(x))
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def problems(root: str | Path) -> list[str]:
    """Every broken rule of the tree under ``root``, one line each (empty when the layout holds)."""
    mods = _modules(Path(root))
    packages = {m for m in mods if any(k.startswith(m + ".") for k in mods)}
    found: list[str] = []
    edges: dict[str, set[str]] = defaultdict(set)
    for m, tree in mods.items():
        part = m.split(".")[1] if "." in m else ""
        for node in ast.walk(tree):
            for t in _targets(node, m, m in packages):
                if t.split(".")[0] == "fastapi" and part != "service":
                    found.append(f"{m} imports {t}: only the service uses FastAPI")
                if t.startswith("assay."):
                    other = t.split(".")[1]
                    if part in LIBRARY and other in SHELLS + RENDERERS:
                        found.append(f"{m} imports {t}: the library ({part}) must not know its shells or renderers")
                    if part in RENDERERS and other in SHELLS:
                        found.append(f"{m} imports {t}: a renderer ({part}) must not know the shells")
                    if part == "cli" and other != "cli" and not other.startswith("_") and t.count(".") >= 2 and t.split(".")[2].startswith("_"):
                        found.append(f"{m} imports {t}: the CLI calls the public names of assay.{other}, not its private modules")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_LINES:
                found.append(f"{m}.{node.name} is {(node.end_lineno or node.lineno) - node.lineno + 1} lines long (at most {MAX_LINES})")
        for node in _eager(tree):
            for t in _targets(node, m, m in packages):
                if t in mods and t != m and not (m.startswith(t + ".") and t in packages) and not t.startswith(m + "."):
                    edges[m].add(t)
    found += [f"import cycle: {' -> '.join(c)}" for c in _cycles(edges)]
    return sorted(set(found))


if __name__ == "__main__":
    bad = problems(sys.argv[1] if len(sys.argv) > 1 else ".")
    print("\n".join(bad) or "layout ok: the import contracts hold, no cycle, no function over 100 lines")
    sys.exit(1 if bad else 0)
