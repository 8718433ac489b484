"""Summarizes scripts/bench-peers' results.jsonl as a Markdown table: per case and tool, the
median wall time and fit time, the fit time per sweep, peak memory, the largest relative
difference from populace's answer, and populace's speed-up. Exits non-zero when a converged
peer's answer disagrees with populace's by more than 1e-6 relative (weightipy, which is known
to stop early, is reported, not failed).

    python report.py RESULTS.jsonl
"""

import collections
import json
import os
import statistics
import sys

import numpy as np
import pandas as pd

AGREE = 1e-6
KNOWN_WRONG = {"weightipy"}


def answer(row):
    path = row["answer"]
    if row["kind"] == "raw":
        return np.fromfile(path, dtype="<f8")
    if row["kind"] == "joint":
        return pd.read_csv(path, usecols=["count"])["count"].to_numpy()
    if row["kind"] == "weights":
        return pd.read_csv(path, usecols=["weight"])["weight"].to_numpy()
    return None


def margin_error(case_dir, weights):
    """Largest relative error of the weights' one-way totals (microdata cases)."""
    codes = pd.read_csv(os.path.join(case_dir, "seed.csv"), usecols=list("abcd"))
    worst = 0.0
    for m, c in enumerate("abcd"):
        t = pd.read_csv(os.path.join(case_dir, f"m{m}.csv"))["count"].to_numpy()
        s = np.bincount(codes[c].to_numpy(), weights=weights, minlength=len(t))
        worst = max(worst, float(np.max(np.abs(s / t - 1))))
    return worst


def fmt_time(s):
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


# Resolution of the wall times /usr/bin/time reports.
WALL_RESOLUTION = 0.01


def fmt_wall(s):
    return f"< {WALL_RESOLUTION * 1e3:.0f} ms" if s < WALL_RESOLUTION else fmt_time(s)


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    work = os.path.dirname(sys.argv[1])
    by = collections.OrderedDict()
    for r in rows:
        by.setdefault((r["case"], r["tool"]), []).append(r)
    failed = False
    print("| case | tool | sweeps | fit (median) | fit per sweep | wall (median) | peak RSS | max rel. diff vs populace | populace faster: fit / wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    cases = list(dict.fromkeys(c for c, _ in by))
    for case in cases:
        base = by.get((case, "populace"))
        ref = None
        base_fit = base_wall = base_sweep = None
        if base and not base[0].get("failed") and base[0].get("own"):
            ref = answer(base[0])
            base_fit = statistics.median(r["own"]["fit_seconds"] for r in base)
            base_wall = statistics.median(r["wall"] for r in base)
            sweeps = base[0]["own"].get("iterations")
            base_sweep = base_fit / sweeps if sweeps else None
        for (c, tool), runs in by.items():
            if c != case:
                continue
            if runs[0].get("failed"):
                print(f"| {case} | {tool} | failed | | | | | | |")
                continue
            wall = statistics.median(r["wall"] for r in runs)
            rss = max(r["rss_kb"] for r in runs) / 1024
            own = runs[0].get("own") or {}
            fits = [r["own"]["fit_seconds"] for r in runs if r.get("own") and r["own"].get("fit_seconds") is not None]
            fit = statistics.median(fits) if fits else None
            sweeps = own.get("sweeps", own.get("iterations"))
            per_sweep = fit / sweeps if fit is not None and sweeps else None
            if tool == "populace" and own.get("algorithm"):
                tool = f"populace ({own['algorithm']})"
            diff = ""
            if ref is not None and runs[0]["kind"] == "raw":
                a = answer(runs[0])
                if a.shape != ref.shape:
                    diff = f"shape {a.shape} vs {ref.shape}"
                    failed = True
                else:
                    nz = ref != 0
                    d = float(np.max(np.abs(a[nz] - ref[nz]) / np.abs(ref[nz]))) if nz.any() else 0.0
                    diff = f"{d:.1e}"
                    if case.startswith(("rake", "logit")):
                        diff += f" (margins {margin_error(os.path.join(work, case), a):.0e})"
                    if d > AGREE and tool not in KNOWN_WRONG:
                        diff += " DISAGREES"
                        failed = True
            if runs[0]["kind"] == "persons":
                persons = int(runs[0]["answer"])
                diff = f"{persons / wall / 1e6:.2f} M persons/s"
            speed = ""
            if not tool.startswith("populace") and base_fit:
                ratio_fit = None
                if case.startswith("ipf") and per_sweep and base_sweep:
                    ratio_fit = per_sweep / base_sweep
                elif fit:
                    ratio_fit = fit / base_fit
                # /usr/bin/time reports wall time in hundredths: a populace run under 10 ms reads 0
                wall_ratio = f"{wall / base_wall:.1f}×" if base_wall else f"> {wall / WALL_RESOLUTION:.0f}×"
                speed = (f"{ratio_fit:.1f}×" if ratio_fit else "–") + f" / {wall_ratio}"
            print(
                f"| {case} | {tool} | {sweeps if sweeps is not None else '–'} | {fmt_time(fit)} | "
                f"{fmt_time(per_sweep)} | {fmt_wall(wall)} | {rss:.0f} MB | {diff} | {speed} |"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
