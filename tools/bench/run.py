"""Prints one line per performance figure and writes tools/bench/results.json.

Every measured figure is the median of its repetitions, reported with their minimum, maximum and spread;
a ratio is taken per repetition between runs made side by side (interleaved), so drift on a noisy machine
hits both sides alike. A figure with a target says whether it is met; a reference figure (something to
compare with, or a model) has none, and its `met` is null. results.json also keeps the commit and the
machine (CPU count, load) the figures were measured on."""

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.bench import lead_time

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results.json"
LEAD_TIME_SVG = Path(__file__).resolve().parent / "lead_time.svg"
# Figures measured in this run that the lead-time model uses (seconds).
MEASURED: dict[str, float] = {}
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "5"))
PYTHON = sys.executable
EMPTY_APP = "import aws_cdk as cdk, sys; app = cdk.App(outdir=sys.argv[1]); cdk.Stack(app, 'Empty'); app.synth()"
CFN_TEMPLATE_LIMIT_BYTES = 1_000_000  # template body from S3
CFN_RESOURCE_LIMIT = 500


@dataclass
class Figure:
    """One figure: its samples (one per repetition; a count or a size has one), and either a bound it
    must stay at or below (`limit`) or none (a reference, `met` null)."""

    name: str
    samples: list[float]
    unit: str
    target: str
    limit: float | None
    detail: str = ""
    strict: bool = False  # the value must stay below the limit, not reach it
    holds: bool = True  # a condition of the target besides the bound (e.g. an asset holds code only)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> float:
        return statistics.median(self.samples)

    @property
    def met(self) -> bool | None:
        if self.limit is None:
            return None
        within = self.value < self.limit if self.strict else self.value <= self.limit
        return within and self.holds

    @property
    def spread(self) -> str:
        if len(self.samples) == 1:
            return "1 sample"
        low, high = min(self.samples), max(self.samples)
        return f"median of {len(self.samples)}, min {low:.2f}, max {high:.2f} (spread {self.spread_percent:.0f} %)"

    @property
    def spread_percent(self) -> float:
        return (max(self.samples) - min(self.samples)) / self.value * 100 if self.value else 0.0

    def line(self) -> str:
        mark = {None: "reference", True: "met", False: "NOT met"}[self.met]
        return (
            f"{self.name:<46} {self.value:>9.2f} {self.unit:<7} target {self.target:<22} {mark:<9} "
            f"{self.spread}{'; ' + self.detail if self.detail else ''}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "target": self.target,
            "met": self.met,
            "median": round(self.value, 3),
            "min": round(min(self.samples), 3),
            "max": round(max(self.samples), 3),
            "spread_percent": round(self.spread_percent, 1),
            "repetitions": len(self.samples),
            **({"detail": self.detail} if self.detail else {}),
            **self.extra,
        }


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


# --- 1. synth ------------------------------------------------------------------------------------


def synth_ratio(outdir: Path) -> Figure:
    full, empty = [], []
    for _ in range(REPETITIONS):  # interleaved, so drift hits both sides alike
        with tempfile.TemporaryDirectory() as empty_out:
            empty.append(timed([PYTHON, "-c", EMPTY_APP, empty_out], offline_env()))
        full.append(timed([PYTHON, "app.py"], offline_env(CDK_OUTDIR=str(outdir))))
    MEASURED["synth"] = statistics.median(full)
    return Figure(
        "synth: full app / empty app",
        [f / e for f, e in zip(full, empty, strict=True)],
        "x",
        "<= 2.0",
        2.0,
        f"full {statistics.median(full):.2f} s ({min(full):.2f}-{max(full):.2f}), "
        f"empty {statistics.median(empty):.2f} s ({min(empty):.2f}-{max(empty):.2f})",
    )


# --- 2. cold start ------------------------------------------------------------------------------

COLD_START_LIMIT = 1.5  # x the bare boto3 handler making the same calls


def _cold_start(scenario_file: Path, variant: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [PYTHON, str(REPO_ROOT / "tools" / "bench" / "cold_start" / "measure.py"), str(scenario_file), variant],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{scenario_file.name} {variant} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return float(json.loads(result.stdout.strip().splitlines()[-1])["ms"])


def _cold_start_figures(scenario: Any, samples: dict[str, list[float]]) -> list[Figure]:
    medians = {variant: statistics.median(values) for variant, values in samples.items()}
    ms = {f"{variant}_ms": round(medians[variant], 1) for variant in samples}
    detail = ", ".join(f"{variant} {medians[variant]:.0f} ms" for variant in samples)
    pairs = list(zip(samples["ours"], samples["limit"], samples["peer"], strict=True))
    return [
        Figure(
            f"cold start {scenario.name}: ours / limit",
            [ours / limit for ours, limit, _ in pairs],
            "x",
            f"<= {COLD_START_LIMIT}",
            COLD_START_LIMIT,
            detail,
            extra=ms,
        ),
        Figure(
            f"cold start {scenario.name}: ours / peer",
            [ours / peer for ours, _, peer in pairs],
            "x",
            "< 1.0",
            1.0,
            "below the usual Powertools handler",
            strict=True,
        ),
        Figure(
            f"cold start {scenario.name}: peer / limit",
            [peer / limit for _, limit, peer in pairs],
            "x",
            "reference",
            None,
            "the usual Powertools handler against the limit",
        ),
    ]


def cold_starts(outdir: Path) -> list[Figure]:
    """Each handler's cold start (import + one representative event, in a fresh interpreter) against the
    bare boto3 handler making the same calls and the usual Powertools handler; interleaved per repetition."""
    from tools.bench.cold_start import profile as cold_start_profile
    from tools.bench.cold_start import scenarios
    from tools.bench.cold_start.endpoints import hook_endpoints
    from tools.emulator import create_items_resources, start_moto

    (template_file,) = (outdir / "assembly-Pipeline-dev").glob("*Items*.template.json")
    server, endpoint = start_moto()
    figures: list[Figure] = []
    try:
        resources = create_items_resources(endpoint, json.loads(template_file.read_text(encoding="utf-8")))
        with (
            hook_endpoints(scenarios.GROUP, {"statusCode": 200}) as hooks,
            tempfile.TemporaryDirectory() as directory,
        ):
            hooks_url = f"http://127.0.0.1:{hooks.server_port}"
            for scenario in (
                scenarios.items_api(resources),
                *scenarios.ingest_scenarios(resources, REPETITIONS * len(scenarios.VARIANTS), Path(directory)),
                scenarios.pre_traffic_hook(hooks_url, endpoint),
                scenarios.post_traffic_hook(hooks_url, endpoint),
            ):
                samples: dict[str, list[float]] = {variant: [] for variant in scenarios.VARIANTS}
                for repetition in range(REPETITIONS):
                    for index, variant in enumerate(scenarios.VARIANTS):
                        scenario_file = scenario.write(Path(directory), repetition * len(scenarios.VARIANTS) + index)
                        samples[variant].append(_cold_start(scenario_file, variant, scenario.environment))
                found = _cold_start_figures(scenario, samples)
                figures.extend(found)
                if found[0].met is False:  # say where the time goes
                    profile_file = scenario.write(Path(directory), 1000)
                    print(f"cold start {scenario.name}, ours over its target:", flush=True)
                    print(*cold_start_profile.difference(profile_file, scenario.environment), sep="\n", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return figures


# --- 3. test suite ------------------------------------------------------------------------------


def test_suite() -> Figure:
    runs = int(os.environ.get("BENCH_SUITE_RUNS", "3"))
    samples = [timed([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"], offline_env()) for _ in range(runs)]
    MEASURED["test_suite"] = statistics.median(samples)
    return Figure("test suite wall time", samples, "s", "<= 60", 60.0, "the whole suite, as make test runs it")


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
        role = config.smoke_test_role_arn(env.name, region)
        wave.add_stage(ApplicationStage(stack, f'{env.name}-{region}', env_config=env, region=region,
                                        smoke_test_role_arn=role))
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


def _lead_times(outdir: Path, reference_out: Path) -> tuple[lead_time.PipelineModel, lead_time.PipelineModel]:
    """Push to prod, modelled on both synthesized pipelines with the same build, shifts and assumptions."""
    from config.loading import committed_config
    from services.platform.delivery import BAKE_SECONDS

    config = committed_config()
    shifts: dict[str, lead_time.Shift] = {
        str(env.name): lead_time.Shift(
            env.deployment.traffic_shift.kind,
            env.deployment.traffic_shift.percentage,
            env.deployment.traffic_shift.minutes,
        )
        for env in config.ordered_environments
    }
    if "audit" not in MEASURED:
        MEASURED["audit"] = timed([PYTHON, "-m", "compliance.report", str(outdir)], offline_env())
    build = (
        lead_time.BUILD_INSTALL.seconds
        + lead_time.BUILD_LINT.seconds
        + MEASURED.get("test_suite", lead_time.BUILD_TESTS.seconds)
        + MEASURED.get("synth", 15.0)
        + MEASURED["audit"]
    )
    models = []
    for name, directory, template_file in (
        ("ours", outdir, "Pipeline.template.json"),
        ("default CDK Pipelines", reference_out, "Reference.template.json"),
    ):
        template = lead_time.load(directory / template_file)
        models.append(
            lead_time.model(
                name,
                template,
                shifts=shifts,
                post_traffic_wait=BAKE_SECONDS,
                build_seconds=build,
                publishes=lead_time.asset_publishes(directory, template),
            )
        )
    return models[0], models[1]


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
        modelled, default = _lead_times(outdir, Path(reference_out))
    LEAD_TIME_SVG.write_text(
        lead_time.render_svg([modelled, default], "Push to prod: the critical path, approval and window excluded"),
        encoding="utf-8",
    )
    print(
        "lead-time model (build measured here: synth "
        f"{MEASURED.get('synth', 0):.1f} s, audit {MEASURED['audit']:.1f} s; the rest assumed):",
        *(a.line() for a in lead_time.ASSUMPTIONS),
        f"  {lead_time.summary(modelled)}",
        f"  {lead_time.summary(default)}",
        f"  drawn in {LEAD_TIME_SVG.relative_to(REPO_ROOT)}",
        sep="\n",
    )
    return [
        Figure("lead time push->prod: ours", [modelled.seconds / 60], "min", "model", None, _milestones(modelled)),
        Figure(
            "lead time push->prod: default",
            [default.seconds / 60],
            "min",
            "model",
            None,
            _milestones(default) + " (default CDK Pipelines layout of the same app)",
        ),
        Figure(
            "pipeline: sequential actions",
            [ours[0]],
            "actions",
            f"<= {reference[0]} (default)",
            reference[0],
            f"ours {ours[0]} (with smoke tests), default CodePipeline {reference[0]} (without)",
        ),
        Figure(
            "pipeline: CodeBuild actions on path",
            [ours[1]],
            "actions",
            "reference",
            None,
            f"default CodePipeline {reference[1]}",
        ),
        Figure("pipeline: asset actions", [ours[2]], "actions", "<= 1", 1, f"default CodePipeline {reference[2]}"),
    ]


def _milestones(pipeline: lead_time.PipelineModel) -> str:
    done = pipeline.milestones()
    environments = ("dev", "staging", "prod")
    last = {
        env: max((t for stage, t in done.items() if stage.split("-", 1)[0] == env), default=0.0) for env in environments
    }
    return ", ".join(f"{env} done at {last[env] / 60:.1f} min" for env in environments)


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
                [size_kb],
                "KiB",
                "<= 1024, .py only",
                1024,
                f"{len(files)} files" + ("" if runtime_only else ", not only Python sources"),
                holds=runtime_only,
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
            [size / 1000],
            "kB",
            f"<= {CFN_TEMPLATE_LIMIT_BYTES // 1000}",
            CFN_TEMPLATE_LIMIT_BYTES / 1000,
            f"{biggest.relative_to(outdir)}: {resources} of {CFN_RESOURCE_LIMIT} resources",
        )
    )
    return figures


def _commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return result.stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None, "uncommitted_changes": bool(git("status", "--porcelain"))}


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


# --- 6. bulk import -------------------------------------------------------------------------------


def _figures(measured: list[Any]) -> list[Figure]:
    """The import's figures: each is met when its own condition holds (a floor, a bound, an outcome)."""
    return [
        Figure(m.name, list(m.samples or [m.value]), m.unit, m.target, math.inf, m.detail, holds=m.met)
        for m in measured
    ]


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
    machine_before = _machine()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as synth_out:
        outdir = Path(synth_out)

        def synthesized() -> Path:
            """What reads the cloud assembly needs one synth; the synth group leaves one."""
            if not (outdir / "manifest.json").exists():
                subprocess.run(
                    [PYTHON, "app.py"],
                    cwd=REPO_ROOT,
                    env=offline_env(CDK_OUTDIR=str(outdir)),
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            return outdir

        groups: dict[str, Callable[[], Figure | list[Figure]]] = {
            "synth": lambda: synth_ratio(outdir),
            "cold_starts": lambda: cold_starts(synthesized()),
            "critical_path": lambda: critical_path(synthesized()),
            "sizes": lambda: sizes(synthesized()),
            "test_suite": test_suite,
            "validation": import_validation,
            "import": lambda: import_pipeline(synthesized()),
        }
        selected = set(argv[1:]) or set(groups)
        unknown = selected - set(groups)
        if unknown:
            print(f"unknown groups {sorted(unknown)}; groups are {', '.join(groups)}", file=sys.stderr)
            return 2
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
    document = {
        **_commit(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine_before, "load_average_1min_after": _machine()["load_average_1min"]},
        "repetitions": REPETITIONS,
        "seconds": round(time.perf_counter() - started),
        "figures": [f.as_json() for f in figures],
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"bench finished in {time.perf_counter() - started:.0f} s; figures in {RESULTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
