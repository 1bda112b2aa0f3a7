#!/usr/bin/env python3
"""Check an Autobahn-format index.json (as written by kosoku or the Autobahn TestSuite).

usage: autobahn_check.py INDEX_JSON [--agent NAME] [--ignore GLOB ...] [--only GLOB ...]

Prints a per-category markdown table and exits non-zero unless every case that
is not ignored (default: 12.* and 13.*, the permessage-deflate cases) has
behavior OK or INFORMATIONAL *and* behaviorClose OK or INFORMATIONAL.
NON-STRICT, UNIMPLEMENTED, FAILED, and any other label are failures. With
--only, cases matching none of its globs are not judged either (for a run that
selected a few categories).

When run with a Python that has `kosoku` installed, the full case list is taken
from kosoku and every expected case that is absent from index.json is reported
as MISSING (a failure): a client that stops early must not pass.

Standard library only (apart from the optional kosoku import).
"""

from __future__ import annotations

import argparse
import json
import sys
from fnmatch import fnmatchcase

PASS = {"OK", "INFORMATIONAL"}
COLUMNS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]


def sort_key(case_id: str) -> list[int]:
    return [int(p) if p.isdigit() else 0 for p in case_id.split(".")]


def ignored(case_id: str, globs: list[str]) -> bool:
    return any(fnmatchcase(case_id, g) for g in globs)


def expected_cases() -> list[str] | None:
    """All case ids kosoku knows, or None when kosoku is not importable."""
    try:
        from kosoku.cases import CASES  # type: ignore[import-not-found]
    except Exception:
        return None
    return list(CASES)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("index", help="path to index.json")
    ap.add_argument("--agent", help="agent to check (default: the only one present)")
    ap.add_argument(
        "--ignore",
        action="append",
        metavar="GLOB",
        help="case-id glob not to judge (repeatable; default: 12.* and 13.*)",
    )
    ap.add_argument(
        "--only",
        action="append",
        metavar="GLOB",
        default=[],
        help="judge only case ids matching one of these globs (repeatable)",
    )
    args = ap.parse_args()
    # Without --ignore, 12.* and 13.* are skipped, unless --only picks what to judge.
    default_ignore = [] if args.only else ["12.*", "13.*"]
    ignore_globs = args.ignore if args.ignore is not None else default_ignore
    only_globs = args.only
    globs = ignore_globs + [f"not {g}" for g in only_globs]

    def skipped(case_id: str) -> bool:
        return ignored(case_id, ignore_globs) or bool(only_globs) and not ignored(case_id, only_globs)

    with open(args.index, encoding="utf-8") as f:
        index = json.load(f)

    if args.agent is None:
        if len(index) != 1:
            print(f"error: index has agents {sorted(index)}; pass --agent", file=sys.stderr)
            return 2
        args.agent = next(iter(index))
    if args.agent not in index:
        print(f"error: agent {args.agent!r} not in index (has {sorted(index)})", file=sys.stderr)
        return 2
    cases: dict[str, dict] = index[args.agent]
    others = sorted(a for a in index if a != args.agent)

    # Per-category counts of `behavior`, plus how many had a bad behaviorClose.
    table: dict[str, dict[str, int]] = {}
    failures: list[tuple[str, str, str]] = []
    cat_ignored: dict[str, bool] = {}
    for case_id in sorted(cases, key=sort_key):
        r = cases[case_id]
        behavior = r.get("behavior", "?")
        close = r.get("behaviorClose", "?")
        cat = case_id.split(".")[0]
        row = table.setdefault(cat, dict.fromkeys(COLUMNS + ["bad close", "total"], 0))
        cat_ignored[cat] = cat_ignored.get(cat, True) and skipped(case_id)
        row[behavior if behavior in COLUMNS else "FAILED"] += 1
        row["total"] += 1
        if close not in PASS:
            row["bad close"] += 1
        if not skipped(case_id) and (behavior not in PASS or close not in PASS):
            failures.append((case_id, behavior, close))

    known = expected_cases()
    missing = []
    if known is not None:
        missing = [c for c in known if c not in cases and not skipped(c)]

    print(f"### Autobahn results for `{args.agent}`\n")
    header = ["category"] + COLUMNS + ["total", "bad close"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    totals = dict.fromkeys(COLUMNS + ["bad close", "total"], 0)
    for cat in sorted(table, key=sort_key):
        row = table[cat]
        name = cat + (" (not judged)" if cat_ignored[cat] else "")
        print("| " + " | ".join([name] + [str(row[c]) for c in COLUMNS + ["total", "bad close"]]) + " |")
        for k in totals:
            totals[k] += row[k]
    print("| **all** | " + " | ".join(str(totals[c]) for c in COLUMNS + ["total", "bad close"]) + " |")
    print()
    print("FAILED counts every behavior other than the four named ones (FAILED, ERROR, ...).")
    print("'bad close' counts cases whose behaviorClose is not OK/INFORMATIONAL.")
    print(f"Not judged: {', '.join(globs) if globs else '(nothing)'}.")
    if others:
        print(f"Other agents in index (not checked): {', '.join(others)}")
    if known is None:
        print("Note: kosoku not importable here, so missing cases were not checked.")
    print()

    judged = sum(1 for c in cases if not skipped(c))
    if failures or missing:
        print(f"#### {len(failures)} failing and {len(missing)} missing case(s)\n")
        for case_id, behavior, close in failures:
            print(f"- {case_id}: behavior={behavior}, behaviorClose={close}")
        for case_id in missing[:30]:
            print(f"- {case_id}: MISSING (not run)")
        if len(missing) > 30:
            print(f"- ... and {len(missing) - 30} more MISSING")
        print(f"\nAUTOBAHN FAIL: {judged - len(failures)} of {judged + len(missing)} judged cases acceptable")
        return 1
    print(f"AUTOBAHN OK: all {judged} judged cases acceptable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
