#!/usr/bin/env python3
"""A generated household region for `populace fit` / `populace generate` on a household spec.

    python3 scale/make_households.py OUT_DIR [--households 1000000] [--taz 5000] [--pumas 50]
                                             [--seed-households 2000] [--regions 1]
                                             [--expected] [--random-seed 1]

Writes OUT_DIR/spec.toml and its tables: a seed of `--seed-households` households per PUMA
(with persons: sizes 1-6, ages, workers), a crosswalk REGION > PUMA > TRACT > TAZ (`--taz`
TAZ, 10 per tract, split evenly over the PUMAs), and controls that a true population drawn
from the seed meets, so the controls are consistent with each other:

- TAZ: households (the total), households by size (1, 2, 3, 4+), by income band (3), and
  workers (a person control);
- TRACT: households by type (single-family or not);
- REGION: persons by age band (4; a person control above the seed level, shared out to the
  PUMAs by meta factoring).

`--regions R` splits the PUMAs evenly over R regions (the top level, by which `generate
--partitioned` and `--shard` deal out the work: states in a national case). `--expected` makes
each TAZ's controls the expected counts of its tilted draw (largest remainders within size and
income, so they still add up to the TAZ's households) instead of drawing every household: a
national case of 10^8 households takes seconds per thousand TAZ instead of hours.

Each TAZ's true households are drawn from its PUMA's seed with a TAZ-specific tilt towards
large or small, rich or poor households, so the TAZ controls differ from the seed's averages.
Standard library only; the same arguments give the same files.
"""

import argparse
import os
import random


def apportion(shares, total):
    """Whole numbers adding up to `total` in proportion to `shares`, by largest remainders."""
    scale = total / sum(shares) if sum(shares) > 0 else 0.0
    quota = [x * scale for x in shares]
    out = [int(q) for q in quota]
    for i in sorted(range(len(quota)), key=lambda i: out[i] - quota[i])[: total - sum(out)]:
        out[i] += 1
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--households", type=int, default=1_000_000, help="households in the region (about)")
    p.add_argument("--taz", type=int, default=5000, help="lowest zones (a multiple of 10)")
    p.add_argument("--pumas", type=int, default=50)
    p.add_argument("--seed-households", type=int, default=2000, help="seed households per PUMA")
    p.add_argument("--regions", type=int, default=1, help="top-level zones (states)")
    p.add_argument("--expected", action="store_true", help="controls from expected counts, not draws")
    p.add_argument("--random-seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.random_seed)
    os.makedirs(a.out, exist_ok=True)
    tracts = a.taz // 10
    if tracts < a.pumas:
        raise SystemExit("need at least 10 TAZ per PUMA")
    if a.pumas < a.regions:
        raise SystemExit("need at least one PUMA per region")

    # Seed households and persons.
    households = []  # (hh_id, puma, weight, size, income, sf)
    persons = []  # (hh_id, age band, works)
    hid = 0
    for puma in range(a.pumas):
        for _ in range(a.seed_households):
            hid += 1
            size = rng.choices([1, 2, 3, 4, 5, 6], [28, 34, 15, 13, 6, 4])[0]
            income = rng.choices([1, 2, 3], [30, 40, 30])[0]
            sf = 1 if rng.random() < 0.55 + 0.05 * (size - 2) else 0
            weight = round(rng.uniform(5, 60), 2)
            households.append((hid, 10001 + puma, weight, size, income, sf))
            for k in range(size):
                if k < 2:
                    age = rng.choices([2, 3, 4], [35, 45, 20])[0]
                else:
                    age = rng.choices([1, 2], [80, 20])[0]
                works = 1 if age in (2, 3) and rng.random() < 0.7 else 0
                persons.append((hid, age, works))
    members = {}
    for h, age, works in persons:
        members.setdefault(h, []).append((age, works))

    # Geography: TAZ ids 1..taz, 10 per tract; tracts split evenly over PUMAs, PUMAs over regions.
    crosswalk = []
    for t in range(tracts):
        p_index = t * a.pumas // tracts
        for z in range(10):
            crosswalk.append((t * 10 + z + 1, 100000 + t, 10001 + p_index, 1 + p_index * a.regions // a.pumas))
    by_puma = {}
    for h in households:
        by_puma.setdefault(h[1], []).append(h)

    # A true population: each TAZ draws its households from its PUMA's seed, tilted (or, with
    # --expected, takes the draw's expected counts).
    per_taz = a.households // a.taz
    taz_rows, tract_sf, age_totals = [], {}, {}
    for taz, tract, puma, region in crosswalk:
        pool = by_puma[puma]
        tilt_size, tilt_income = rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)
        weights = [h[2] * (1 + tilt_size) ** (h[3] - 2) * (1 + tilt_income) ** (h[4] - 2) for h in pool]
        n = max(1, int(per_taz * rng.uniform(0.6, 1.4)))
        ages = age_totals.setdefault(region, [0, 0, 0, 0])
        if a.expected:
            total = sum(weights)
            size, income, workers, sf = [0.0] * 4, [0.0] * 3, 0.0, 0.0
            for h, w in zip(pool, weights):
                share = n * w / total
                size[min(h[3], 4) - 1] += share
                income[h[4] - 1] += share
                sf += share * h[5]
                for age, works in members[h[0]]:
                    workers += share * works
                    ages[age - 1] += share
            size, income, workers = apportion(size, n), apportion(income, n), round(workers)
            tract_sf[tract] = tract_sf.get(tract, 0) + sf
        else:
            size, income, workers = [0, 0, 0, 0], [0, 0, 0], 0
            for h in rng.choices(pool, weights, k=n):
                size[min(h[3], 4) - 1] += 1
                income[h[4] - 1] += 1
                tract_sf[tract] = tract_sf.get(tract, 0) + h[5]
                for age, works in members[h[0]]:
                    workers += works
                    ages[age - 1] += 1
        taz_rows.append((taz, n, *size, *income, workers))
    tract_rows = sorted((t, round(v)) for t, v in tract_sf.items())
    region_rows = sorted((r, *(round(v) for v in ages)) for r, ages in age_totals.items())

    def write(name, header, rows):
        with open(os.path.join(a.out, name), "w") as f:
            f.write(",".join(header) + "\n")
            for r in rows:
                f.write(",".join(str(x) for x in r) + "\n")

    write("households.csv", ["hh_id", "PUMA", "WGTP", "NP", "INCOME", "SF"], households)
    write("persons.csv", ["hh_id", "AGE", "WORKS"], persons)
    write("crosswalk.csv", ["TAZ", "TRACT", "PUMA", "REGION"], crosswalk)
    write("taz_controls.csv", ["TAZ", "HH", "S1", "S2", "S3", "S4", "I1", "I2", "I3", "WORKERS"], taz_rows)
    write("tract_controls.csv", ["TRACT", "SF"], tract_rows)
    write("region_controls.csv", ["REGION", "A1", "A2", "A3", "A4"], region_rows)

    controls = [
        ("households", "TAZ", "households", "HH", "NP > 0", None),
        ("size_1", "TAZ", "households", "S1", "NP == 1", 1000),
        ("size_2", "TAZ", "households", "S2", "NP == 2", 1000),
        ("size_3", "TAZ", "households", "S3", "NP == 3", 1000),
        ("size_4_plus", "TAZ", "households", "S4", "NP >= 4", 1000),
        ("income_low", "TAZ", "households", "I1", "INCOME == 1", 1000),
        ("income_mid", "TAZ", "households", "I2", "INCOME == 2", 1000),
        ("income_high", "TAZ", "households", "I3", "INCOME == 3", 1000),
        ("workers", "TAZ", "persons", "WORKERS", "WORKS == 1", 1000),
        ("single_family", "TRACT", "households", "SF", "SF == 1", 100),
        ("age_child", "REGION", "persons", "A1", "AGE == 1", 1000),
        ("age_young", "REGION", "persons", "A2", "AGE == 2", 1000),
        ("age_middle", "REGION", "persons", "A3", "AGE == 3", 1000),
        ("age_old", "REGION", "persons", "A4", "AGE == 4", 1000),
    ]
    with open(os.path.join(a.out, "spec.toml"), "w") as f:
        f.write(f"# Generated by scale/make_households.py {a.out} --households {a.households} --taz {a.taz} "
                f"--pumas {a.pumas} --seed-households {a.seed_households} --regions {a.regions}"
                f"{' --expected' if a.expected else ''} --random-seed {a.random_seed}\n\n")
        f.write('[geography]\nlevels = ["REGION", "PUMA", "TRACT", "TAZ"]\nseed = "PUMA"\ncrosswalk = "crosswalk.csv"\n\n')
        f.write('[households]\nfile = "households.csv"\nid = "hh_id"\nweight = "WGTP"\ntotal_control = "households"\n\n')
        f.write('[persons]\nfile = "persons.csv"\nhousehold_id = "hh_id"\n\n')
        for level, name in [("TAZ", "taz"), ("TRACT", "tract"), ("REGION", "region")]:
            f.write(f'[[controls]]\ngeography = "{level}"\nfile = "{name}_controls.csv"\n\n')
        for name, level, table, column, expression, importance in controls:
            f.write(f'[[control]]\nname = "{name}"\ngeography = "{level}"\ntable = "{table}"\n'
                    f'column = "{column}"\nexpression = "{expression}"\n')
            if importance is not None:
                f.write(f"importance = {importance}\n")
            f.write("\n")
        f.write("[fit]\nmax_expansion_factor = 30\nmin_expansion_factor = 0.1\n")
    print(f"{a.out}: {len(households)} seed households, {len(persons)} seed persons, {a.taz} TAZ, "
          f"{sum(r[1] for r in taz_rows)} households to make")


if __name__ == "__main__":
    main()
