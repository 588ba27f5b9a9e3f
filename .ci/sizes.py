#!/usr/bin/env python3
"""The house's size rules: no function over 80 lines, no file over 500 lines of code (lines
that are neither blank nor comments, test modules and `tests.rs` files left out), in the
crates' `src/`. Python 3 standard library only; exits 1 and lists the offenders if any.

    python3 .ci/sizes.py
"""
import re, sys
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
FN_LIMIT, FILE_LIMIT = 80, 500
def strip_tests(text):
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i: continue
        out.append(text[i:m.start()]); depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0); j += 1
        i = j
    out.append(text[i:]); return "".join(out)
fns, files = [], []
for crate in ["entities", "migrations", "worker", "api"]:
    for f in sorted((ROOT / crate / "src").rglob("*.rs")):
        if f.name == "tests.rs" or "/tests/" in str(f): continue
        text = strip_tests(f.read_text())
        lines = text.split("\n")
        n = sum(1 for l in lines if l.strip() and not l.strip().startswith("//"))
        if n > FILE_LIMIT: files.append((n, str(f.relative_to(ROOT))))
        for k, l in enumerate(lines):
            m = re.match(r"^(\s*)(pub(\([^)]*\))?\s+)?(async\s+)?fn\s+(\w+)", l)
            if not m: continue
            indent = len(m.group(1))
            # find body end: first line after k that is exactly indent + '}'
            for e in range(k + 1, len(lines)):
                if lines[e].startswith(" " * indent + "}") and len(lines[e].rstrip()) == indent + 1:
                    break
                if lines[e].rstrip().endswith(";") and e == k:
                    break
            length = e - k + 1
            if length > FN_LIMIT: fns.append((length, f"{f.relative_to(ROOT)}:{k+1} {m.group(5)}"))
print(f"functions over {FN_LIMIT} lines: {len(fns)}")
for n, w in sorted(fns, reverse=True): print(f"  {n:4} {w}")
print(f"files over {FILE_LIMIT} non-blank, non-comment, non-test lines: {len(files)}")
for n, w in sorted(files, reverse=True): print(f"  {n:4} {w}")
sys.exit(1 if fns or files else 0)
