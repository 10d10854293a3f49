"""The house's rules, checked on the source: no import circle in jaxzero/, games/ knows nothing of
networks, search or the loop, search/ nothing of RingRift, nn/ nothing of games or search, and no
__main__ block inside a library module."""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "jaxzero"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(modules) -> dict[str, set[str]]:
    """Module -> the jaxzero modules it imports (function-level imports count too). ``from pkg import
    mod`` is an edge to ``pkg.mod`` only: the package's __init__ runs first but imports nothing back."""
    edges = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                targets = subs if len(subs) == len(node.names) else [node.module, *subs]
            else:
                continue
            edges[name].update(t for t in targets if t in modules and t != name)
    return edges


def _cycles(edges) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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

    for v in sorted(list(edges)):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle():
    assert _cycles(_imports(_modules())) == []


def test_the_layers_import_only_downwards():
    edges = _imports(_modules())
    above_games = ("jaxzero.nn", "jaxzero.search", "jaxzero.loop", "jaxzero.selfplay", "jaxzero.train",
                   "jaxzero.arena", "jaxzero.match", "jaxzero.replay", "jaxzero.players", "jaxzero.cli",
                   "jaxzero.bench", "jaxzero.elo", "jaxzero.checkpoint", "jaxzero.config")
    bad = [(a, b) for a, bs in edges.items() for b in bs
           if (a.startswith("jaxzero.games") and b.startswith(above_games))
           or (a.startswith("jaxzero.search") and b.startswith("jaxzero.games.ringrift"))
           or (a.startswith("jaxzero.nn") and b.startswith(("jaxzero.games", "jaxzero.search")))]
    assert bad == []


def test_no_main_block_in_a_library_module():
    """Entry points are scripts/ (or a package's own __main__.py), never a block inside a module."""
    mains = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
             if p.name != "__main__.py" and 'if __name__ == "__main__"' in p.read_text()]
    assert mains == []


def test_the_checker_sees_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
