#!/usr/bin/env python3
"""Mutation testing: does the CPU suite catch realistic bugs?

Each mutant in a JSON-lines list ({"id", "file", "old", "new", "why"}) replaces the one occurrence of
`old` in `file` with `new`. One at a time: apply, rebuild BUILD, run ctest (no GPU suite; stops at
the first failing test), put the file back. A mutant is *killed* when a test fails, *SURVIVED* when
the whole suite passes (a gap in the suite: add a test that fails on it),
*build-fail* when it does not compile, *stale* when `old` no longer occurs exactly once.

  python3 scripts/mutate.py tests/mutants.jsonl                 # all, results in BUILD/mutants.jsonl
  python3 scripts/mutate.py --only m-pool-prob,c-drop-scale tests/mutants.jsonl

Results are appended as they come, so a cut-off run resumes where it stopped (--fresh starts over).
The source file is restored after every mutant, also on Ctrl-C; a run killed harder leaves
BUILD/mutating.json, and the next run puts that file back first.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def restore_leftover(state: pathlib.Path) -> None:
    if state.exists():
        s = json.loads(state.read_text())
        (ROOT / s["file"]).write_text(s["original"])
        state.unlink()
        print(f"restored {s['file']} (left mutated by an interrupted run)", flush=True)


def run_one(m: dict, build: pathlib.Path, state: pathlib.Path) -> dict:
    path = ROOT / m["file"]
    original = path.read_text()
    if original.count(m["old"]) != 1:
        return {"id": m["id"], "status": "stale", "occurrences": original.count(m["old"])}
    state.write_text(json.dumps({"file": m["file"], "original": original}))
    # write_text, never a copy that keeps the old modification time: make must see each change
    path.write_text(original.replace(m["old"], m["new"]))
    try:
        b = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True)
        if b.returncode != 0:
            return {"id": m["id"], "status": "build-fail", "log": (b.stdout + b.stderr)[-800:]}
        t = subprocess.run(["ctest", "-j2", "-E", "^cuda_tests$", "--timeout", "300", "--stop-on-failure"],
                           cwd=build, capture_output=True, text=True)
        failed = [l.strip() for l in t.stdout.splitlines() if "***" in l or "(Failed)" in l]
        return {"id": m["id"], "status": "killed" if t.returncode != 0 else "SURVIVED", "failed": failed[:4]}
    finally:
        path.write_text(original)
        state.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lists", nargs="+", help="JSON-lines files of mutants")
    ap.add_argument("--build", default=str(ROOT / "build"), help="a configured build folder (default ./build)")
    ap.add_argument("--only", default="", help="comma-separated mutant ids")
    ap.add_argument("--results", help="JSON-lines results (default BUILD/mutants.jsonl)")
    ap.add_argument("--fresh", action="store_true", help="forget earlier results")
    a = ap.parse_args()
    build = pathlib.Path(a.build).resolve()
    results = pathlib.Path(a.results or build / "mutants.jsonl")
    state = build / "mutating.json"
    restore_leftover(state)
    if a.fresh and results.exists():
        results.unlink()
    earlier = [json.loads(l) for l in results.read_text().splitlines()] if results.exists() else []
    done = {r["id"]: r for r in earlier}
    only = {i for i in a.only.split(",") if i}
    mutants = [json.loads(l) for f in a.lists for l in open(f) if l.strip()]
    for m in mutants:
        if m["id"] in done or (only and m["id"] not in only):
            continue
        t0 = time.time()
        r = run_one(m, build, state)
        r["seconds"] = round(time.time() - t0)
        done[m["id"]] = r
        with results.open("a") as f:
            f.write(json.dumps(r) + "\n")
        print(f"{r['status']:>10}  {m['id']}  ({r['seconds']} s)", flush=True)
    # the last build holds the last mutant's objects: rebuild the restored sources
    subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True)
    ran = [done[m["id"]] for m in mutants if m["id"] in done and (not only or m["id"] in only)]
    count = {s: sum(r["status"] == s for r in ran) for s in ("killed", "SURVIVED", "build-fail", "stale")}
    print(" ".join(f"{k}: {v}" for k, v in count.items()))
    for m in mutants:
        if done.get(m["id"], {}).get("status") == "SURVIVED":
            print(f"survived: {m['id']} ({m['file']}): {m['why']}")
    return 1 if count["SURVIVED"] else 0


if __name__ == "__main__":
    sys.exit(main())
