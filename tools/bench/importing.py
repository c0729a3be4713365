"""Bulk-import figures, measured side by side in one run on the emulated AWS built from the dev template:

- validation: records a second in one worker (one process, the real streamed validation) and its peak
  memory, for files of 10 MB and 100 MB, so a memory that grew with the file would show;
- the import pipeline (the real worker and importer handlers, each in processes of their own as Lambda
  runs them, the importers as many as the import queue's maximum concurrency) against a bare boto3
  `batch_writer` loop writing the same items to the same table;
- fairness: with a table whose capacity binds, the import's write rate against the share it may use;
- a 1,000,000-record JSON Lines file and a CSV file uploaded, validated, imported and counted.

moto does not throttle, so pacing binds only where the table's capacity is set low (the fairness run);
elsewhere the table gets 40,000 write units a second, DynamoDB's default quota per table."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BLOCK = 1 << 20
ROOMY_UNITS = 40_000
SIZES_MB = (10, 100)
PIPELINE_RECORDS = int(os.environ.get("BENCH_IMPORT_RECORDS", "20000"))
PIPELINE_REPETITIONS = int(os.environ.get("BENCH_IMPORT_REPETITIONS", "3"))
MILLION = int(os.environ.get("BENCH_MILLION_RECORDS", "1000000"))
CSV_RECORDS = int(os.environ.get("BENCH_CSV_RECORDS", "100000"))
FAIRNESS_UNITS = 400
FAIRNESS_RECORDS = 4_000
CALLER = {"sub": "bench-importer"}


def jsonl_record(n: int) -> bytes:
    # About 100 bytes: a name, a short description and a quantity, as a catalogue export holds them.
    return b'{"name": "item %d", "description": "a fairly ordinary description", "quantity": %d}\n' % (n, n % 1000)


def write_jsonl(path: Path, *, records: int | None = None, megabytes: int | None = None) -> int:
    """A JSON Lines file of that many records (or about that many megabytes); returns its records."""
    written = 0
    with path.open("wb") as out:
        while (records is not None and written < records) or (megabytes is not None and out.tell() < megabytes << 20):
            out.write(b"".join(jsonl_record(written + n) for n in range(1000)))
            written += 1000
    return written


def write_csv(path: Path, records: int) -> None:
    text = io.StringIO(newline="")
    rows = csv.writer(text)
    rows.writerow(["name", "description", "quantity"])
    for n in range(records):
        # Every 50th description holds a comma and a line break, so records span lines.
        description = f"size {n},\r\nsecond line" if n % 50 == 0 else "a fairly ordinary description"
        rows.writerow([f"part {n}", description, n % 1000])
    path.write_bytes(text.getvalue().encode())


# --- validation in one worker -----------------------------------------------------------------------


def _validate_file(path: str, upload_format: str, trace: bool) -> dict[str, float]:
    """Run in a fresh interpreter: validate the file as the worker does, block by block."""
    from tools.lambda_assets import make_importable

    make_importable()
    from items_runtime.logic.validation import Valid, validate_stream

    def blocks() -> Iterator[bytes]:
        with open(path, "rb") as source:
            while block := source.read(BLOCK):
                yield block

    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    result = validate_stream(
        blocks(),
        "csv" if upload_format == "csv" else "jsonl",
        max_bytes=1 << 40,
        max_records=10**8,
        chunk_records=1000,
    )
    seconds = time.perf_counter() - start
    assert isinstance(result, Valid), result
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    return {
        "records": result.records,
        "seconds": seconds,
        "bytes": Path(path).stat().st_size,
        "heap_peak_kb": peak / 1024,
        "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _measure_validation(path: Path, upload_format: str, *, trace: bool) -> dict[str, float]:
    output = subprocess.run(
        [PYTHON, "-m", "tools.bench.importing", "validate", str(path), upload_format, "trace" if trace else "-"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str
    met: bool
    detail: str = ""
    samples: list[float] = field(default_factory=list)  # one per repetition, when repeated


def validation(repetitions: int) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory() as scratch:
        files = {size: Path(scratch) / f"{size}mb.jsonl" for size in SIZES_MB}
        for size, path in files.items():
            write_jsonl(path, megabytes=size)
        csv_path = Path(scratch) / "records.csv"
        write_csv(csv_path, 1_000_000)
        runs = [_measure_validation(files[100], "jsonl", trace=False) for _ in range(repetitions)]
        rates = [r["records"] / r["seconds"] for r in runs]
        rate = statistics.median(rates)
        megabytes_per_second = statistics.median(r["bytes"] / r["seconds"] / 1e6 for r in runs)
        figures.append(
            Figure(
                "validation JSON Lines, 1 worker",
                rate,
                "rec/s",
                ">= 5 MB/s (config floor)",
                megabytes_per_second >= 5,
                f"{megabytes_per_second:.1f} MB/s, {runs[0]['records']:.0f} records in "
                f"{statistics.median(r['seconds'] for r in runs):.2f} s (100 MB; median of {repetitions})",
                rates,
            )
        )
        csv_run = _measure_validation(csv_path, "csv", trace=False)
        figures.append(
            Figure(
                "validation CSV, 1 worker",
                csv_run["records"] / csv_run["seconds"],
                "rec/s",
                ">= 5 MB/s (config floor)",
                csv_run["bytes"] / csv_run["seconds"] >= 5e6,
                f"{csv_run['bytes'] / csv_run['seconds'] / 1e6:.1f} MB/s, {csv_run['records']:.0f} records "
                f"({csv_run['bytes'] / 1e6:.0f} MB, every 50th spanning two lines) in {csv_run['seconds']:.2f} s",
            )
        )
        peaks = {size: _measure_validation(path, "jsonl", trace=True) for size, path in files.items()}
        small, large = peaks[SIZES_MB[0]], peaks[SIZES_MB[1]]
        ratio = large["heap_peak_kb"] / small["heap_peak_kb"]
        figures.append(
            Figure(
                "validation peak memory 100 MB / 10 MB",
                ratio,
                "x",
                "<= 1.1 (constant)",
                ratio <= 1.1,
                f"Python heap peak {small['heap_peak_kb']:.0f} KiB (10 MB) vs {large['heap_peak_kb']:.0f} KiB "
                f"(100 MB); the process's peak RSS {small['rss_peak_kb'] / 1024:.0f} vs "
                f"{large['rss_peak_kb'] / 1024:.0f} MiB (interpreter and imports included)",
            )
        )
    return figures


# --- the pipeline on the emulated AWS --------------------------------------------------------------------


class BenchContext:
    function_name = "items-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111111111111:function:items-bench"
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/items-bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _consume(queue_url: str, batch_size: int, stop_file: str, handler_module: str) -> None:
    """Run in a process of its own, as one Lambda container: poll a queue and hand each batch to the
    real handler until told to stop."""
    from tools.lambda_assets import make_importable

    make_importable()
    import importlib

    from tools.emulator import poll_queue_once

    write_log = os.environ.get("BENCH_WRITE_LOG")
    if write_log:
        _log_batch_writes(write_log)
    handler = importlib.import_module(handler_module).lambda_handler
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    while not os.path.exists(stop_file):
        if not poll_queue_once(endpoint, queue_url, handler, BenchContext(), batch_size):
            time.sleep(0.02)


def _log_batch_writes(path: str) -> None:
    """Record every BatchWriteItem call the handler's boto3 clients make (when, and how many items the
    table took), outside the handler's own accounting: botocore events on the default session, which
    the handler's clients are made from."""
    import boto3

    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    log = open(path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_items"] = sum(len(requests) for requests in params["RequestItems"].values())

    def after(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        unprocessed = sum(len(requests) for requests in parsed.get("UnprocessedItems", {}).values())
        log.write(f"{time.time():.4f} {context.get('bench_items', 0) - unprocessed}\n")

    session.events.register("before-parameter-build.dynamodb.BatchWriteItem", before)
    session.events.register("after-call.dynamodb.BatchWriteItem", after)


class Emulated:
    """moto with the dev stage's resources, the worker and the importers running as processes."""

    def __init__(self, template: dict[str, Any], scratch: Path) -> None:
        from tools.emulator import client_environment, create_items_resources, start_moto

        self.server, self.endpoint = start_moto()
        self.resources = create_items_resources(self.endpoint, template)
        self.template = template
        self.scratch = scratch
        self.processes: list[subprocess.Popen[bytes]] = []
        self.stop_file = scratch / "stop"
        self.client_environment = client_environment(self.endpoint)
        self.table = self.resources.table_name

    def capacity(self, units: int) -> None:
        from tools.emulator import set_write_capacity

        set_write_capacity(self.endpoint, self.table, self.resources.list_index_name, units)

    def fresh_table(self, units: int) -> None:
        from tools.emulator import client, create_table

        dynamodb = client("dynamodb", self.endpoint)
        dynamodb.delete_table(TableName=self.table)
        create_table(dynamodb, self.table, self.template["Resources"][self.table]["Properties"])
        self.capacity(units)

    def start_functions(self, write_log: Path | None = None) -> None:
        resources = self.resources
        importers = int(resources.importer_environment["IMPORT_MAX_CONCURRENCY"])
        feeds = [(resources.ingest_queue_url, "items_runtime.worker", resources.worker_environment)] + [
            (resources.import_queue_url, "items_runtime.importer", resources.importer_environment)
        ] * importers
        for queue_url, module, environment in feeds:
            env = {**os.environ, **environment, **self.client_environment, "POWERTOOLS_LOG_LEVEL": "INFO"}
            if write_log is not None:
                env["BENCH_WRITE_LOG"] = str(write_log)
            self.processes.append(
                subprocess.Popen(
                    [
                        PYTHON,
                        "-m",
                        "tools.bench.importing",
                        "consume",
                        queue_url,
                        str(resources.batch_sizes[queue_url]),
                        str(self.stop_file),
                        module,
                    ],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop_functions(self) -> None:
        self.stop_file.touch()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []
        self.stop_file.unlink()

    def close(self) -> None:
        self.stop_functions()
        self.server.terminate()
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()

    def item_count(self) -> int:
        from tools.emulator import client

        return int(client("dynamodb", self.endpoint).describe_table(TableName=self.table)["Table"]["ItemCount"])


@contextmanager
def emulated(template: dict[str, Any]) -> Iterator[Emulated]:
    with tempfile.TemporaryDirectory() as scratch:
        world = Emulated(template, Path(scratch))
        try:
            yield world
        finally:
            world.close()


def _api(world: Emulated) -> Callable[..., tuple[int, Any]]:
    """The real API handler in this process, quiet (its logs and metrics are not what is measured)."""
    os.environ.update(
        {
            **world.resources.api_environment,
            **world.client_environment,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    from tools.lambda_assets import make_importable

    make_importable()
    from items_runtime import api, settings
    from items_runtime.wiring import api as dependencies
    from tools.events import FakeLambdaContext, rest_event

    for cached in (settings.api_settings, dependencies._default_ingest_jobs, dependencies._s3_presigner):
        cached.cache_clear()
    dependencies._dynamodb.cache_clear()

    def call(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = api.lambda_handler(rest_event(method, path, claims=CALLER, **kwargs), FakeLambdaContext())
        return response["statusCode"], json.loads(response["body"])

    return call


@dataclass
class ImportRun:
    seconds: float
    job: dict[str, Any]


def run_import(world: Emulated, data: bytes, upload_format: str) -> ImportRun:
    """POST /ingest, PUT the file, and wait until the job has its outcome."""
    api = _api(world)
    status, ticket = api("POST", "/ingest", body={"format": upload_format})
    assert status == 201, ticket
    request = urllib.request.Request(  # noqa: S310 - the emulator's presigned URL on 127.0.0.1
        ticket["upload"]["url"], data=data, method="PUT", headers=ticket["upload"]["headers"]
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - the emulator on 127.0.0.1
        assert response.status == 200
    start = time.perf_counter()
    path = f"/ingest/{ticket['id']}"
    while True:
        _, job = api("GET", path, resource="/ingest/{ingest_id}", path_parameters={"ingest_id": ticket["id"]})
        if job["status"] in ("ACCEPTED", "REJECTED", "FAILED"):
            return ImportRun(time.perf_counter() - start, job)
        time.sleep(0.05)


def bare_batch_writer(world: Emulated, data: bytes) -> float:
    """The same items, written by the plainest loop: parse each line, put it with boto3's batch_writer."""
    import boto3

    from tools.lambda_assets import make_importable

    make_importable()
    from items_runtime.data.jobs import imported_item_id

    table = boto3.resource(
        "dynamodb",
        endpoint_url=world.endpoint,
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    ).Table(world.table)
    job_id, now = "0" * 32, "2026-11-22T10:00:00.000+00:00"
    start = time.perf_counter()
    with table.batch_writer() as writer:
        for line, raw in enumerate(data.split(b"\n"), start=1):
            if not raw:
                continue
            record = json.loads(raw)
            item_id = imported_item_id(job_id, line)
            writer.put_item(
                Item={
                    "pk": f"ITEM#{item_id}",
                    "sk": "ITEM",
                    "gsi1pk": "ITEM",
                    "gsi1sk": f"{now}#{item_id}",
                    "id": item_id,
                    "name": record["name"],
                    "description": record.get("description", ""),
                    "quantity": record.get("quantity", 0),
                    "created_at": now,
                    "updated_at": now,
                    "created_by": CALLER["sub"],
                }
            )
    return time.perf_counter() - start


def pipeline(template: dict[str, Any], repetitions: int = PIPELINE_REPETITIONS) -> list[Figure]:
    figures: list[Figure] = []
    with emulated(template) as world, tempfile.TemporaryDirectory() as scratch:
        world.start_functions()
        data_path = Path(scratch) / "records.jsonl"
        write_jsonl(data_path, records=PIPELINE_RECORDS)
        data = data_path.read_bytes()
        ours, bare = [], []
        for _ in range(repetitions):  # interleaved, so drift hits both sides alike
            world.fresh_table(ROOMY_UNITS)
            bare.append(bare_batch_writer(world, data))
            assert world.item_count() == PIPELINE_RECORDS
            world.fresh_table(ROOMY_UNITS)
            run = run_import(world, data, "jsonl")
            assert run.job["status"] == "ACCEPTED", run.job
            assert world.item_count() == PIPELINE_RECORDS + 1  # the items and the job
            ours.append(run.seconds)
        ratios = [o / b for o, b in zip(ours, bare, strict=True)]  # each pair ran back to back
        ratio = statistics.median(ratios)
        importers = world.resources.importer_environment["IMPORT_MAX_CONCURRENCY"]
        figures.append(
            Figure(
                "import pipeline / bare batch_writer",
                ratio,
                "x",
                "<= 1.5",
                ratio <= 1.5,
                f"{PIPELINE_RECORDS} records: ours {statistics.median(ours):.2f} s (validation, chunks of "
                f"{world.resources.worker_environment['CHUNK_RECORDS']}, {importers} importers), bare "
                f"{statistics.median(bare):.2f} s (median of {repetitions})",
                ratios,
            )
        )
        figures.append(_fairness(world, Path(scratch)))
        figures.extend(_million(world, Path(scratch)))
    return figures


def write_rates(writes: list[tuple[float, int]], window: float = 1.0) -> tuple[float, int]:
    """(items a second from the first write to the last, the most items written in any window) of
    batch writes given as (when, items written)."""
    ordered = sorted(writes)
    first, last = ordered[0][0], ordered[-1][0]
    # The first write opens the measured span; the items it wrote were paced before it.
    overall = sum(items for _, items in ordered[1:]) / (last - first)
    peak = max(sum(items for at, items in ordered if start <= at < start + window) for start, _ in ordered)
    return overall, peak


def _fairness(world: Emulated, scratch: Path) -> Figure:
    """The import's write rate with a table of FAIRNESS_UNITS write units a second (and its index),
    from every batch write the importers made."""
    world.fresh_table(FAIRNESS_UNITS)
    share = float(world.resources.importer_environment["IMPORT_WRITE_SHARE"])
    allowed = share * FAIRNESS_UNITS  # each of these items costs one unit on the table and one on the index
    write_log = scratch / "writes.log"
    # New importers (new Lambda containers) read the table's capacity afresh.
    world.stop_functions()
    world.start_functions(write_log)
    run = run_import(world, b"".join(jsonl_record(n) for n in range(FAIRNESS_RECORDS)), "jsonl")
    world.stop_functions()
    world.start_functions()
    assert run.job["status"] == "ACCEPTED", run.job
    writes = [(float(at), int(items)) for at, items in (line.split() for line in write_log.read_text().splitlines())]
    overall, peak = write_rates(writes)
    first, last = min(at for at, _ in writes), max(at for at, _ in writes)
    importers = int(world.resources.importer_environment["IMPORT_MAX_CONCURRENCY"])
    return Figure(
        "import write rate / its share",
        overall / allowed,
        "x",
        "<= 1.0",
        overall / allowed <= 1.0,
        f"{overall:.0f} items/s over {last - first:.0f} s, peak {peak}/s in any 1 s window (bound: the share plus "
        f"one batch per importer, {allowed + 25 * importers:.0f}), allowed {allowed:.0f}/s ({share:.0%} of "
        f"{FAIRNESS_UNITS} units): the API keeps {FAIRNESS_UNITS - peak}/s at the peak; {len(writes)} batch writes",
    )


def _million(world: Emulated, scratch: Path) -> list[Figure]:
    figures = []
    big = scratch / "million.jsonl"
    write_jsonl(big, records=MILLION)
    table_csv = scratch / "records.csv"
    write_csv(table_csv, CSV_RECORDS)
    for name, path, upload_format, records in (
        ("JSON Lines", big, "jsonl", MILLION),
        ("CSV", table_csv, "csv", CSV_RECORDS),
    ):
        world.fresh_table(ROOMY_UNITS)
        run = run_import(world, path.read_bytes(), upload_format)
        job = run.job
        counted = world.item_count() - 1  # the job
        ok = job["status"] == "ACCEPTED" and job["imported"] == records == counted
        figures.append(
            Figure(
                f"import {records} records {name}",
                records / run.seconds,
                "rec/s",
                "ACCEPTED, all counted",
                ok,
                f"{path.stat().st_size / 1e6:.0f} MB in {run.seconds:.0f} s, {job['status']}, "
                f"{job.get('chunks_done')}/{job.get('chunks_total')} chunks, {counted} items in the table"
                + ("" if ok else f"; {job.get('reason')}"),
            )
        )
    return figures


def main(argv: list[str]) -> int:
    if argv[1] == "validate":
        print(json.dumps(_validate_file(argv[2], argv[3], argv[4] == "trace")))
    elif argv[1] == "consume":
        _consume(argv[2], int(argv[3]), argv[4], argv[5])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
