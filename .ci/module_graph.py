#!/usr/bin/env python3
"""Lethe's module dependency graph: checks it for circles, or prints it for Graphviz.

    python3 .ci/module_graph.py                 # every crate; exit 1 and the circles if any
    python3 .ci/module_graph.py --dot worker | dot -Tsvg > worker.svg

A node is a source file (a module); an edge A -> B says A names something of B: a `use` of
`crate::`, `super::` or `self::` paths (groups expanded) or such a path written inline in the
code. Test modules (`#[cfg(test)] mod tests { ... }`) are left out. A parent's `pub use` of
its own child is its facade, not a dependency, and is not an edge: the child may use the
parent's types (`super::Model`) without making a circle. Crates depend one way by Cargo's
rules (entities <- worker <- api), so only edges within a crate are drawn.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["entities", "migrations", "worker", "api"]
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def strip(text: str) -> str:
    """Comments, strings and test modules removed."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'r#*".*?"#*|"(?:\\.|[^"\\])*"', '""', text, flags=re.S)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand(tree: str, prefix: str = "") -> list:
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        return [prefix + re.split(r"\s+as\s+", tree)[0].strip()] if tree else []
    head, body = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    items, depth, start = [], 0, 0
    for k, ch in enumerate(body):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(body[start:k])
            start = k + 1
    items.append(body[start:])
    return [p for item in items for p in expand(item, prefix + head)]


def resolve(path: str, here: tuple, is_dir_module: bool, modules: set):
    segments = [s for s in path.split("::") if s]
    if not segments or segments[0] not in ("crate", "super", "self"):
        return None
    base = list(here) if is_dir_module else list(here)
    if segments[0] == "crate":
        base, segments = [], segments[1:]
    else:
        # `self` is this module; each `super` goes one module up.
        while segments and segments[0] in ("self", "super"):
            if segments.pop(0) == "super":
                base = base[:-1]
    full = tuple(base + segments)
    for n in range(len(full), -1, -1):
        if full[:n] in modules:
            return full[:n]
    return None


def graph(crate: str) -> dict:
    src = ROOT / crate / "src"
    files = {module_of(src, f): f for f in src.rglob("*.rs") if f.name not in ("main.rs", "tests.rs")}
    modules = set(files)
    edges = {m: set() for m in modules}
    for here, file in files.items():
        text = strip(file.read_text())
        is_dir = file.name in ("mod.rs", "lib.rs")
        paths = []
        for m in re.finditer(r"\b(pub(\([^)]*\))?\s+)?use\s+([^;]+);", text):
            facade = bool(m.group(1))
            for p in expand(m.group(3)):
                paths.append((p, facade))
        for m in re.finditer(rf"\b(?:crate|super|self)(?:::{IDENT})+", text):
            paths.append((m.group(0), False))
        for p, facade in paths:
            target = resolve(p, here, is_dir, modules)
            if target is None or target == here:
                continue
            if facade and target[: len(here)] == here:
                continue  # a parent's re-export of its own child
            edges[here].add(target)
    return edges


def circles(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def name(crate: str, module: tuple) -> str:
    return "::".join((crate,) + module)


def main() -> int:
    args = sys.argv[1:]
    dot = "--dot" in args
    chosen = [a for a in args if a != "--dot"] or CRATES
    if dot:
        print("digraph lethe {\n  rankdir=LR; node [shape=box, fontname=monospace];")
        for crate in chosen:
            for source, targets in sorted(graph(crate).items()):
                for target in sorted(targets):
                    print(f'  "{name(crate, source)}" -> "{name(crate, target)}";')
        print("}")
        return 0
    bad = 0
    for crate in chosen:
        edges = graph(crate)
        found = circles(edges)
        count = sum(len(t) for t in edges.values())
        print(f"{crate}: {len(edges)} modules, {count} edges, {len(found)} circle(s)")
        for component in found:
            bad += 1
            print("  circle: " + " <-> ".join(name(crate, m) for m in component))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
