#!/usr/bin/env python3
"""Build populace's shipped household sample from R's laeken::eusilc (export.R's CSV).

Usage: python3 marginals/eusilc/make.py [RAW_CSV [OUT_DIR]]
Defaults: eusilc_raw.csv and the folder of this script.
Writes the truth (households.csv, persons.csv), the crosswalk, the seed (seed_households.csv,
seed_persons.csv) and the control tables (state_controls.csv, region_controls.csv).
Standard library only; deterministic (fixed random seed), byte-identical on rerun.
See marginals/README.md, section "eusilc/".
"""
import csv
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SEED = 2006              # random seed of the seed sample
SAMPLE_FRACTION = 10     # the seed: 1 in 10 households of each state, without replacement

# Austria's NUTS-1 groups of its nine federal states (Bundesländer).
REGION_OF = {
    "Burgenland": "East", "Lower Austria": "East", "Vienna": "East",
    "Carinthia": "South", "Styria": "South",
    "Upper Austria": "West", "Salzburg": "West", "Tyrol": "West", "Vorarlberg": "West",
}
REGIONS = ["East", "South", "West"]
STATES = sorted(REGION_OF)

# Person attributes and their categories, in declared order.
AGE_BANDS = [(-1, 15, "0-15"), (16, 24, "16-24"), (25, 44, "25-44"), (45, 64, "45-64"), (65, 200, "65+")]
SEXES = ["female", "male"]
# pl030, EU-SILC's self-defined current economic status; not asked below 16.
ECONOMIC = {
    "1": "full-time",     # working full time
    "2": "part-time",     # working part time
    "3": "unemployed",
    "4": "in education",  # pupil, student, further training, unpaid work experience, military/community service
    "5": "retired",       # retirement, early retirement, has given up business
    "6": "inactive",      # permanently disabled or unfit to work, other inactive
    "7": "inactive",      # domestic tasks and care responsibilities
}
UNDER_16 = "under 16"
ECONOMIC_CATEGORIES = ["full-time", "part-time", "unemployed", "in education", "retired", "inactive", UNDER_16]
CITIZENSHIP = ["AT", "EU", "Other", UNDER_16]

# Household size controls: column -> (lowest, highest) size.
SIZES = [("hh_size_1", 1, 1), ("hh_size_2", 2, 2), ("hh_size_3", 3, 3), ("hh_size_4plus", 4, 99)]


def age_band(age):
    for lo, hi, label in AGE_BANDS:
        if lo <= age <= hi:
            return label
    raise ValueError("age out of range: %r" % age)


def person_column(sex, band):
    """The state control column of persons of `sex` in age band `band` (`female_0_15`)."""
    return "%s_%s" % (sex, band.replace("-", "_").replace("+", "plus"))


def economic_column(status):
    return "persons_" + status.replace(" ", "_").replace("-", "_")


def write_csv(out_dir, name, header, rows):
    with open(os.path.join(out_dir, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    if len(sys.argv) > 3:
        sys.exit(__doc__)
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "eusilc_raw.csv")
    out_dir = sys.argv[2] if len(sys.argv) > 2 else HERE
    os.makedirs(out_dir, exist_ok=True)
    with open(src, newline="", encoding="utf-8") as f:
        raw = list(csv.DictReader(f))
    assert len(raw) == 14827, len(raw)

    # The truth: every person, recoded; households from their first person.
    households = {}   # id -> {"STATE", "hsize"}
    persons = []
    for row in raw:
        hid, age = int(row["db030"]), int(row["age"])
        # pl030 and pb220a are asked of persons 16 and older, and of them only.
        assert (row["pl030"] == "") == (age < 16), row
        assert (row["pb220a"] == "") == (age < 16), row
        h = {"STATE": row["db040"], "hsize": int(row["hsize"])}
        assert h["STATE"] in REGION_OF, h
        assert households.setdefault(hid, h) == h, (hid, h)
        persons.append({
            "person_id": int(row["rb030"]),
            "hh_id": hid,
            "age_band": age_band(age),
            "sex": row["rb090"],
            "economic_status": ECONOMIC[row["pl030"]] if row["pl030"] else UNDER_16,
            "citizenship": row["pb220a"] or UNDER_16,
        })
    assert len(households) == 6000
    persons.sort(key=lambda p: (p["hh_id"], p["person_id"]))
    members = {}
    for p in persons:
        assert p["sex"] in SEXES and p["citizenship"] in CITIZENSHIP, p
        members.setdefault(p["hh_id"], []).append(p)
    # hsize is the number of the household's persons in the data
    assert all(len(members[h]) == households[h]["hsize"] for h in households)
    assert len({p["person_id"] for p in persons}) == len(persons)

    person_header = ["person_id", "hh_id", "age_band", "sex", "economic_status", "citizenship"]
    person_row = lambda p: [p[c] for c in person_header]
    ids = sorted(households)
    write_csv(out_dir, "households.csv", ["hh_id", "STATE", "hsize"],
              [[h, households[h]["STATE"], households[h]["hsize"]] for h in ids])
    write_csv(out_dir, "persons.csv", person_header, [person_row(p) for p in persons])
    write_csv(out_dir, "crosswalk.csv", ["STATE", "REGION"], [[s, REGION_OF[s]] for s in STATES])

    # Controls from the truth. STATE: households (total and by size), persons by sex x age band.
    age_labels = [b for _, _, b in AGE_BANDS]
    person_columns = [(person_column(s, b), s, b) for s in SEXES for b in age_labels]
    state_header = ["STATE", "households"] + [c for c, _, _ in SIZES] + [c for c, _, _ in person_columns]
    state_rows = []
    state_totals = {}
    for s in STATES:
        hh = [h for h in ids if households[h]["STATE"] == s]
        ps = [p for h in hh for p in members[h]]
        row = [s, len(hh)]
        row += [sum(1 for h in hh if lo <= households[h]["hsize"] <= hi) for _, lo, hi in SIZES]
        row += [sum(1 for p in ps if p["sex"] == sex and p["age_band"] == b) for _, sex, b in person_columns]
        assert sum(row[2:2 + len(SIZES)]) == len(hh) and sum(row[2 + len(SIZES):]) == len(ps)
        state_totals[s] = len(hh)
        state_rows.append(row)
    write_csv(out_dir, "state_controls.csv", state_header, state_rows)
    # REGION: persons 16 and older by economic status (a control above the seed level).
    economic = ECONOMIC_CATEGORIES[:-1]
    region_rows = []
    for r in REGIONS:
        ps = [p for p in persons if REGION_OF[households[p["hh_id"]]["STATE"]] == r]
        region_rows.append([r] + [sum(1 for p in ps if p["economic_status"] == e) for e in economic])
    write_csv(out_dir, "region_controls.csv", ["REGION"] + [economic_column(e) for e in economic], region_rows)

    # The seed: a random tenth of each state's households (in household id order), with all
    # their persons; design weight N_state / n_state, so the weights add up to the state's
    # households.
    rng = random.Random(SEED)
    seed = []
    weight = {}
    for s in STATES:
        hh = [h for h in ids if households[h]["STATE"] == s]
        n = round(len(hh) / SAMPLE_FRACTION)
        chosen = sorted(rng.sample(hh, n))
        seed += chosen
        for h in chosen:
            weight[h] = len(hh) / n
        assert abs(sum(weight[h] for h in chosen) - len(hh)) < 1e-9 * len(hh)
    seed.sort()
    write_csv(out_dir, "seed_households.csv", ["hh_id", "STATE", "hsize", "weight"],
              [[h, households[h]["STATE"], households[h]["hsize"], repr(weight[h])] for h in seed])
    seed_persons = [p for h in seed for p in members[h]]
    write_csv(out_dir, "seed_persons.csv", person_header, [person_row(p) for p in seed_persons])

    # Every positive control has seed support in its zone: a seed household of the size in the
    # state, a seed person of the sex and age band in the state, of the status in the region.
    for row in state_rows:
        s = row[0]
        hh = [h for h in seed if households[h]["STATE"] == s]
        for (column, lo, hi), target in zip(SIZES, row[2:]):
            assert target == 0 or any(lo <= households[h]["hsize"] <= hi for h in hh), (s, column)
        ps = [p for h in hh for p in members[h]]
        for (column, sex, b), target in zip(person_columns, row[2 + len(SIZES):]):
            assert target == 0 or any(p["sex"] == sex and p["age_band"] == b for p in ps), (s, column)
    for row in region_rows:
        ps = [p for p in seed_persons if REGION_OF[households[p["hh_id"]]["STATE"]] == row[0]]
        for e, target in zip(economic, row[1:]):
            assert target == 0 or any(p["economic_status"] == e for p in ps), (row[0], e)

    print("households.csv: %d households; persons.csv: %d persons" % (len(ids), len(persons)))
    print("seed: %d households, %d persons" % (len(seed), len(seed_persons)))
    for s in STATES:
        n = sum(1 for h in seed if households[h]["STATE"] == s)
        print("  %-13s %-5s %5d households, seed %4d (weight %.4f)"
              % (s, REGION_OF[s], state_totals[s], n, state_totals[s] / n))
    for r in region_rows:
        print("  %-5s %s" % (r[0], ", ".join("%s %d" % (e, c) for e, c in zip(economic, r[1:]))))


if __name__ == "__main__":
    main()
