"""A deterministic model of push-to-prod lead time, computed from a synthesized pipeline: the stages run one
after the other, the run orders of a stage one after the other, the actions of one run order side by side;
each action takes the duration its kind is assumed (or measured here) to take, each CloudFormation deploy
also the CodeDeploy traffic shift of its environment's strategy, each stage's bake its OnSuccess alarm
rule's WaitTime. The manual approval and the wait for a deployment window are excluded (a push inside
the window, an approver at hand).

Every assumption is a named Assumption with its source, printed beside the figure. ``render_svg`` draws the
critical path of two pipelines as timelines, one bar per step."""

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Assumption:
    name: str
    seconds: float
    source: str

    def line(self) -> str:
        return f"  {self.name:<28} {self.seconds:>6.0f} s  {self.source}"


CODEDEPLOY_DOCS = "CodeDeploy User Guide, 'Deployment configurations on an AWS Lambda compute platform'"
STATED = "stated: CodePipeline and CodeBuild document no figure; a typical value, change it here"
SOURCE = Assumption("source (connection clone)", 30, STATED)
CODEBUILD_START = Assumption(
    "CodeBuild start", 60, "stated: QUEUED + PROVISIONING + DOWNLOAD_SOURCE of an on-demand Linux build"
)
BUILD_INSTALL = Assumption("build: make install", 60, "stated: pip and npm from the build's local cache")
BUILD_LINT = Assumption("build: make lint", 40, "stated: ruff, mypy, lint-imports on a MEDIUM build host")
BUILD_TESTS = Assumption("build: make test", 60, "DESIGN §7: the suite's target wall time (measured by test_suite)")
SELF_MUTATE = Assumption("self-mutation: cdk deploy", 90, "stated: install the CLI, deploy an unchanged pipeline")
ASSETS_INSTALL = Assumption("assets: install cdk-assets", 15, STATED)
ASSET_PUBLISH = Assumption("assets: one destination", 5, "stated: upload one Lambda zip of < 100 KiB")
CHANGE_SET = Assumption("CloudFormation change set", 30, "stated: CreateChangeSet of a 180-resource stack")
STACK_UPDATE = Assumption(
    "CloudFormation stack update", 120, "stated: code, versions and aliases of one stack, the shift not counted"
)
PRE_TRAFFIC_HOOK = Assumption("CodeDeploy pre-traffic hook", 10, "stated: one probe invocation of the new version")
SMOKE_TESTS = Assumption("smoke tests: make e2e", 30, "stated: install pytest, 8 HTTP tests, record the baseline")
PROTECT = Assumption("termination protection", 15, "stated: two CloudFormation calls per stack")
OTHER_BUILD = Assumption("any other CodeBuild step", 30, STATED)


@dataclass(frozen=True)
class Shift:
    """A CodeDeploy traffic shift, as config/schema.py parses a strategy."""

    kind: str  # all_at_once, canary, linear
    percentage: int = 100
    minutes: int = 0

    def seconds(self, post_traffic_wait: float) -> float:
        """Pre-traffic hook, the shift itself, then the post-traffic hook's wait for the alarms."""
        if self.kind == "canary":
            shifting = self.minutes * 60
        elif self.kind == "linear":
            shifting = (math.ceil(100 / self.percentage) - 1) * self.minutes * 60
        else:
            shifting = 0
        return PRE_TRAFFIC_HOOK.seconds + shifting + post_traffic_wait


@dataclass(frozen=True)
class Step:
    """One sequential step of the critical path: the longest action of a run order, or a stage's bake."""

    stage: str
    label: str
    kind: str  # source, build, deploy, test, bake
    seconds: float
    shift_seconds: float = 0.0  # the part of a deploy spent shifting traffic


@dataclass(frozen=True)
class PipelineModel:
    name: str
    steps: tuple[Step, ...]
    # Stages whose entry waits for a deployment window (not counted: a push inside the window).
    windows: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    def milestones(self) -> dict[str, float]:
        """Seconds from the push until each stage is done (its bake included)."""
        done, elapsed = {}, 0.0
        for step in self.steps:
            elapsed += step.seconds
            done[step.stage] = elapsed
        return done

    def by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for step in self.steps:
            totals[step.kind] = totals.get(step.kind, 0.0) + step.seconds - step.shift_seconds
            if step.shift_seconds:
                totals["traffic shift"] = totals.get("traffic shift", 0.0) + step.shift_seconds
        return totals


def _pipeline(template: Mapping[str, Any]) -> Mapping[str, Any]:
    found: list[Mapping[str, Any]] = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    (pipeline,) = found
    return pipeline


def _publishes(buildspec: str) -> int:
    return len(re.findall(r"cdk-assets .* publish ", buildspec))


def _action(
    action: Mapping[str, Any], stage: str, build_seconds: float, shift_seconds: float, publishes: int
) -> tuple[str, str, float, float]:
    """(label, kind, seconds, of which shifting) of one action."""
    provider, name = action["ActionTypeId"]["Provider"], action["Name"]
    if provider == "CodeStarSourceConnection":
        return "source", "source", SOURCE.seconds, 0.0
    if provider == "CloudFormation":
        mode = action.get("Configuration", {}).get("ActionMode")
        if mode == "CHANGE_SET_REPLACE":
            return "change set", "deploy", CHANGE_SET.seconds, 0.0
        return "deploy + shift", "deploy", STACK_UPDATE.seconds + shift_seconds, shift_seconds
    start = CODEBUILD_START.seconds
    if name == "Synth":
        return "build", "build", start + build_seconds, 0.0
    if name == "SelfMutate":
        return "self-mutation", "build", start + SELF_MUTATE.seconds, 0.0
    if name.startswith("FileAsset"):
        return "assets", "build", start + ASSETS_INSTALL.seconds + publishes * ASSET_PUBLISH.seconds, 0.0
    if "SmokeTests" in name:
        return "smoke tests", "test", start + SMOKE_TESTS.seconds, 0.0
    if "ProtectStacks" in name:
        return "protect stacks", "test", start + PROTECT.seconds, 0.0
    return name, "build", start + OTHER_BUILD.seconds, 0.0


def model(
    name: str,
    template: Mapping[str, Any],
    *,
    shifts: Mapping[str, Shift],
    post_traffic_wait: float,
    build_seconds: float,
    publishes: Mapping[str, int],
) -> PipelineModel:
    """The critical path of a synthesized pipeline template. ``shifts``: each environment's strategy (a stage
    named ``prod`` or ``prod-<region>`` is environment prod); ``publishes``: destinations per asset action."""
    steps, windows = [], []
    for stage in _pipeline(template)["Stages"]:
        stage_name = stage["Name"]
        shift = shifts.get(stage_name.split("-", 1)[0])
        shift_seconds = shift.seconds(post_traffic_wait) if shift else 0.0
        groups: dict[int, list[tuple[str, str, float, float]]] = {}
        for action in stage["Actions"]:
            if action["ActionTypeId"]["Provider"] == "Manual":
                continue
            timed = _action(action, stage_name, build_seconds, shift_seconds, publishes.get(action["Name"], 1))
            groups.setdefault(action.get("RunOrder", 1), []).append(timed)
        for _, actions in sorted(groups.items()):
            label, kind, seconds, shifting = max(actions, key=lambda a: a[2])
            steps.append(Step(stage_name, label, kind, seconds, shifting))
        for condition in (stage.get("OnSuccess") or {}).get("Conditions", []):
            waits = [
                int(rule["Configuration"].get("WaitTime", 0))
                for rule in condition.get("Rules", [])
                if rule["RuleTypeId"]["Provider"] == "CloudWatchAlarm"
            ]
            if waits:
                steps.append(Step(stage_name, "bake", "bake", max(waits) * 60.0))
        if any(
            rule["RuleTypeId"]["Provider"] == "DeploymentWindow"
            for condition in (stage.get("BeforeEntry") or {}).get("Conditions", [])
            for rule in condition.get("Rules", [])
        ):
            windows.append(stage_name)
    return PipelineModel(name, tuple(steps), tuple(windows))


def asset_publishes(cdk_out: Path, template: Mapping[str, Any]) -> dict[str, int]:
    """Destinations each asset action publishes to: counted in the buildspec files CDK Pipelines writes."""
    counts = {}
    for stage in _pipeline(template)["Stages"]:
        if stage["Name"] != "Assets":
            continue
        files = sorted(cdk_out.glob("buildspec-*.yaml"))
        for action in stage["Actions"]:
            suffix = action["Name"]
            matching = [f for f in files if f.name.endswith(f"-{suffix}.yaml")]
            counts[suffix] = _publishes(matching[0].read_text()) if matching else 1
    return counts


ASSUMPTIONS = (
    SOURCE,
    CODEBUILD_START,
    BUILD_INSTALL,
    BUILD_LINT,
    BUILD_TESTS,
    SELF_MUTATE,
    ASSETS_INSTALL,
    ASSET_PUBLISH,
    CHANGE_SET,
    STACK_UPDATE,
    PRE_TRAFFIC_HOOK,
    SMOKE_TESTS,
    PROTECT,
    OTHER_BUILD,
)

# --- the drawing ------------------------------------------------------------------------------------------------

_COLOURS = {
    "source": "#8c959f",
    "build": "#0969da",
    "deploy": "#1a7f37",
    "traffic shift": "#4ac26b",
    "test": "#bf8700",
    "bake": "#cf222e",
}


def render_svg(models: Iterable[PipelineModel], title: str) -> str:
    """Both critical paths as timelines on one time axis: a bar per step (the traffic shift of a deploy
    lighter), bakes red, deployment windows marked where the run waits (not counted)."""
    models = list(models)
    longest = max(m.seconds for m in models)
    left, width, row, bar = 150, 900, 92, 30
    scale = width / longest
    height = 70 + row * len(models) + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 30}" height="{height}" '
        'font-family="system-ui,sans-serif" font-size="11">',
        f'<text x="10" y="22" font-size="15" font-weight="600">{escape(title)}</text>',
    ]
    for minute in range(0, int(longest / 60) + 1, 5):
        x = left + minute * 60 * scale
        parts.append(f'<line x1="{x:.1f}" y1="36" x2="{x:.1f}" y2="{height - 50}" stroke="#d0d7de"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 36}" text-anchor="middle" fill="#57606a">{minute} min</text>')
    for index, pipeline in enumerate(models):
        y = 50 + index * row
        parts.append(
            f'<text x="10" y="{y + bar / 2 + 4}" font-weight="600">{escape(pipeline.name)}</text>'
            f'<text x="10" y="{y + bar / 2 + 18}" fill="#57606a">{pipeline.seconds / 60:.1f} min</text>'
        )
        start = 0.0
        for step in pipeline.steps:
            x, w = left + start * scale, step.seconds * scale
            deploy = step.seconds - step.shift_seconds
            colour = _COLOURS.get(step.kind, "#6e7781")
            tip = f"{step.stage}: {step.label}, {step.seconds / 60:.1f} min"
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(deploy * scale, 0.5):.1f}" height="{bar}" fill="{colour}" '
                f'stroke="#ffffff" stroke-width="0.5"><title>{escape(tip)}</title></rect>'
            )
            if step.shift_seconds:
                shift_x, shift_w = x + deploy * scale, step.shift_seconds * scale
                parts.append(
                    f'<rect x="{shift_x:.1f}" y="{y}" width="{shift_w:.1f}" height="{bar}" '
                    f'fill="{_COLOURS["traffic shift"]}" stroke="#ffffff" stroke-width="0.5"><title>{escape(tip)} '
                    f"(traffic shift {step.shift_seconds / 60:.1f} min)</title></rect>"
                )
            if w > 34:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar + 12}" text-anchor="middle" fill="#24292f">'
                    f"{escape(step.stage if step.kind != 'bake' else 'bake')}</text>"
                )
            if step.stage in pipeline.windows and (
                step is pipeline.steps[0] or step.stage != _previous(pipeline, step)
            ):
                note = f"{step.stage} waits for its deployment window here (not counted)"
                parts.append(
                    f'<line x1="{x:.1f}" y1="{y - 6}" x2="{x:.1f}" y2="{y + bar + 4}" stroke="#8250df" '
                    f'stroke-width="2" stroke-dasharray="3,2"><title>{escape(note)}</title></line>'
                    f'<text x="{x + 3:.1f}" y="{y - 8}" fill="#8250df">window</text>'
                )
            start += step.seconds
    legend_y = height - 18
    for offset, (kind, colour) in enumerate(_COLOURS.items()):
        x = left + offset * 120
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{legend_y}">{escape(kind)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _previous(pipeline: PipelineModel, step: Step) -> str:
    index = pipeline.steps.index(step)
    return pipeline.steps[index - 1].stage if index else ""


def summary(pipeline: PipelineModel) -> str:
    where = ", ".join(f"{kind} {seconds / 60:.1f}" for kind, seconds in sorted(pipeline.by_kind().items()))
    return f"{pipeline.name}: {pipeline.seconds / 60:.1f} min ({where} min)"


def load(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(path.read_text())
    return template
