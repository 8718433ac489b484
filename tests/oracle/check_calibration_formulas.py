#!/usr/bin/env python3
"""Independent sanity check of the R `survey` calibration fixtures.

Usage: python3 tests/oracle/check_calibration_formulas.py [FIXTURE_DIR]
       (default FIXTURE_DIR: tests/oracle/api next to this script)

Standard library only. From seed.csv and the margin CSVs alone it
  1. re-derives the linear (GREG) calibration weights w = d * (1 + x'lambda)
     for case linear_oneway (and linear_twoway) by solving the normal
     equations (sum_i d_i x_i x_i') lambda = T - sum_i d_i x_i with a small
     Gaussian elimination, and asserts they match the R weights to 1e-9
     relative;
  2. re-derives the raking (g = exp(x'lambda)) and logit (bounded) weights by
     Newton's method and asserts they match R to 1e-9 relative;
  3. checks for every case in cases.csv that the weighted cell totals hit the
     margin counts, that g = w/d respects any bounds, and that the bounds bind.

It proves the fixture format is self-consistent and that the margin files
carry exactly the totals R calibrated to.
"""

import csv
import math
import os
import sys

REL_TOL = 1e-9


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load(fixture_dir):
    seed = read_csv(os.path.join(fixture_dir, "seed.csv"))
    for r in seed:
        r["weight"] = float(r["weight"])
    cases = read_csv(os.path.join(fixture_dir, "cases.csv"))
    return seed, cases


def load_margin(fixture_dir, name):
    rows = read_csv(os.path.join(fixture_dir, name))
    attrs = [c for c in rows[0].keys() if c != "count"]
    for r in rows:
        r["count"] = float(r["count"])
    return attrs, rows


def design(fixture_dir, seed, margin_files):
    """Model matrix (treatment contrasts, reference = first level listed in the
    margin file, as in R) and the matching population totals."""
    cols = [("(Intercept)", lambda r: 1.0)]
    totals = {}
    n_total = None
    names = {"(Intercept)"}
    for name in margin_files:
        attrs, rows = load_margin(fixture_dir, name)
        n = sum(r["count"] for r in rows)
        assert n_total is None or n == n_total, f"{name}: total {n} != {n_total}"
        n_total = n
        levels = {}
        for a in attrs:
            levels[a] = []
            for r in rows:
                if r[a] not in levels[a]:
                    levels[a].append(r[a])
        # main effects, then (for a two-way margin) the interaction columns
        terms = [[(a, lv)] for a in attrs for lv in levels[a][1:]]
        if len(attrs) == 2:
            a, b = attrs
            terms += [[(a, la), (b, lb)] for lb in levels[b][1:] for la in levels[a][1:]]
        assert len(attrs) <= 2
        for term in terms:
            cname = ":".join(f"{a}{lv}" for a, lv in term)
            tot = sum(r["count"] for r in rows if all(r[a] == lv for a, lv in term))
            if cname in names:
                assert totals[cname] == tot, cname
                continue
            names.add(cname)
            totals[cname] = tot
            cols.append((cname, lambda r, term=term: float(all(r[a] == lv for a, lv in term))))
    totals["(Intercept)"] = n_total
    x = [[f(r) for _, f in cols] for r in seed]
    t = [totals[c] for c, _ in cols]
    return [c for c, _ in cols], x, t


def solve(a, b):
    """Gaussian elimination with partial pivoting; a is n x n, b length n."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for k in range(n):
        p = max(range(k, n), key=lambda i: abs(m[i][k]))
        if abs(m[p][k]) < 1e-12 * max(1.0, max(abs(v) for v in m[k][:n])):
            raise ValueError("singular normal equations")
        m[k], m[p] = m[p], m[k]
        for i in range(k + 1, n):
            f = m[i][k] / m[k][k]
            if f:
                for j in range(k, n + 1):
                    m[i][j] -= f * m[k][j]
    lam = [0.0] * n
    for i in reversed(range(n)):
        lam[i] = (m[i][n] - sum(m[i][j] * lam[j] for j in range(i + 1, n))) / m[i][i]
    return lam


def dot(u, v):
    return math.fsum(a * b for a, b in zip(u, v))


def linear_weights(d, x, t):
    p = len(t)
    a = [[math.fsum(di * xi[j] * xi[k] for di, xi in zip(d, x)) for k in range(p)] for j in range(p)]
    sample = [math.fsum(di * xi[j] for di, xi in zip(d, x)) for j in range(p)]
    lam = solve(a, [t[j] - sample[j] for j in range(p)])
    return [di * (1.0 + dot(xi, lam)) for di, xi in zip(d, x)]


def raking_calfun():
    return (lambda u: math.exp(u)), (lambda u: math.exp(u))


def logit_calfun(lo, hi):
    # g(u) in (lo, hi) with g(0) = 1 and g'(0) = 1 (Deville & Saerndal 1992)
    a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))

    def g(u):
        e = math.exp(min(a * u, 700.0))
        return (lo * (hi - 1.0) + hi * (1.0 - lo) * e) / (hi - 1.0 + (1.0 - lo) * e)

    def dg(u):
        e = math.exp(min(a * u, 700.0))
        den = hi - 1.0 + (1.0 - lo) * e
        return a * e * (1.0 - lo) * (hi - 1.0) * (hi - lo) / (den * den)

    return g, dg


def newton_weights(d, x, t, g, dg, maxit=500):
    p = len(t)
    lam = [0.0] * p
    for _ in range(maxit):
        u = [dot(xi, lam) for xi in x]
        gi = [g(v) for v in u]
        misfit = [t[j] - math.fsum(di * gg * xi[j] for di, gg, xi in zip(d, gi, x)) for j in range(p)]
        if max(abs(m) / (1.0 + abs(tt)) for m, tt in zip(misfit, t)) < 1e-15:
            return [di * gg for di, gg in zip(d, gi)]
        dgi = [dg(v) for v in u]
        jac = [[math.fsum(di * dd * xi[j] * xi[k] for di, dd, xi in zip(d, dgi, x)) for k in range(p)]
               for j in range(p)]
        step = solve(jac, misfit)
        lam = [l + s for l, s in zip(lam, step)]
    # floating point may stall just above 1e-15; accept what we have
    u = [dot(xi, lam) for xi in x]
    return [di * g(v) for di, v in zip(d, u)]


def max_rel_diff(a, b):
    return max(abs(u - v) / max(abs(v), 1e-300) for u, v in zip(a, b))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fixture_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "api")
    seed, cases = load(fixture_dir)
    ids = [r["id"] for r in seed]
    assert len(set(ids)) == len(ids), "duplicate ids in seed.csv"
    d = [r["weight"] for r in seed]
    for r in seed:
        for k, v in r.items():
            assert v not in ("", "NA"), f"missing value in seed.csv column {k}"

    passed = failed = 0
    results = {}

    def check(label, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
        print(f"{'ok  ' if ok else 'FAIL'} {label} {detail}")

    for c in cases:
        name = c["case"]
        rows = read_csv(os.path.join(fixture_dir, c["weights_file"]))
        check(f"{name}: ids in seed order", [r["id"] for r in rows] == ids)
        w = [float(r["weight"]) for r in rows]
        results[name] = w
        margins = c["margins"].split(";")

        # weighted cell totals vs margin counts
        dev = 0.0
        for m in margins:
            attrs, mrows = load_margin(fixture_dir, m)
            for mr in mrows:
                est = math.fsum(wi for wi, r in zip(w, seed) if all(r[a] == mr[a] for a in attrs))
                dev = max(dev, abs(est - mr["count"]))
        check(f"{name}: margins hit", dev < 1e-6, f"(max abs dev {dev:.3g}; R says {c['max_abs_deviation']})")

        cols, x, t = design(fixture_dir, seed, margins)
        lo = float(c["bounds_low"]) if c["bounds_low"] else None
        hi = float(c["bounds_high"]) if c["bounds_high"] else None
        g = [wi / di for wi, di in zip(w, d)]
        if lo is not None:
            check(f"{name}: {lo} <= g <= {hi}",
                  min(g) >= lo - 1e-12 and max(g) <= hi + 1e-12,
                  f"(g in [{min(g):.6f}, {max(g):.6f}])")
            n_lo = sum(1 for v in g if v - lo < 1e-3)
            n_hi = sum(1 for v in g if hi - v < 1e-3)
            check(f"{name}: bounds bind", n_lo > 0 and n_hi > 0
                  and n_lo == int(c["n_within_1e-3_of_low"]) and n_hi == int(c["n_within_1e-3_of_high"]),
                  f"({n_lo} within 1e-3 of low, {n_hi} of high)")

        mine = None
        if c["method"] == "linear" and lo is None:
            mine = linear_weights(d, x, t)
        elif c["method"] in ("raking", "rake"):
            mine = newton_weights(d, x, t, *raking_calfun())
        elif c["method"] == "logit":
            mine = newton_weights(d, x, t, *logit_calfun(lo, hi))
        if mine is not None:
            r = max_rel_diff(mine, w)
            check(f"{name}: re-derived {c['method']} weights ({len(cols)} columns)", r < REL_TOL,
                  f"(max rel diff {r:.3g})")

    if "rake_oneway" in results and "raking_oneway" in results:
        r = max_rel_diff(results["rake_oneway"], results["raking_oneway"])
        check("rake() == calibrate(calfun='raking')", r < REL_TOL, f"(max rel diff {r:.3g})")

    assert "linear_oneway" in results, "case linear_oneway missing"
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
