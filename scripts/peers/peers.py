"""Runs one peer on one case of scripts/bench-peers and prints one JSON line.

    python peers.py TOOL CASE_DIR OUT_FILE

The answer (a dense table, row-major, or one weight per record in record order) is saved to
OUT_FILE as raw little-endian doubles; the JSON line says the time of the fit alone (`fit_seconds`, input and output
excluded), the sweeps and whether the tool thinks it converged. Every stopping rule is pinned
so the tools solve the same problem: a relative margin error of 1e-8 for dense IPF, 1e-10 for
raking, with iteration caps high enough not to bind.
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd


def load_dense(case):
    meta = json.load(open(os.path.join(case, "case.json")))
    sizes = meta["sizes"]
    targets = []
    for k, dims in enumerate(meta["margins"]):
        df = pd.read_csv(os.path.join(case, f"m{k}.csv"))
        targets.append(df["count"].to_numpy().reshape([sizes[d] for d in dims]))
    if meta["seeded"]:
        seed = np.fromfile(os.path.join(case, "seed.bin")).reshape(sizes)
    else:
        seed = np.ones(sizes)
    return meta, seed, targets


def dense_ipfn(case):
    import ipfn

    meta, seed, targets = load_dense(case)
    start = time.perf_counter()
    fit, converged, log = ipfn.ipfn.ipfn(
        seed.copy(),
        targets,
        meta["margins"],
        convergence_rate=meta["tolerance_rel"],
        max_iteration=10_000,
        verbose=2,
        rate_tolerance=0.0,
    ).iteration()
    return fit, time.perf_counter() - start, len(log), bool(converged)


def dense_humanleague(case):
    import humanleague

    meta, seed, targets = load_dense(case)
    start = time.perf_counter()
    fit, stats = humanleague.ipf(seed, [np.array(d) for d in meta["margins"]], targets)
    return fit, time.perf_counter() - start, stats["iterations"], bool(stats["conv"])


def dense_numpy(case):
    """The hand-vectorized numpy IPF: per margin, one reduction and one broadcast multiply,
    on a (before, margin, after) view of the table when the margin's dimensions are
    consecutive (as in every case here), else on the full shape."""
    meta, seed, targets = load_dense(case)
    sizes = meta["sizes"]
    n = len(sizes)
    views = []
    for dims in meta["margins"]:
        if list(dims) == list(range(dims[0], dims[-1] + 1)):
            a = int(np.prod(sizes[: dims[0]]))
            b = int(np.prod(sizes[dims[-1] + 1 :]))
            views.append(((a, -1, b), (0, 2)))
        else:
            views.append((tuple(sizes), tuple(d for d in range(n) if d not in dims)))
    x = seed.copy()
    start = time.perf_counter()
    sweeps, converged = 0, False
    while sweeps < 10_000:
        sweeps += 1
        worst = 0.0
        for t, (shape, axes) in zip(targets, views):
            v = x.reshape(shape)
            s = v.sum(axis=axes, keepdims=True)
            tk = t.reshape(s.shape)
            worst = max(worst, float(np.max(np.abs(s / tk - 1.0))))
            v *= tk / s
        if worst <= meta["tolerance_rel"]:
            converged = True
            break
    return x, time.perf_counter() - start, sweeps, converged


def load_micro(case):
    meta = json.load(open(os.path.join(case, "case.json")))
    df = pd.read_csv(os.path.join(case, "seed.csv"), dtype={"a": np.int8, "b": np.int8, "c": np.int8, "d": np.int8})
    targets = [pd.read_csv(os.path.join(case, f"m{m}.csv"))["count"].to_numpy() for m in range(4)]
    return meta, df, targets


def rake_numpy(case):
    """IPF on the aggregated cross-table: bincount the design weights onto the 540 cells,
    rake the table to the one-way totals, give every record its cell's factor."""
    meta, df, targets = load_micro(case)
    levels = meta["levels"]
    codes = [df[c].to_numpy().astype(np.int64) for c in "abcd"]
    design = df["weight"].to_numpy()
    start = time.perf_counter()
    key = ((codes[0] * levels[1] + codes[1]) * levels[2] + codes[2]) * levels[3] + codes[3]
    table = np.bincount(key, weights=design, minlength=int(np.prod(levels))).reshape(levels)
    x = table.copy()
    sweeps = 0
    while sweeps < 1000:
        sweeps += 1
        worst = 0.0
        for m, t in enumerate(targets):
            axes = tuple(a for a in range(4) if a != m)
            s = x.sum(axis=axes)
            worst = max(worst, float(np.max(np.abs(s - t))))
            shape = [1] * 4
            shape[m] = levels[m]
            x *= (t / s).reshape(shape)
        if worst <= meta["tolerance_abs"]:
            break
    g = np.divide(x, table, out=np.ones_like(x), where=table > 0).ravel()
    weights = design * g[key]
    return weights, time.perf_counter() - start, sweeps, sweeps < 1000


def rake_balance(case):
    from balance.weighting_methods.rake import rake

    meta, df, targets = load_micro(case)
    levels = meta["levels"]
    # a target population whose one-way margins are the targets: their product distribution
    grid = np.indices(levels).reshape(4, -1).T
    total = targets[0].sum()
    tw = np.full(len(grid), total)
    for m in range(4):
        tw *= targets[m][grid[:, m]] / total
    target_df = pd.DataFrame(grid, columns=list("abcd"))
    sample_df = df[list("abcd")].copy()
    start = time.perf_counter()
    out = rake(
        sample_df,
        df["weight"],
        target_df,
        pd.Series(tw),
        variables=list("abcd"),
        transformations=None,
        max_iteration=10_000,
        convergence_rate=1e-10,
        rate_tolerance=0.0,
    )
    return out["weight"].to_numpy(), time.perf_counter() - start, None, None


def rake_weightipy(case):
    import weightipy as wp

    meta, df, targets = load_micro(case)
    total = targets[0].sum()
    scheme = wp.scheme_from_dict(
        {c: {str(j): 100.0 * t[j] / total for j in range(len(t))} for c, t in zip("abcd", targets)},
        rim_params={"max_iterations": 10_000, "convcrit": 1e-10},
    )
    data = df[list("abcd")].astype(str)
    start = time.perf_counter()
    w = wp.weight(data, scheme).to_numpy()
    elapsed = time.perf_counter() - start
    # weightipy returns weights of mean 1 and ignores design weights: scale to the total
    return w * total / w.sum(), elapsed, None, None


def rake_populationsim(case):
    from populationsim.balancing.single_balancer import ListBalancer

    meta, df, targets = load_micro(case)
    columns, controls = {}, []
    for m, c in enumerate("abcd"):
        codes = df[c].to_numpy()
        for j in range(len(targets[m])):
            columns[f"{c}{j}"] = (codes == j).astype(np.float64)
            controls.append(targets[m][j])
    incidence = pd.DataFrame(columns)
    start = time.perf_counter()
    balancer = ListBalancer(
        incidence_table=incidence,
        initial_weights=df["weight"].to_numpy(),
        control_totals=np.array(controls),
        control_importance_weights=np.full(len(controls), 1e12),
        lb_weights=0.0,
        ub_weights=1e12,
        master_control_index=None,
        max_iterations=10_000,
        use_numba=True,
        numba_precision="float64",
    )
    status, weights, _ = balancer.balance()
    return weights["final"].to_numpy(), time.perf_counter() - start, status.get("iter"), bool(status.get("converged"))


TOOLS = {
    "ipfn": dense_ipfn,
    "humanleague": dense_humanleague,
    "numpy": dense_numpy,
    "numpy-aggregated": rake_numpy,
    "balance": rake_balance,
    "weightipy": rake_weightipy,
    "populationsim": rake_populationsim,
}


def main():
    tool, case, out = sys.argv[1:4]
    answer, seconds, sweeps, converged = TOOLS[tool](case)
    np.asarray(answer, dtype="<f8").ravel().tofile(out)
    print(json.dumps({"fit_seconds": seconds, "sweeps": sweeps, "converged": converged}))


if __name__ == "__main__":
    main()
