"""The build context: the files docker would send, as .dockerignore's rules filter them."""

from __future__ import annotations

import os
import re
from pathlib import Path


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore_rules(path: Path) -> list[tuple[bool, str, re.Pattern[str]]]:
    """(excludes?, pattern, regex) triples, in order; the last one matching a path decides."""
    rules: list[tuple[bool, str, re.Pattern[str]]] = []
    if not path.exists():
        return rules
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((not include, pattern, _pattern_regex(pattern)))
    return rules


def context_files(root: Path) -> list[Path]:
    """The files docker would send as the build context, relative to `root`.

    As docker's pattern matcher does, a pattern matching a parent directory matches every
    path under it; the last matching pattern wins (`!` patterns include again). An excluded
    directory that no `!` pattern could reach into is not walked (as docker skips it).
    """
    rules = dockerignore_rules(root / ".dockerignore")

    def excluded(rel: str) -> bool:
        parts = rel.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        verdict = False
        for excludes, _, regex in rules:
            if any(regex.match(c) for c in candidates):
                verdict = excludes
        return verdict

    def may_include_below(rel: str) -> bool:
        for excludes, pattern, _ in rules:
            if excludes:
                continue
            literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
            if literal.startswith(rel + "/") or (rel + "/").startswith(literal):
                return True
        return False

    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).relative_to(root)
        kept = []
        for d in sorted(dirnames):
            rel = (here / d).as_posix()
            if d == ".git" or (excluded(rel) and not may_include_below(rel)):
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            rel = (here / name).as_posix()
            if not excluded(rel):
                files.append(Path(rel))
    return files
