#!/usr/bin/env python3
"""Build populace's embedded ACS 2012 default data from acs2012_sample.csv.

Usage: python3 marginals/acs2012/make.py [/path/to/acs2012_sample.csv]
Default input: ../../../shared/data/acs2012_sample.csv relative to this script.
Writes persons.csv, the two-way margin tables and seed.csv next to this script.
Standard library only; deterministic (fixed seed), byte-identical on rerun.
"""
import csv
import itertools
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_INPUT = os.path.join(HERE, "..", "..", "..", "shared", "data", "acs2012_sample.csv")

SEED = 20120101          # random seed for the seed subsample and any supplementary draw
SAMPLE_FRACTION = 10     # seed = 1 in 10 simple random sample without replacement
WEIGHT = 10              # design weight N/n = 2000/200, given to every seed record
IPF_TOL = 1e-10      # max absolute margin deviation the seed must reach ...
IPF_SWEEPS = 1000    # ... within this many sweeps (as calibration/acs2012.toml [fit])

NA = "not applicable"
# Attributes and their categories, in declared order.
CATEGORIES = {
    "age_group": ["0-17", "18-29", "30-44", "45-64", "65+"],
    "sex": ["female", "male"],
    "race": ["white", "black", "asian", "other"],
    "education": [NA, "hs or lower", "college", "grad"],
    "employment": [NA, "employed", "unemployed", "not in labor force"],
    "income_band": [NA, "<=0", "1-24999", "25000-49999", "50000+"],
    "married": ["no", "yes"],
}
ATTRS = list(CATEGORIES)

# Two-way margins: file name -> attributes (column order). Six margins form a
# tree over the seven attributes (age_group and sex are the hubs), the fewest
# two-way margins that connect every attribute.
MARGINS = [
    ("age_sex.csv", ["age_group", "sex"]),
    ("age_education.csv", ["age_group", "education"]),
    ("age_income.csv", ["age_group", "income_band"]),
    ("age_married.csv", ["age_group", "married"]),
    ("sex_employment.csv", ["sex", "employment"]),
    ("race_sex.csv", ["race", "sex"]),
]

AGE_EDGES = [(0, 17, "0-17"), (18, 29, "18-29"), (30, 44, "30-44"), (45, 64, "45-64"), (65, 200, "65+")]


def age_group(age):
    for lo, hi, label in AGE_EDGES:
        if lo <= age <= hi:
            return label
    raise ValueError("age out of range: %r" % age)


def income_band(raw):
    if raw == "":
        return NA
    x = float(raw)
    if x <= 0:
        return "<=0"
    if x < 25000:
        return "1-24999"
    if x < 50000:
        return "25000-49999"
    return "50000+"


def recode(row):
    age = int(row["age"])
    # Missing values in the source are structural (questions not asked of the young);
    # check that so the "not applicable" categories mean what the README says.
    assert (row["education"] == "") == (age <= 2), row
    assert (row["employment"] == "") == (age < 16), row
    assert (row["income_usd"] == "") == (age < 15), row
    return {
        "age_group": age_group(age),
        "sex": row["sex"],
        "race": row["race"],
        "education": row["education"] or NA,
        "employment": row["employment"] or NA,
        "income_band": income_band(row["income_usd"]),
        "married": row["married"],
    }


def write_csv(name, header, rows):
    with open(os.path.join(HERE, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def cell_key(person, attrs):
    return tuple(person[a] for a in attrs)


def ipf_check(persons, chosen, margin_counts):
    """Rake the seed's weighted joint table to all margins.

    Returns (converged, sweeps, cells) where cells lists (abs deviation, margin,
    cell) for every margin cell, largest first (ties in margin/category order).
    """
    keys = sorted({cell_key(persons[i], ATTRS) for i in chosen})
    pos_of = {k: j for j, k in enumerate(keys)}
    w = [0.0] * len(keys)
    for i in chosen:
        w[pos_of[cell_key(persons[i], ATTRS)]] += WEIGHT
    specs = []  # (name, cells, targets, cell index of each joint cell)
    for name, (attrs, cells, counts) in margin_counts.items():
        idx = [ATTRS.index(a) for a in attrs]
        cpos = {c: m for m, c in enumerate(cells)}
        specs.append((name, cells, [float(counts.get(c, 0)) for c in cells],
                      [cpos[tuple(k[j] for j in idx)] for k in keys]))

    def totals(spec):
        cur = [0.0] * len(spec[1])
        for j, m in enumerate(spec[3]):
            cur[m] += w[j]
        return cur

    def max_dev():
        return max(max(abs(c - t) for c, t in zip(totals(sp), sp[2])) for sp in specs)

    sweeps = 0
    dev = max_dev()
    while dev > IPF_TOL and sweeps < IPF_SWEEPS:
        sweeps += 1
        for sp in specs:
            cur = totals(sp)
            f = [t / c if c > 0 else 0.0 for c, t in zip(cur, sp[2])]
            for j, m in enumerate(sp[3]):
                w[j] *= f[m]
        dev = max_dev()
    cells = []
    for order, sp in enumerate(specs):
        for pos, (c, t) in enumerate(zip(totals(sp), sp[2])):
            cells.append((-abs(c - t), order, pos, sp[0], sp[1][pos]))
    cells.sort()
    return dev <= IPF_TOL, sweeps, [(-d, name, c) for d, _, _, name, c in cells]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_INPUT
    with open(src, newline="", encoding="utf-8") as f:
        raw = list(csv.DictReader(f))
    assert len(raw) == 2000, len(raw)

    persons = []
    for i, row in enumerate(raw, start=1):
        p = recode(row)
        p["person_id"] = i
        for a in ATTRS:
            assert p[a] in CATEGORIES[a], (a, p[a])
        persons.append(p)

    # 1. persons.csv: the truth population.
    write_csv("persons.csv", ["person_id"] + ATTRS,
              [[p["person_id"]] + [p[a] for a in ATTRS] for p in persons])

    # 2. Margins from all persons, every category combination, in category order.
    margin_counts = {}
    for name, attrs in MARGINS:
        counts = {}
        for p in persons:
            k = cell_key(p, attrs)
            counts[k] = counts.get(k, 0) + 1
        cells = list(itertools.product(*(CATEGORIES[a] for a in attrs)))
        assert set(counts) <= set(cells)
        write_csv(name, attrs + ["count"], [list(c) + [counts.get(c, 0)] for c in cells])
        assert sum(counts.values()) == len(persons)
        margin_counts[name] = (attrs, cells, counts)

    # 3. Seed: 10% simple random sample, then a supplementary draw of one random
    # person for each positive margin cell the sample does not cover (margins in
    # the order above, cells in category order).
    rng = random.Random(SEED)
    n = len(persons) // SAMPLE_FRACTION
    chosen = set(rng.sample(range(len(persons)), n))
    supplements = []
    for name, (attrs, cells, counts) in margin_counts.items():
        covered = {cell_key(persons[i], attrs) for i in chosen}
        for c in cells:
            if counts.get(c, 0) > 0 and c not in covered:
                pool = [i for i in range(len(persons)) if cell_key(persons[i], attrs) == c and i not in chosen]
                pick = rng.choice(pool)
                chosen.add(pick)
                covered.add(c)
                supplements.append((name, c, persons[pick]["person_id"]))
    # 3b. Feasibility repair. Covering every margin cell is necessary but not
    # sufficient: the seed's sparse joint support can make the margins jointly
    # unreachable (e.g. too few 0-17 seed records with employment other than
    # "not applicable"). So: run IPF on the seed; while it does not reach
    # IPF_TOL within IPF_SWEEPS sweeps, take the margin cell with the largest
    # absolute deviation (ties: margin order, then category order) that holds a
    # person whose full joint cell is not yet in the seed, and add one such
    # person at random. Each step adds a new joint cell, so this terminates (at
    # worst when the seed's support equals the population's).
    repairs = []
    while True:
        ok, sweeps, worst = ipf_check(persons, chosen, margin_counts)
        if ok:
            break
        supported = {cell_key(persons[i], ATTRS) for i in chosen}
        pick = None
        for dev, name, c in worst:
            attrs = margin_counts[name][0]
            pool = [i for i in range(len(persons))
                    if i not in chosen and cell_key(persons[i], attrs) == c
                    and cell_key(persons[i], ATTRS) not in supported]
            if pool:
                pick = rng.choice(pool)
                break
        assert pick is not None, "no repair candidate"
        chosen.add(pick)
        repairs.append((name, c, persons[pick]["person_id"]))

    seed = [persons[i] for i in sorted(chosen)]
    write_csv("seed.csv", ["person_id"] + ATTRS + ["weight"],
              [[p["person_id"]] + [p[a] for a in ATTRS] + [WEIGHT] for p in seed])

    # Verify: every positive margin cell is supported by at least one seed record,
    # and IPF from the seed reaches every margin.
    for name, (attrs, cells, counts) in margin_counts.items():
        covered = {cell_key(p, attrs) for p in seed}
        for c in cells:
            assert counts.get(c, 0) == 0 or c in covered, (name, c)
    ok, sweeps, worst = ipf_check(persons, chosen, margin_counts)
    assert ok, worst[:1]

    print("persons.csv: %d rows" % len(persons))
    for name, (attrs, cells, counts) in margin_counts.items():
        print("%s: %d cells (%d positive)" % (name, len(cells), sum(1 for c in cells if counts.get(c, 0) > 0)))
    print("seed.csv: %d rows (%d random + %d cell supplements + %d feasibility repairs)"
          % (len(seed), n, len(supplements), len(repairs)))
    for name, c, pid in supplements:
        print("  supplement: %s %s -> person_id %d" % (name, "/".join(c), pid))
    for name, c, pid in repairs:
        print("  repair: %s %s -> person_id %d" % (name, "/".join(c), pid))
    print("IPF check: max abs deviation %.3g after %d sweeps" % (worst[0][0] if worst else 0.0, sweeps))


if __name__ == "__main__":
    main()
