#!/usr/bin/env python3
"""The size limits of CONTRIBUTING.md: source files over --file-max lines and
C functions over --func-max lines, among the files git tracks (tests, the
BPF program's generated headers and build output left aside).

    python3 scripts/sizes.py [--file-max 900] [--func-max 120] [--all]

A function is counted from the line of its name to its closing brace: the
code is formatted with clang-format's Linux braces, so a function body
opens with "{" alone at the start of a line and closes with "}" likewise.
--all lists every file and function with its size instead. Exits 1 when
something is over a limit (for CI), else 0.
"""
import argparse
import re
import subprocess
import sys

SOURCE = re.compile(r"\.(c|h|py|sh)$")
SKIP = re.compile(r"^(tests/|build|bench/results)")
NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
ATTR = re.compile(r"__attribute__\s*\(\(.*?\)\)")


def functions(lines):
    """(name, first line, length) of each function of a C file."""
    start = name = None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            # The name is on the nearest line above that starts in column 0.
            j = i - 1
            while j > 0 and (lines[j][:1] in ("", " ", "\t") or lines[j].startswith(")")):
                j -= 1
            names = NAME.findall(ATTR.sub("", lines[j]))
            if names:
                start, name = j, names[0]
        elif line.startswith("}") and start is not None:
            yield name, start + 1, i - start + 1
            start = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file-max", type=int, default=900)
    ap.add_argument("--func-max", type=int, default=120)
    ap.add_argument("--all", action="store_true")
    a = ap.parse_args()
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split()
    over = 0
    for f in sorted(files):
        if not SOURCE.search(f) or SKIP.search(f):
            continue
        with open(f, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().split("\n")
        n = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
        if a.all or n > a.file_max:
            print(f"file {n:5d} {f}")
            over += n > a.file_max
        if not f.endswith((".c", ".h")):
            continue
        for name, first, length in functions(lines):
            if a.all or length > a.func_max:
                print(f"func {length:5d} {f}:{first} {name}")
                over += length > a.func_max
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
