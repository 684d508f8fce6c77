#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""check-docs.py - the links of README.md and docs/*.md lead somewhere (part of `make lint`).

Every relative link [text](path#anchor) must name a file of the checkout, and its anchor a
heading of that file (GitHub's rule: lower case, punctuation dropped, spaces to '-').
A link to a docs/*.md file that is not there yet is a warning, not an error: docs/README.md
indexes pages other work adds. Exits 1 on any error, naming file and line.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    out, seen = set(), {}
    in_code = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            m = None if in_code else re.match(r"#{1,6} (.*)", line)
            if m:
                a = slug(m.group(1))
                n = seen.get(a, 0)
                seen[a] = n + 1
                out.add(a if n == 0 else f"{a}-{n}")
    return out


def main():
    errors = warnings = 0
    files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    for path in files:
        rel = os.path.relpath(path, ROOT)
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        in_code = False
        for no, line in enumerate(lines, 1):
            if line.startswith("```"):
                in_code = not in_code
            if in_code:
                continue
            for link in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"[a-z]+:", link):
                    continue
                target, _, anchor = link.partition("#")
                tpath = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else path
                if not os.path.exists(tpath):
                    trel = os.path.relpath(tpath, ROOT)
                    if trel.startswith("docs" + os.sep) and trel.endswith(".md"):
                        print(f"check-docs: {rel}:{no}: {link}: not there yet", file=sys.stderr)
                        warnings += 1
                    else:
                        print(f"check-docs: {rel}:{no}: {link}: no such file", file=sys.stderr)
                        errors += 1
                    continue
                if anchor and (not tpath.endswith(".md") or anchor not in anchors(tpath)):
                    print(f"check-docs: {rel}:{no}: {link}: no heading for #{anchor}", file=sys.stderr)
                    errors += 1
    if errors:
        print(f"check-docs: {errors} broken link(s)", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
