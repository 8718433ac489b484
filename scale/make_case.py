#!/usr/bin/env python3
"""A national-like synthetic case for populace's sharded runs: many tracts, one shared seed.

Writes into OUT (default: ./case):

  spec.toml                       rake the shared seed to every tract's four margins
  seed.csv                        the shared seed: one record per joint cell + a random sample
  age_sex.csv, age_education.csv, age_household.csv, sex_income.csv
                                  tidy margins: tract, two attributes, count (every cell listed)
  tracts.csv                      tract, persons: every tract's total, for checks

Tracts are named like census tract GEOIDs (11 digits, leading zeros: a zone id must stay a
string). Each tract's persons are drawn from a national joint distribution tilted per tract,
so the margins of a tract agree with each other exactly (they are counts of one population),
every margin cell is positive, and the seed supports every joint cell: raking converges and
exact-mode pools meet every margin. Standard library only; a fixed random seed, so a rerun
writes byte-identical files.

  python3 scale/make_case.py --tracts 2500 --out /tmp/case
"""

import argparse
import bisect
import collections
import itertools
import math
import os
import random

AGE = ["0-17", "18-29", "30-44", "45-64", "65+"]
SEX = ["female", "male"]
EDUCATION = ["none", "school", "college", "graduate"]
INCOME = ["none", "low", "middle", "high"]
HOUSEHOLD = ["alone", "couple", "family", "other"]
ATTRIBUTES = {"age_group": AGE, "sex": SEX, "education": EDUCATION, "income_band": INCOME, "household": HOUSEHOLD}
MARGINS = [("age_sex", "age_group", "sex"), ("age_education", "age_group", "education"),
           ("age_household", "age_group", "household"), ("sex_income", "sex", "income_band")]
RANDOM_SEED = 20260101


def national():
    """The national joint: P(age) P(sex) P(education | age) P(income | age, education) P(household | age)."""
    p_age = [0.22, 0.17, 0.20, 0.25, 0.16]
    p_education = {a: w for a, w in zip(AGE, [[0.70, 0.28, 0.01, 0.01], [0.05, 0.50, 0.35, 0.10],
                                              [0.04, 0.40, 0.38, 0.18], [0.06, 0.46, 0.32, 0.16],
                                              [0.10, 0.55, 0.24, 0.11]])}
    p_household = {a: w for a, w in zip(AGE, [[0.01, 0.02, 0.90, 0.07], [0.25, 0.25, 0.30, 0.20],
                                              [0.15, 0.20, 0.55, 0.10], [0.20, 0.40, 0.32, 0.08],
                                              [0.35, 0.50, 0.08, 0.07]])}
    cells, weights = [], []
    for (a, age), (s, sex), (e, education), (i, income), household in itertools.product(
            enumerate(AGE), enumerate(SEX), enumerate(EDUCATION), enumerate(INCOME), HOUSEHOLD):
        lift = [1.0, 1.5, 2.2, 3.0][i] if a == 0 else [0.6, 1.2, 1.0, 0.6 + 0.3 * e][i] * (1 + e * i / 4)
        p_income = lift / 5.0
        weights.append(p_age[a] * 0.5 * p_education[age][e] * p_income * p_household[age][HOUSEHOLD.index(household)])
        cells.append((age, sex, education, income, household))
    total = sum(weights)
    return cells, [w / total for w in weights]


def tilted(codes, weights, rng):
    """The tract's distribution: the national one tilted by random per-category factors."""
    ta, ts, te, ti, th = ([math.exp(rng.gauss(0, 0.35)) for _ in cats] for cats in ATTRIBUTES.values())
    out = [w * (ta[a] * ts[s] * te[e] * ti[i] * th[h]) for (a, s, e, i, h), w in zip(codes, weights)]
    total = sum(out)
    return [w / total for w in out]


def draw_counts(weights, persons, rng):
    """Counts per cell of `persons` independent draws."""
    drawn = collections.Counter(rng.choices(range(len(weights)), cum_weights=list(itertools.accumulate(weights)), k=persons))
    return [drawn[c] for c in range(len(weights))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracts", type=int, default=2500, help="number of tracts (zones) [2500]")
    parser.add_argument("--mean-persons", type=int, default=1500, help="mean persons per tract [1500]")
    parser.add_argument("--seed-records", type=int, default=4000, help="random seed records besides one per cell [4000]")
    parser.add_argument("--out", default="case", help="output folder [case]")
    args = parser.parse_args()
    rng = random.Random(RANDOM_SEED)
    os.makedirs(args.out, exist_ok=True)
    cells, weights = national()
    names = list(ATTRIBUTES)
    codes = [tuple(ATTRIBUTES[n].index(v) for n, v in zip(names, cell)) for cell in cells]

    def write(name, header, rows):
        with open(os.path.join(args.out, name), "w", newline="\n", encoding="utf-8") as f:
            f.write(",".join(header) + "\n")
            for row in rows:
                f.write(",".join(str(x) for x in row) + "\n")

    cumulative = list(itertools.accumulate(weights))
    seed_cells = list(range(len(cells))) + [
        min(bisect.bisect(cumulative, rng.random()), len(cells) - 1) for _ in range(args.seed_records)]
    write("seed.csv", ["person_id", *names, "weight"],
          [(k + 1, *cells[c], 1) for k, c in enumerate(seed_cells)])

    position = {n: i for i, n in enumerate(names)}
    tables = {m: [] for m, _, _ in MARGINS}
    tracts = []
    counties = [f"{state:02d}{county:03d}" for state in range(1, 57) for county in range(1, 200, 2)]
    low, high = max(200, args.mean_persons // 3), args.mean_persons * 5 // 3
    for t in range(args.tracts):
        tract = f"{counties[t // 40 % len(counties)]}{(t % 40 + 1) * 100 + t // (40 * len(counties)):06d}"
        persons = rng.randint(low, high)
        while True:  # every margin cell positive, so no target forces a record to zero
            counts = draw_counts(tilted(codes, weights, rng), persons, rng)
            margins = {}
            for m, x, y in MARGINS:
                table = {(a, b): 0 for a in ATTRIBUTES[x] for b in ATTRIBUTES[y]}
                for cell, n in zip(cells, counts):
                    if n:
                        table[(cell[position[x]], cell[position[y]])] += n
                margins[m] = table
            if all(n > 0 for table in margins.values() for n in table.values()):
                break
        tracts.append((tract, persons))
        for m, _, _ in MARGINS:
            tables[m].extend((tract, a, b, n) for (a, b), n in margins[m].items())
    for m, x, y in MARGINS:
        write(f"{m}.csv", ["tract", x, y, "count"], tables[m])
    write("tracts.csv", ["tract", "persons"], tracts)

    declared = "\n".join(f"{n} = [{', '.join(repr(c).replace(chr(39), chr(34)) for c in cats)}]"
                         for n, cats in ATTRIBUTES.items())
    margins = "\n".join(f'[[margin]]\nfile = "{m}.csv"\n' for m, _, _ in MARGINS)
    spec = f"""# A national-like case made by scale/make_case.py: {args.tracts} tracts raked from one shared seed.

[attributes]
{declared}

[seed]
file = "seed.csv"
weight = "weight"
id = "person_id"

{margins}
[fit]
method = "rake"
tolerance = 1e-6
max_iterations = 1000

[zones]
column = "tract"
"""
    with open(os.path.join(args.out, "spec.toml"), "w", encoding="utf-8") as f:
        f.write(spec)
    print(f"wrote {args.out}: {args.tracts} tracts, {sum(p for _, p in tracts)} persons, "
          f"{len(seed_cells)} seed records, {len(MARGINS)} margins")


if __name__ == "__main__":
    main()
