"""Household cases of scripts/bench-peers: populace against PopulationSim on PopulationSim's own
example projects, as a Markdown table of wall time, peak memory and control fit.

    python households.py CASE_DIR...

Each CASE_DIR holds `populace.time` (GNU time -v of the populace run), `populace/report.json`
(its fit report) and `psim/run.json` plus `psim/controls_fit.csv` (scripts/populationsim-oracle's
output). The control fit is the sum over controls of the mean |% difference| between result and
target over the zones of the control's own geography with a positive target (integerized runs:
the integer result), the same statistic for both tools.
"""

import csv
import json
import os
import re
import sys


def wall_and_rss(path):
    text = open(path).read()
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text).group(1)
    wall = 0.0
    for part in clock.split(":"):
        wall = wall * 60 + float(part)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return wall, rss / 1024


def populace_fit(report):
    return sum(c["statistics"]["mean_abs_pc_difference"] for c in report["controls"])


def psim_fit(path, integer):
    sums = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            target = float(r["control_value"])
            if r["geography"] != r["control_geography"] or target <= 0:
                continue
            result = float(r["integer_result"] if integer else r["result"])
            s = sums.setdefault(r["control"], [0.0, 0])
            s[0] += abs(result / target - 1) * 100
            s[1] += 1
    return sum(s / n for s, n in sums.values())


def main(dirs):
    print("| case | tool | wall | peak memory | sum over controls of mean abs. % difference | speed-up |")
    print("|---|---|---|---|---|---|")
    for d in dirs:
        case = os.path.basename(d.rstrip("/"))
        report = json.load(open(os.path.join(d, "populace", "report.json")))
        wall, rss = wall_and_rss(os.path.join(d, "populace.time"))
        run = json.load(open(os.path.join(d, "psim", "run.json")))
        integer = report["integerized"]
        theirs = psim_fit(os.path.join(d, "psim", "controls_fit.csv"), integer)
        ours = populace_fit(report)
        psim_wall, psim_rss = run["wall_seconds"], run["peak_rss_mib"]
        print(f"| {case} | populace | {wall:.2f} s | {rss:.0f} MiB | {ours:.1f} | {psim_wall / wall:.0f}× |")
        print(f"| {case} | PopulationSim 0.10.0 | {psim_wall:.2f} s | {psim_rss:.0f} MiB | {theirs:.1f} | |")


if __name__ == "__main__":
    main(sys.argv[1:])
