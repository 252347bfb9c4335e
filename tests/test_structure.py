"""The packages depend one way, with no import circles (docs/architecture.md), checked by
reading every module's imports with ``ast``; and the checker itself is shown to catch an
upward import, a circle and an import hidden in a function, on small fixture trees."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: package -> what its modules may import from the other project packages (a module, or
#: a package and everything in it). A package may always import its own modules.
ALLOWED = {
    "common": (),
    "sync": ("common",),
    "kiosk": ("common", "sync"),
    # HQ folds tickets and reports on them with the kiosk's own Flask-free rules, fold and
    # figures, nothing else of it
    "hq": ("common", "sync", "kiosk.tickets.rules", "kiosk.tickets.model",
           "kiosk.tickets.figures"),
    "frontdesk": ("common", "sync", "kiosk", "hq"),
}
#: Modules that must not import Flask or its extensions.
FLASK_FREE = ("common", "sync", "kiosk.permissions", "kiosk.tickets.rules",
              "kiosk.tickets.model", "kiosk.tickets.figures")


def modules(root: Path) -> dict[str, Path]:
    """Return every module of the project packages under ``root`` by dotted name."""
    found = {}
    for package in ALLOWED:
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else ():
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """Return the absolute name a ``from ... import`` starts from."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(root: Path) -> list[tuple[str, str, int, bool]]:
    """Return ``(importer, imported, line, inside a function)`` for every import of a
    project module; ``from p import x`` names the module ``p.x`` when there is one."""
    known = modules(root)
    out = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        in_function = {id(n) for f in ast.walk(tree)
                       if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for n in ast.walk(f) if n is not f}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path.name == "__init__.py", node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                           for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] in ALLOWED or target.split(".")[0] in ("flask",) \
                        or target.startswith("flask_"):
                    out.append((name, target, node.lineno, id(node) in in_function))
    return out


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def problems(root: Path) -> list[str]:
    """Return every upward or sideways import, hidden import, Flask import where none may
    be, and import circle of the tree at ``root``."""
    found, graph = [], {}
    for importer, imported, line, hidden in imports(root):
        where = f"{importer}:{line} imports {imported}"
        if imported.split(".")[0] == "flask" or imported.startswith("flask_"):
            if any(_within(importer, p) for p in FLASK_FREE):
                found.append(f"{where}, but {importer} knows nothing of Flask")
            continue
        top = importer.split(".")[0]
        if top != imported.split(".")[0] and not any(_within(imported, allowed)
                                                     for allowed in ALLOWED[top]):
            found.append(f"{where}: {top} may import only {', '.join(ALLOWED[top]) or 'nothing'}")
        if hidden:
            found.append(f"{where} inside a function")
        elif imported != importer:
            graph.setdefault(importer, set()).add(imported)
    found += [f"import circle: {' -> '.join(c)}" for c in cycles(graph)]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return one circle through each strongly connected group of ``graph`` (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group) + [sorted(group)[0]])

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_project_depends_one_way_without_circles():
    assert len(modules(ROOT)) > 40  # the checker reads the real tree
    assert problems(ROOT) == []


def tree(tmp_path, files: dict[str, str]) -> Path:
    for name, text in {"common/__init__.py": "", "sync/__init__.py": "",
                       "kiosk/__init__.py": "", "hq/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize("files, expected", [
    ({"sync/worker.py": "from kiosk import store\n", "kiosk/store.py": ""},
     "sync.worker:1 imports kiosk.store: sync may import only common"),
    ({"common/files.py": "import sync.events\n", "sync/events.py": ""},
     "common.files:1 imports sync.events: common may import only nothing"),
    ({"hq/views.py": "from kiosk.staff import auth\n", "kiosk/staff/__init__.py": "",
      "kiosk/staff/auth.py": ""}, "hq.views:1 imports kiosk.staff.auth: hq may import only"),
    ({"kiosk/a.py": "from . import b\n", "kiosk/b.py": "from .a import x\n"},
     "import circle: kiosk.a -> kiosk.b -> kiosk.a"),
    ({"kiosk/a.py": "def f():\n    from . import b\n", "kiosk/b.py": ""},
     "kiosk.a:2 imports kiosk.b inside a function"),
    ({"sync/client.py": "from flask import current_app\n"},
     "sync.client:1 imports flask, but sync.client knows nothing of Flask"),
])
def test_the_checker_catches_what_it_must(tmp_path, files, expected):
    found = problems(tree(tmp_path, files))
    assert any(p.startswith(expected) for p in found), found


def test_the_checker_lets_allowed_imports_through(tmp_path):
    root = tree(tmp_path, {"kiosk/tickets/__init__.py": "", "kiosk/tickets/rules.py": "",
                           "hq/ingest.py": "from kiosk.tickets import rules\n",
                           "kiosk/store.py": "from sync import events\nfrom . import ids\n",
                           "kiosk/ids.py": "", "sync/events.py": "from common import files\n",
                           "common/files.py": ""})
    assert problems(root) == []
