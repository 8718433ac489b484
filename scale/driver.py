"""Run populace over every zone of a spec on Apache Spark, then check the output with Spark SQL.

One Spark task per shard: task I runs the shipped binary as

    populace generate SPEC --shard I/N --out OUT [ARGS…]

which writes its zones' files (atomically) and prints one JSON manifest line per zone. A failed
task is retried by Spark (spark.task.maxFailures); the retry rewrites the same bytes over the
same files. Then the driver reads OUT back with Spark SQL and checks every zone. Two kinds of
spec, told apart by the spec itself:

A persons spec ([[margin]], [zones]) gives OUT/zone=ID/part-0.parquet per zone, read back as
one table partitioned by zone; for every zone of the spec's margins:

  * the manifest lists it exactly once, and the file has the persons the manifest says;
  * its persons equal its target total (the first margin's sum, rounded);
  * with --check-margins (exact mode): every cell of every margin equals its target.

A household spec ([geography], [households], [[control]]) gives a file pair per top-level zone
(a region or state), OUT/households/zone=ID/part-0.parquet and OUT/persons/zone=ID/…, read
back as two tables; for every top-level zone of the crosswalk:

  * the manifest lists it exactly once, converged, with the households and persons read back;
  * every household id is listed once in its zone, and every person's household_id is a
    household of the same zone;
  * every household has as many persons as its size column says (--household-size, NP by
    default, when the households table has that column);
  * the households of every zone of the households total's level (the TAZ) equal that total
    (its column in that level's controls table: integerization meets it exactly), and lie in
    the top-level zone the crosswalk puts that zone in.

For both, every file's SHA-256 is the manifest's (recomputed on the executors). The driver
prints a JSON summary (zones, persons and households, bytes per person, the generation stage's
wall time, persons per second per core by wall time and per CPU second of the workers, the
checks' time) and exits 1 when a check fails.

    spark-submit --master 'local[2,4]' --files target/release/populace scale/driver.py \\
        --spec case/spec.toml --out /shared/pool --shards 8

The spec, its inputs and OUT must be paths every executor sees (a shared file system); the
binary comes from --files (SparkFiles), or --populace PATH when it is installed on every node.
Arguments after `--` go to `populace generate` (e.g. `-- --no-card --mode random`).
"""

import argparse
import csv
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
import tomllib

from pyspark import SparkFiles, TaskContext
from pyspark.sql import SparkSession, functions as F, types as T


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", required=True, help="the populace spec (TOML), with [zones]")
    parser.add_argument("--out", required=True, help="output folder, on a file system every executor sees")
    parser.add_argument("--shards", type=int, required=True, help="number of shards (Spark tasks)")
    parser.add_argument("--seed", type=int, default=1, help="populace --seed [1]")
    parser.add_argument("--populace", help="path of the binary on every node [default: shipped with --files]")
    parser.add_argument("--check-margins", action="store_true",
                        help="persons specs: also check every margin cell (exact mode)")
    parser.add_argument("--household-size", default="NP", metavar="COLUMN",
                        help="household specs: the households column that persons per household must equal, "
                             "when the households table has it [NP]")
    parser.add_argument("--fail-first-attempt", type=int, metavar="I",
                        help="testing: shard I's first attempt fails after writing its files, so Spark retries it")
    parser.add_argument("--summary", help="also write the JSON summary to this file")
    parser.add_argument("extra", nargs="*", help="further arguments of populace generate (after --)")
    return parser.parse_args(argv)


def binary(path):
    """The populace binary: the given path, or the copy Spark shipped with --files."""
    found = path or SparkFiles.get("populace")
    if not os.access(found, os.X_OK):
        os.chmod(found, 0o755)
    return found


def run_shards(args, cpu):
    """A mapPartitions function: runs the worker for the partition's shard, yields manifest lines
    and adds the worker's CPU seconds to the accumulator `cpu`."""
    def run(shards):
        for shard in shards:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            command = [binary(args.populace), "generate", args.spec, "--shard", f"{shard}/{args.shards}",
                       "--out", args.out, "--seed", str(args.seed),
                       "--quiet", *args.extra]
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:  # an exception fails the task; Spark retries it
                raise RuntimeError(f"shard {shard}/{args.shards}: exit {done.returncode}: {done.stderr.strip()}")
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.add(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            context = TaskContext.get()
            if shard == args.fail_first_attempt and context.attemptNumber() == 0:
                raise RuntimeError(f"shard {shard}/{args.shards}: failing attempt 0 on purpose (--fail-first-attempt)")
            for line in done.stdout.splitlines():
                yield json.loads(line)
    return run


def checksums_bad(files):
    """A filter function over (path, checksum) pairs: True when the file's SHA-256 differs."""
    path, checksum = files
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}" != checksum


def report(failures, bad, describe):
    """Adds up to ten of the offending rows `bad` to `failures`, each described by `describe`."""
    failures.extend(describe(row) for row in bad[:10])
    if len(bad) > 10:
        failures.append(f"… {len(bad) - 10} more")


def read_csv(spark, path):
    """A CSV table with every column a string, as zone ids are (the header read here, so Spark
    starts no job to read it)."""
    with open(path, encoding="utf-8") as f:
        header = next(csv.reader(f))
    schema = T.StructType([T.StructField(name, T.StringType()) for name in header])
    return spark.read.option("header", True).schema(schema).csv(path)


PERSONS_MANIFEST = T.StructType([
    T.StructField("zone", T.StringType()), T.StructField("persons", T.LongType()),
    T.StructField("path", T.StringType()), T.StructField("bytes", T.LongType()),
    T.StructField("checksum", T.StringType())])

HOUSEHOLDS_MANIFEST = T.StructType([
    T.StructField("zone", T.StringType()), T.StructField("households", T.LongType()),
    T.StructField("persons", T.LongType()), T.StructField("converged", T.BooleanType()),
    *(T.StructField(f"{table}_{field}", kind) for table in ("households", "persons")
      for field, kind in (("path", T.StringType()), ("bytes", T.LongType()), ("checksum", T.StringType())))])


def check_persons(spark, args, spec, base, manifest, failures):
    """The checks of a persons spec (one table, zones from [zones]); returns figures for the summary."""
    zone_column = spec["zones"]["column"]
    margins = [(os.path.join(base, m["file"]), m.get("count", "count")) for m in spec["margin"]]

    # targets: every zone's total from the first margin
    def margin(path, count):
        return read_csv(spark, path).withColumn(count, F.col(count).cast("double"))
    first_path, first_count = margins[0]
    targets = (margin(first_path, first_count).groupBy(zone_column)
               .agg(F.round(F.sum(first_count)).cast("long").alias("target")).withColumnRenamed(zone_column, "zone"))

    # OUT read back as one table partitioned by zone (hidden temporary files are skipped),
    # tallied once over every attribute: each check below is a small aggregate of this.
    persons = spark.read.parquet(args.out)
    attributes = [c for c in persons.columns if c not in ("person_id", "zone", "card")]
    cells = persons.groupBy("zone", *attributes).agg(F.count(F.lit(1)).alias("n")).cache()
    counted = cells.groupBy("zone").agg(F.sum("n").alias("rows"))
    listed = manifest.groupBy("zone").agg(F.count(F.lit(1)).alias("lines"), F.sum("persons").alias("persons"))
    joined = targets.join(listed, "zone", "full_outer").join(counted, "zone", "full_outer")
    bad = joined.where(
        F.col("target").isNull() | F.col("lines").isNull() | (F.col("lines") != 1) | F.col("rows").isNull()
        | (F.col("rows") != F.col("persons")) | (F.col("rows") != F.col("target"))).collect()
    report(failures, bad, lambda row: f"zone {row['zone']}: target {row['target']}, manifest lines {row['lines']} "
           f"with {row['persons']} persons, {row['rows']} rows read back")

    if args.check_margins:
        for path, count in margins:
            table = margin(path, count)
            names = [c for c in table.columns if c not in (zone_column, count)]
            target = (table.withColumnRenamed(zone_column, "zone")
                      .withColumn("target", F.round(count).cast("long")).drop(count))
            drawn = cells.groupBy("zone", *names).agg(F.sum("n").alias("drawn"))
            off = (target.join(drawn, ["zone", *names], "full_outer").fillna(0, ["drawn", "target"])
                   .where(F.col("drawn") != F.col("target")).collect())
            if off:
                failures.append(f"{os.path.basename(path)}: {len(off)} cells off their targets, "
                                f"e.g. {off[0].asDict()}")
    return {"zones": targets.count()}


def check_households(spark, args, spec, base, manifest, failures):
    """The checks of a household spec (households and persons, a file pair per top-level zone);
    returns figures for the summary."""
    levels = spec["geography"]["levels"]
    top = levels[0]
    crosswalk = read_csv(spark, os.path.join(base, spec["geography"]["crosswalk"]))
    zones = crosswalk.select(F.col(top).alias("zone")).distinct().withColumn("known", F.lit(True))

    # The households total: its control's column in its level's controls table, per zone of that
    # level, tied to its top-level zone by the crosswalk. Integerization meets it exactly.
    total = next(c for c in spec["control"] if c["name"] == spec["households"]["total_control"])
    level, column = total["geography"], total.get("column", total["name"])
    table = next(t["file"] for t in spec["controls"] if t["geography"] == level)
    targets = (read_csv(spark, os.path.join(base, table))
               .select(F.col(level), F.round(F.col(column).cast("double")).cast("long").alias("target"))
               .join(crosswalk.select(F.col(top).alias("zone"), level).distinct(), level, "left"))

    households = spark.read.parquet(os.path.join(args.out, "households"))
    persons = spark.read.parquet(os.path.join(args.out, "persons"))
    size = args.household_size if args.household_size in households.columns else None
    # One row per (zone, household_id) of either table: how often the id is listed in households
    # (1; 0 for persons without a household), its size and its persons. One aggregation over both
    # tables (one shuffle), of numbers only (a hash aggregate, no sort).
    both = households.select("zone", "household_id", F.lit(1).alias("listed"), F.lit(0).alias("member"),
                             (F.col(size) if size else F.lit(None)).cast("long").alias("size")).unionByName(
        persons.select("zone", "household_id", F.lit(0).alias("listed"), F.lit(1).alias("member"),
                       F.lit(None).cast("long").alias("size")))
    per_household = both.groupBy("zone", "household_id").agg(
        F.sum("listed").alias("listed"), F.sum("member").alias("members"), F.max("size").alias("size"))

    # Per household: listed once, persons only of a listed household of the same zone, as many
    # as its size column says. Per zone: one manifest line whose counts are the rows read back.
    wrong = (F.col("listed") != 1) | (F.col("size").isNotNull() & (F.col("members") != F.col("size")))
    counted = per_household.groupBy("zone").agg(F.sum("listed").alias("household_rows"),
                                                F.sum("members").alias("person_rows"),
                                                F.sum(wrong.cast("long")).alias("wrong"))
    lines = manifest.groupBy("zone").agg(F.count(F.lit(1)).alias("lines"), F.sum("households").alias("households"),
                                         F.sum("persons").alias("persons"),
                                         F.min(F.col("converged").cast("int")).alias("converged"))
    per_zone = zones.join(lines, "zone", "full_outer").join(counted, "zone", "full_outer").collect()
    bad = [row for row in per_zone if not row["known"] or row["lines"] != 1 or row["converged"] != 1
           or row["household_rows"] is None or row["household_rows"] != row["households"]
           or row["person_rows"] != row["persons"]]
    report(failures, bad, lambda row: f"zone {row['zone']} ({'in' if row['known'] else 'not in'} the crosswalk): "
           f"manifest lines {row['lines']} with {row['households']} "
           f"households and {row['persons']} persons (converged {row['converged']}), {row['household_rows']} "
           f"households and {row['person_rows']} persons read back")
    wrong_households = sum(row["wrong"] or 0 for row in per_zone)
    if wrong_households:
        example = per_household.where(wrong).first()
        failures.append(f"{wrong_households} households listed other than once or with persons other than their "
                        f"{size or 'size'}, e.g. zone {example['zone']} household {example['household_id']}: "
                        f"listed {example['listed']} times, {example['members']} persons, size {example['size']}")

    # Per zone of the total's level: its households equal the total, in the right top-level zone.
    made = households.groupBy("zone", level).agg(F.count(F.lit(1)).alias("made"))
    compared = (targets.withColumn("known", F.lit(1)).join(made, ["zone", level], "full_outer")
                .fillna(0, ["made", "target", "known"]))
    off = F.col("made") != F.col("target")
    tally = compared.agg(F.sum("known").alias("zones"), F.sum(off.cast("long")).alias("off")).first()
    if tally["off"]:
        example = compared.where(off).first()
        failures.append(f"{tally['off']} {level} zones whose households are not their {column} total, "
                        f"e.g. {example.asDict()}")
    return {"zones": sum(1 for row in per_zone if row["known"]), f"{level}_zones": tally["zones"],
            "size_checked_by": size}


def main(argv):
    args = parse_args(argv)
    args.spec, args.out = os.path.abspath(args.spec), os.path.abspath(args.out)  # as the driver sees them
    with open(args.spec, "rb") as f:
        spec = tomllib.load(f)
    base = os.path.dirname(args.spec)
    households = "households" in spec  # a household spec: [geography], [households], [[control]]
    if households and args.check_margins:
        raise SystemExit("driver.py: --check-margins is for persons specs ([[margin]]); a household spec's "
                         "households total is always checked")

    spark = (SparkSession.builder.appName("populace-shards")
             # zone ids such as 06001400100 stay strings, not numbers
             .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
             .getOrCreate())
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    cores = sc.defaultParallelism
    failures = []

    started = time.time()
    shards = sc.parallelize(range(1, args.shards + 1), args.shards)  # one shard per partition: one task each
    cpu = sc.accumulator(0.0)
    manifest_rows = shards.mapPartitions(run_shards(args, cpu)).collect()
    generate_seconds = time.time() - started
    manifest = spark.createDataFrame(manifest_rows, HOUSEHOLDS_MANIFEST if households else PERSONS_MANIFEST)

    started_check = time.time()
    checked = (check_households if households else check_persons)(spark, args, spec, base, manifest, failures)
    tables = ("households", "persons") if households else ("",)
    files = [(line[f"{t}_path" if t else "path"], line[f"{t}_checksum" if t else "checksum"])
             for line in manifest_rows for t in tables]
    checksums = sc.parallelize(files, max(cores, 1)).filter(checksums_bad).map(lambda f: f[0]).collect()
    failures.extend(f"checksum differs: {p}" for p in checksums[:10])
    check_seconds = time.time() - started_check

    total_persons = sum(r["persons"] for r in manifest_rows)
    total_bytes = sum(r[f"{t}_bytes" if t else "bytes"] for r in manifest_rows for t in tables)
    summary = {"kind": "households" if households else "persons", **checked,
               "manifest_lines": len(manifest_rows), "shards": args.shards, "cores": cores}
    if households:
        total_households = sum(r["households"] for r in manifest_rows)
        summary["households"] = total_households
    summary.update({
        "persons": total_persons,
        "files": len(files),
        "bytes": total_bytes,
        "bytes_per_person": round(total_bytes / max(total_persons, 1), 2),
        "generate_seconds": round(generate_seconds, 2),
        "persons_per_second_per_core": round(total_persons / generate_seconds / cores),
        "worker_cpu_seconds": round(cpu.value, 2),
        "persons_per_cpu_second": round(total_persons / max(cpu.value, 1e-9)),
    })
    if households:
        summary["households_per_cpu_second"] = round(total_households / max(cpu.value, 1e-9))
    summary.update({
        "check_seconds": round(check_seconds, 2),
        "wall_seconds": round(time.time() - started, 2),
        "checks": "failed" if failures else "passed",
        "failures": failures,
    })
    text = json.dumps(summary, indent=2)
    print(text)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    spark.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
