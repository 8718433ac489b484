"""Writes the benchmark cases of scripts/bench-peers into a folder, from fixed seeds.

Each case folder holds populace's inputs (spec.toml, margin CSVs, seed CSV) and case.json
describing the same problem for the peers; dense cases add the seed and the truth as raw
little-endian doubles (seed.bin, truth.bin). Targets are written with 17 significant digits,
so every tool reads the same doubles.

    python cases.py OUT [--quick] [--only CASE,CASE…]
"""

import json
import os
import sys

import numpy as np

RNG_SEED = 2026
LEVELS = [6, 2, 5, 9]  # the microdata attributes
CYCLE = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]


def write_margin(path, names, dims, sizes, target):
    """A tidy margin CSV: one column per attribute (category = its integer code), then count."""
    grids = np.indices([sizes[d] for d in dims]).reshape(len(dims), -1)
    with open(path, "w") as f:
        f.write(",".join(names[d] for d in dims) + ",count\n")
        for row, t in zip(grids.T, target.ravel()):
            f.write(",".join(str(c) for c in row) + "," + repr(float(t)) + "\n")


def attributes_toml(names, sizes):
    lines = ["[attributes]"]
    for n, s in zip(names, sizes):
        lines.append(f"{n} = [" + ", ".join(f'"{i}"' for i in range(s)) + "]")
    return "\n".join(lines) + "\n"


def dense_case(out, name, sizes, margins, seeded, tolerance_rel, rng):
    """IPF of a dense table: targets are sums of a random positive truth scaled to 10^6;
    `seeded` adds a random positive seed table (one CSV row per cell)."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    names = [f"a{d}" for d in range(len(sizes))]
    truth = rng.uniform(1.0, 2.0, size=sizes)
    truth *= 1e6 / truth.sum()
    targets = []
    for k, dims in enumerate(margins):
        other = tuple(d for d in range(len(sizes)) if d not in dims)
        t = truth.sum(axis=other)
        targets.append(t)
        write_margin(os.path.join(folder, f"m{k}.csv"), names, dims, sizes, t)
    truth.tofile(os.path.join(folder, "truth.bin"))  # R's loglin reads its margins from a table
    min_target = min(float(t.min()) for t in targets)
    tolerance = tolerance_rel * min_target
    spec = attributes_toml(names, sizes)
    if seeded:
        seed = rng.uniform(0.5, 1.5, size=sizes)
        seed.tofile(os.path.join(folder, "seed.bin"))
        codes = np.indices(sizes).reshape(len(sizes), -1).T
        table = np.column_stack([codes, seed.ravel()])
        with open(os.path.join(folder, "seed.csv"), "w") as f:
            f.write(",".join(names) + ",weight\n")
            # %r keeps every double exact
            for row in table:
                f.write(",".join(str(int(c)) for c in row[:-1]) + "," + repr(float(row[-1])) + "\n")
        spec += '\n[seed]\nfile = "seed.csv"\nweight = "weight"\n'
    for k in range(len(margins)):
        spec += f'\n[[margin]]\nfile = "m{k}.csv"\n'
    spec += f'\n[fit]\nmethod = "ipf"\ntolerance = {tolerance!r}\nmax_iterations = 10000\n'
    with open(os.path.join(folder, "spec.toml"), "w") as f:
        f.write(spec)
    meta = {
        "kind": "dense",
        "sizes": list(sizes),
        "margins": [list(m) for m in margins],
        "seeded": seeded,
        "tolerance_rel": tolerance_rel,
        "tolerance_abs": tolerance,
    }
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump(meta, f)


def micro_case(out, name, records, method, rng, bounds=None):
    """Seed microdata on four attributes (6, 2, 5, 9 levels) with design weights k/1000 in
    [1, 3); one-way targets: weighted totals tilted by category (0.8 to 1.2), as in
    benches/calibration.rs."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    names = ["a", "b", "c", "d"]
    codes = np.column_stack([rng.integers(0, l, size=records) for l in LEVELS]).astype(np.int8)
    design_k = rng.integers(1000, 3000, size=records)
    design = design_k / 1000.0
    total = design.sum()
    for m, l in enumerate(LEVELS):
        t = np.bincount(codes[:, m], weights=design, minlength=l) * (0.8 + 0.4 * np.arange(l) / l)
        t *= total / t.sum()
        write_margin(os.path.join(folder, f"m{m}.csv"), names, [m], LEVELS, t)
    # the seed CSV, built as bytes: one digit per code, weights as exact decimals
    digits = (codes + ord("0")).astype(np.uint8)
    wtxt = np.char.mod("%.3f", design).astype("S5")
    buf = np.empty((records, 14), dtype=np.uint8)
    for m in range(4):
        buf[:, 2 * m] = digits[:, m]
        buf[:, 2 * m + 1] = ord(",")
    buf[:, 8:13] = np.frombuffer(wtxt.tobytes(), dtype=np.uint8).reshape(records, 5)
    buf[:, 13] = ord("\n")
    with open(os.path.join(folder, "seed.csv"), "wb") as f:
        f.write(b"a,b,c,d,weight\n")
        f.write(buf.tobytes())
    spec = attributes_toml(names, LEVELS)
    spec += '\n[seed]\nfile = "seed.csv"\nweight = "weight"\n'
    for m in range(4):
        spec += f'\n[[margin]]\nfile = "m{m}.csv"\n'
    spec += f'\n[fit]\nmethod = "{method}"\ntolerance = 1e-8\nmax_iterations = 1000\n'
    if bounds:
        spec += f"bounds = [{bounds[0]}, {bounds[1]}]\n"
    with open(os.path.join(folder, "spec.toml"), "w") as f:
        f.write(spec)
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump({"kind": method, "records": records, "levels": LEVELS, "bounds": bounds, "tolerance_abs": 1e-8}, f)


def generation_case(out, name):
    """A 6-attribute spec for drawing personas: the 20×10×10×10×10×5 cycle, no seed."""
    rng = np.random.default_rng(RNG_SEED + 7)
    dense_case(out, name, [5, 2, 4, 4, 5, 2], CYCLE, False, 1e-10, rng)


def world_case(out, name, persons):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    world = f"persons = {persons}\nseed = 1\n"
    attrs = [("age_group", 3), ("sex", 2), ("education", 3), ("region", 4)]
    for a, k in attrs:
        world += f'\n[[attribute]]\nname = "{a}"\nlevels = [' + ", ".join(f'"{a}{i}"' for i in range(k)) + "]\n"
    items = [f"q{i}" for i in range(1, 11)]
    for q in items:
        world += f'\n[[item]]\nname = "{q}"\noptions = 5\nmain_effect = 1.0\ninteraction = 0.5\ntrait = 0.5\n'
    with open(os.path.join(folder, "world.toml"), "w") as f:
        f.write(world)
    quoted = ", ".join(f'"{q}"' for q in items)
    experiment = f"""[data]
file = "world.csv"
id = "person_id"
profile = ["age_group", "sex", "education"]
items = [{quoted}]
ordinal = [{quoted}]

[population]
groups = ["region", "age_group"]

[[predictor]]
name = "population"
kind = "population"

[[predictor]]
name = "profile"
kind = "profile"
l2 = 1.0

[[predictor]]
name = "cell"
kind = "cell"
prior_strength = 5.0

[[predictor]]
name = "history"
kind = "history"
l2 = 1.0

[evaluation]
folds = 5
bootstrap = 1000
seed = 1
"""
    with open(os.path.join(folder, "experiment.toml"), "w") as f:
        f.write(experiment)


def main():
    out = sys.argv[1]
    quick = "--quick" in sys.argv
    only = sys.argv[sys.argv.index("--only") + 1].strip(",").split(",") if "--only" in sys.argv else None
    if quick:
        cases = [
            ("ipf_small", dense_case, [5, 4, 6, 3], [(0, 1), (1, 2), (2, 3)], True, 1e-8),
            ("ipf_1e5_uniform", dense_case, [10, 10, 10, 10, 10, 1], CYCLE, False, 1e-8),
            ("ipf_1e5_seeded", dense_case, [10, 10, 10, 10, 5, 2], CYCLE, True, 1e-8),
            ("rake_100k", micro_case, 100_000, "rake"),
            ("logit_100k", micro_case, 100_000, "logit", (0.7, 1.5)),
            ("generate", generation_case),
            ("evaluate", world_case, 2_000),
        ]
    else:
        cases = [
            ("ipf_small", dense_case, [5, 4, 6, 3], [(0, 1), (1, 2), (2, 3)], True, 1e-8),
            ("ipf_1e7_uniform", dense_case, [20, 20, 10, 10, 10, 25], CYCLE, False, 1e-8),
            ("ipf_1e6_seeded", dense_case, [20, 10, 10, 10, 10, 5], CYCLE, True, 1e-8),
            ("rake_100k", micro_case, 100_000, "rake"),
            ("rake_10m", micro_case, 10_000_000, "rake"),
            ("logit_100k", micro_case, 100_000, "logit", (0.7, 1.5)),
            ("generate", generation_case),
            ("evaluate", world_case, 100_000),
        ]
    for name, make, *args in cases:
        # every case draws from its own stream, so a case is the same whichever others are made
        rng = np.random.default_rng([RNG_SEED, sum(name.encode())])
        if only is not None and name not in only:
            continue
        if make is dense_case:
            make(out, name, *args, rng)
        elif make is micro_case:
            make(out, name, args[0], args[1], rng, *args[2:])
        else:
            make(out, name, *args)


if __name__ == "__main__":
    main()
