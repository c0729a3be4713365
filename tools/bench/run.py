"""Prints one line per performance figure (median of the repetitions, with min and max) and writes
bench/results.json. Ratios compare runs made in this same session, so a noisy machine affects both sides."""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results.json"
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "5"))
PYTHON = sys.executable
ITEM_ID = "0123456789abcdef0123456789abcdef"
EMPTY_APP = "import aws_cdk as cdk, sys; app = cdk.App(outdir=sys.argv[1]); cdk.Stack(app, 'Empty'); app.synth()"
CFN_TEMPLATE_LIMIT_BYTES = 1_000_000  # template body from S3
CFN_RESOURCE_LIMIT = 500


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str
    met: bool
    detail: str = ""

    def line(self) -> str:
        mark = "met" if self.met else "NOT met"
        return f"{self.name:<38} {self.value:>10.2f} {self.unit:<8} target {self.target:<28} {mark}  {self.detail}"


def offline_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        PATH=os.pathsep.join([str(Path(PYTHON).parent), str(REPO_ROOT / "node_modules" / ".bin"), env.get("PATH", "")]),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        **extra,
    )
    return env


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def spread(samples: list[float]) -> str:
    return f"median of {len(samples)}, min {min(samples):.2f}, max {max(samples):.2f}"


# --- 1. synth ------------------------------------------------------------------------------------


def synth_ratio(outdir: Path) -> Figure:
    full, empty = [], []
    for _ in range(REPETITIONS):  # interleaved, so drift hits both sides alike
        with tempfile.TemporaryDirectory() as empty_out:
            empty.append(timed([PYTHON, "-c", EMPTY_APP, empty_out], offline_env()))
        full.append(timed([PYTHON, "app.py"], offline_env(CDK_OUTDIR=str(outdir))))
    ratios = [f / e for f, e in zip(full, empty, strict=True)]
    ratio = statistics.median(full) / statistics.median(empty)
    return Figure(
        "synth: full app / empty app",
        ratio,
        "x",
        "<= 2.0",
        ratio <= 2.0,
        f"full {statistics.median(full):.2f}s, empty {statistics.median(empty):.2f}s; "
        f"per-pair ratio min {min(ratios):.2f} max {max(ratios):.2f} ({len(ratios)} pairs)",
    )


# --- 2. cold start ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"the emulated endpoint did not open port {port}")


def _seed(endpoint: str) -> None:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    client.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(
        TableName="items",
        Item={
            "pk": {"S": f"ITEM#{ITEM_ID}"},
            "sk": {"S": "ITEM"},
            "id": {"S": ITEM_ID},
            "name": {"S": "bench"},
            "description": {"S": ""},
            "quantity": {"N": "1"},
            "created_at": {"S": "2026-11-22T00:00:00.000+00:00"},
            "updated_at": {"S": "2026-11-22T00:00:00.000+00:00"},
            "created_by": {"S": "bench-user"},
        },
    )


def cold_starts() -> list[Figure]:
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, time.monotonic() + 30)
        endpoint = f"http://127.0.0.1:{port}"
        _seed(endpoint)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "TABLE_NAME": "items",
            "LIST_INDEX_NAME": "gsi1",
            "IDEMPOTENCY_TABLE_NAME": "idempotency",
            "PAGINATION_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:bench",
            "POWERTOOLS_SERVICE_NAME": "items",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            # The variables Lambda sets (the X-Ray SDK looks for LAMBDA_TASK_ROOT to act as it does in
            # Lambda); tracing is on and segments go to a local daemon address that nothing reads.
            "LAMBDA_TASK_ROOT": str(REPO_ROOT),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_REGION": "eu-west-1",
            "AWS_LAMBDA_FUNCTION_NAME": "items-bench",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "_X_AMZN_TRACE_ID": "Root=1-5e1b4151-5ac6c58f5e5b7e0a7f1b2c3d;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "PYTHONPATH": str(REPO_ROOT),
        }
        samples: dict[str, list[float]] = {"ours": [], "limit": [], "peer": []}
        for _ in range(REPETITIONS):
            for variant in samples:
                output = (
                    subprocess.run(
                        [PYTHON, "tools/bench/cold_start/measure.py", variant, ITEM_ID],
                        cwd=REPO_ROOT,
                        env=env,
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    .stdout.strip()
                    .splitlines()[-1]
                )
                samples[variant].append(json.loads(output)["ms"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    medians = {k: statistics.median(v) for k, v in samples.items()}
    detail = ", ".join(f"{k} {medians[k]:.0f} ms ({spread(v)})" for k, v in samples.items())
    ours_vs_limit = medians["ours"] / medians["limit"]
    peer_vs_limit = medians["peer"] / medians["limit"]
    return [
        Figure("cold start items: ours / limit", ours_vs_limit, "x", "<= 1.5", ours_vs_limit <= 1.5, detail),
        Figure(
            "cold start items: peer / limit",
            peer_vs_limit,
            "x",
            "reference (~2.7)",
            True,
            "the usual Powertools handler, for comparison",
        ),
    ]


# --- 3. test suite ------------------------------------------------------------------------------


def test_suite() -> Figure:
    runs = int(os.environ.get("BENCH_SUITE_RUNS", "1"))
    samples = [timed([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"], offline_env()) for _ in range(runs)]
    value = statistics.median(samples)
    return Figure("test suite wall time", value, "s", "<= 60", value <= 60, spread(samples))


# --- 4. critical path ---------------------------------------------------------------------------

REFERENCE_PIPELINE = """
import json, sys
sys.path.insert(0, '.')
import aws_cdk as cdk
from aws_cdk import pipelines
from config.loading import cdk_json_context
from stages.application_stage import ApplicationStage
from config.loading import load_config

config = load_config(cdk_json_context())
app = cdk.App(context=cdk_json_context(), outdir=sys.argv[1])
stack = cdk.Stack(app, 'Reference', env=cdk.Environment(account=config.pipeline.account, region=config.pipeline.region))
source = pipelines.CodePipelineSource.connection(config.pipeline.repository, config.pipeline.branch,
                                                 connection_arn=config.pipeline.connection_arn)
pipeline = pipelines.CodePipeline(stack, 'Pipeline', cross_account_keys=True,
                                  synth=pipelines.ShellStep('Synth', input=source, commands=['make synth']))
for env in config.ordered_environments:
    wave = pipeline.add_wave(env.name)
    for region in env.regions:
        wave.add_stage(ApplicationStage(stack, f'{env.name}-{region}', env_config=env, region=region))
app.synth()
"""


def path_of(template: dict[str, Any]) -> tuple[int, int, int]:
    """(sequential actions, CodeBuild actions on that path, asset actions) from source to the last stage,
    manual approvals excluded; actions of one run order in one stage run in parallel."""
    (pipeline,) = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    sequential = codebuild = assets = 0
    for stage in pipeline["Stages"]:
        groups: dict[int, list[str]] = {}
        for action in stage["Actions"]:
            provider = action["ActionTypeId"]["Provider"]
            if provider == "Manual":
                continue
            groups.setdefault(action.get("RunOrder", 1), []).append(provider)
        sequential += len(groups)
        codebuild += sum(1 for providers in groups.values() if "CodeBuild" in providers)
        if stage["Name"] == "Assets":
            assets = len(stage["Actions"])
    return sequential, codebuild, assets


def critical_path(outdir: Path) -> list[Figure]:
    ours = path_of(json.loads((outdir / "Pipeline.template.json").read_text()))
    with tempfile.TemporaryDirectory() as reference_out:
        subprocess.run(
            [PYTHON, "-c", REFERENCE_PIPELINE, reference_out],
            cwd=REPO_ROOT,
            env=offline_env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        reference = path_of(json.loads((Path(reference_out) / "Reference.template.json").read_text()))
    return [
        Figure(
            "pipeline: sequential actions",
            ours[0],
            "actions",
            f"<= {reference[0]} (default)",
            ours[0] <= reference[0],
            f"ours {ours[0]} (with smoke tests), default CodePipeline {reference[0]} (without)",
        ),
        Figure(
            "pipeline: CodeBuild actions on path",
            ours[1],
            "actions",
            f"reference {reference[1]}",
            True,
            f"default CodePipeline {reference[1]}",
        ),
        Figure(
            "pipeline: asset actions", ours[2], "actions", "1", ours[2] == 1, f"default CodePipeline {reference[2]}"
        ),
    ]


# --- 5. sizes -----------------------------------------------------------------------------------


def sizes(outdir: Path) -> list[Figure]:
    figures = []
    for asset in sorted(p for p in outdir.glob("asset.*") if p.is_dir()):
        files = [p for p in asset.rglob("*") if p.is_file()]
        package = sorted({str(p.relative_to(asset)).split("/")[0] for p in files})
        size_kb = sum(p.stat().st_size for p in files) / 1024
        runtime_only = all(p.suffix == ".py" for p in files)
        figures.append(
            Figure(
                f"lambda asset {','.join(package)}",
                size_kb,
                "KiB",
                "runtime code only",
                runtime_only and size_kb < 1024,
                f"{len(files)} files",
            )
        )
    templates = sorted(
        [*outdir.glob("*.template.json"), *outdir.glob("assembly-*/*.template.json")], key=lambda p: p.stat().st_size
    )
    biggest = templates[-1]
    resources = len(json.loads(biggest.read_text())["Resources"])
    size = biggest.stat().st_size
    figures.append(
        Figure(
            "biggest template",
            size / 1000,
            "kB",
            f"<= {CFN_TEMPLATE_LIMIT_BYTES // 1000} kB",
            size <= CFN_TEMPLATE_LIMIT_BYTES,
            f"{biggest.relative_to(outdir)}: {resources} of {CFN_RESOURCE_LIMIT} resources",
        )
    )
    return figures


# --- 6. bulk import -------------------------------------------------------------------------------


def _figures(measured: list[Any]) -> list[Figure]:
    return [Figure(m.name, m.value, m.unit, m.target, m.met, m.detail) for m in measured]


def import_validation() -> list[Figure]:
    from tools.bench import importing

    return _figures(importing.validation(REPETITIONS))


def import_pipeline(outdir: Path) -> list[Figure]:
    from tools.bench import importing

    (template,) = sorted((outdir / "assembly-Pipeline-dev").glob("*.template.json"))
    return _figures(importing.pipeline(json.loads(template.read_text())))


def main(argv: list[str]) -> int:
    """`python -m tools.bench.run` measures every figure; `... cold_starts` (or `validation`, `import`, ...)
    only the named groups."""
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as synth_out:
        outdir = Path(synth_out)
        groups: dict[str, Callable[[], Figure | list[Figure]]] = {
            "synth": lambda: synth_ratio(outdir),
            "cold_starts": cold_starts,
            "critical_path": lambda: critical_path(outdir),
            "sizes": lambda: sizes(outdir),
            "test_suite": test_suite,
            "validation": import_validation,
            "import": lambda: import_pipeline(outdir),
        }
        selected = set(argv[1:]) or set(groups)
        if selected & {"critical_path", "sizes", "import"}:
            selected.add("synth")  # they read the synthesized cloud assembly
        for name, step in groups.items():
            if name not in selected:
                continue
            result = step()
            for figure in result if isinstance(result, list) else [result]:
                print(figure.line(), flush=True)
                figures.append(figure)
    if argv[1:]:
        print(
            f"partial run ({', '.join(sorted(selected))}) in {time.perf_counter() - started:.0f} s; results.json kept"
        )
        return 0
    RESULTS.write_text(
        json.dumps(
            [
                {"name": f.name, "value": round(f.value, 3), "unit": f.unit, "target": f.target, "met": f.met}
                for f in figures
            ],
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"bench finished in {time.perf_counter() - started:.0f} s; figures in {RESULTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
