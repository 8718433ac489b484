"""Run populace over every zone of a spec on Apache Spark, then check the output with Spark SQL.

One Spark task per shard: task I runs the shipped binary as

    populace generate SPEC --shard I/N --out OUT [ARGS…]

which writes OUT/zone=ID/part-0.parquet for each of its zones (atomically) and prints one JSON
manifest line per zone. A failed task is retried by Spark (spark.task.maxFailures); the retry
rewrites the same bytes over the same files. Then the driver reads OUT back as one table
partitioned by zone and checks, for every zone of the spec's margins:

  * the manifest lists it exactly once, and the file has the persons the manifest says;
  * its persons equal its target total (the first margin's sum, rounded);
  * with --check-margins (exact mode): every cell of every margin equals its target;
  * every file's SHA-256 is the manifest's (recomputed on the executors).

It prints a JSON summary (persons, zones, bytes per person, the generation stage's wall time,
persons per second per core by wall time, and per CPU second of the workers) and exits 1 when a
check fails.

    spark-submit --master 'local[2,4]' --files target/release/populace scale/driver.py \\
        --spec case/spec.toml --out /shared/pool --shards 8

The spec, its inputs and OUT must be paths every executor sees (a shared file system); the
binary comes from --files (SparkFiles), or --populace PATH when it is installed on every node.
Arguments after `--` go to `populace generate` (e.g. `-- --no-card --mode random`).
"""

import argparse
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
    parser.add_argument("--check-margins", action="store_true", help="also check every margin cell (exact mode)")
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


def checksum_ok(line):
    digest = hashlib.sha256()
    with open(line["path"], "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}" == line["checksum"]


def main(argv):
    args = parse_args(argv)
    args.spec, args.out = os.path.abspath(args.spec), os.path.abspath(args.out)  # as the driver sees them
    with open(args.spec, "rb") as f:
        spec = tomllib.load(f)
    zone_column = spec["zones"]["column"]
    base = os.path.dirname(os.path.abspath(args.spec))
    margins = [(os.path.join(base, m["file"]), m.get("count", "count")) for m in spec["margin"]]

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
    manifest_schema = T.StructType([T.StructField("zone", T.StringType()), T.StructField("persons", T.LongType()),
                                    T.StructField("path", T.StringType()), T.StructField("bytes", T.LongType()),
                                    T.StructField("checksum", T.StringType())])
    cpu = sc.accumulator(0.0)
    manifest_rows = shards.mapPartitions(run_shards(args, cpu)).collect()
    generate_seconds = time.time() - started
    manifest = spark.createDataFrame(manifest_rows, manifest_schema)

    # targets: every zone's total from the first margin
    def margin(path, count):
        table = spark.read.option("header", True).option("inferSchema", False).csv(path)
        return table.withColumn(count, F.col(count).cast("double"))
    first_path, first_count = margins[0]
    targets = (margin(first_path, first_count).groupBy(zone_column)
               .agg(F.round(F.sum(first_count)).cast("long").alias("target")).withColumnRenamed(zone_column, "zone"))

    started_check = time.time()
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
    for row in bad[:10]:
        failures.append(f"zone {row['zone']}: target {row['target']}, manifest lines {row['lines']} "
                        f"with {row['persons']} persons, {row['rows']} rows read back")
    if len(bad) > 10:
        failures.append(f"… {len(bad) - 10} more zones")

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

    checksums = sc.parallelize(manifest_rows, max(cores, 1)).filter(lambda l: not checksum_ok(l)).map(
        lambda l: l["path"]).collect()
    failures.extend(f"checksum differs: {p}" for p in checksums[:10])
    check_seconds = time.time() - started_check

    total_persons = sum(r["persons"] for r in manifest_rows)
    total_bytes = sum(r["bytes"] for r in manifest_rows)
    summary = {
        "zones": targets.count(),
        "manifest_lines": len(manifest_rows),
        "shards": args.shards,
        "cores": cores,
        "persons": total_persons,
        "bytes": total_bytes,
        "bytes_per_person": round(total_bytes / max(total_persons, 1), 2),
        "generate_seconds": round(generate_seconds, 2),
        "persons_per_second_per_core": round(total_persons / generate_seconds / cores),
        "worker_cpu_seconds": round(cpu.value, 2),
        "persons_per_cpu_second": round(total_persons / max(cpu.value, 1e-9)),
        "check_seconds": round(check_seconds, 2),
        "checks": "failed" if failures else "passed",
        "failures": failures,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    spark.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
