"""Pairs the stacks of this release with those of its baseline, stage by stage, and builds the Impact.

A release's stages are the nested assemblies of its cloud assembly (``assembly-Pipeline-<stage>``) and the
pipeline's own stacks at its top. A baseline is either the cloud assembly of another commit (``make impact
BASE=<ref>``) or what the pipeline recorded after each stage's smoke tests passed and the Build step fetched
(``.baseline/<stage>/``: the stage's manifest.json, its templates and release.json saying which commit and
run they belong to)."""

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from compliance.impact.acknowledgments import STATEFUL_ACKNOWLEDGMENTS, StatefulChangeAcknowledgment, check
from compliance.impact.classify import compare
from compliance.impact.model import (
    Acknowledged,
    Baseline,
    EnvironmentImpact,
    Impact,
    StackImpact,
    StageImpact,
)

PIPELINE_STAGE = "pipeline"
NESTED_ASSEMBLY_PREFIX = "assembly-Pipeline-"
RELEASE_FILE = "release.json"
_ENVIRONMENT_ORDER = {PIPELINE_STAGE: 0, "dev": 1, "staging": 2, "prod": 3}


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def stacks_of(directory: Path) -> dict[str, dict[str, Any]]:
    """The templates of one assembly directory's own stacks (not its nested assemblies), by stack name."""
    manifest = directory / "manifest.json"
    if not manifest.exists():
        return {}
    stacks = {}
    for artifact_id, artifact in _read_json(manifest)["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        template = directory / properties["templateFile"]
        if template.exists():
            stacks[properties.get("stackName", artifact_id)] = _read_json(template)
    return stacks


def stages_of_cloud_assembly(cdk_out: Path) -> dict[str, Path]:
    """Stage id -> its assembly directory, the pipeline's stacks as the stage "pipeline"."""
    stages = {PIPELINE_STAGE: cdk_out}
    for artifact_id, artifact in _read_json(cdk_out / "manifest.json")["artifacts"].items():
        if artifact["type"] == "cdk:cloud-assembly" and artifact_id.startswith(NESTED_ASSEMBLY_PREFIX):
            stages[artifact_id.removeprefix(NESTED_ASSEMBLY_PREFIX)] = cdk_out / artifact["properties"]["directoryName"]
    return stages


def stages_of_baseline(directory: Path) -> dict[str, Path]:
    """Stage id -> its recorded directory (empty when nothing was ever recorded: the first run)."""
    if not directory.is_dir():
        return {}
    return {d.name: d for d in sorted(directory.iterdir()) if (d / "manifest.json").exists()}


def recorded_baseline(directory: Path) -> Baseline:
    release = _read_json(directory / RELEASE_FILE) if (directory / RELEASE_FILE).exists() else {}
    return Baseline(
        source="the release last deployed there (recorded after its smoke tests passed)",
        commit=str(release.get("commit", "")),
        execution=str(release.get("execution", "")),
        recorded_at=str(release.get("recordedAt", "")),
    )


def environment_of(stage: str) -> str:
    return stage if stage == PIPELINE_STAGE else stage.split("-", 1)[0]


def _relative(stack_name: str, environment: str) -> str:
    return stack_name.removeprefix(f"{environment}-") if environment != PIPELINE_STAGE else stack_name


def compare_stage(stage: str, new: Path | None, old: Path | None, baseline: Baseline | None) -> StageImpact:
    environment = environment_of(stage)
    if old is None or baseline is None:
        return StageImpact(stage, environment, None)
    before, after = stacks_of(old), stacks_of(new) if new else {}
    stacks = []
    for name in sorted(set(before) | set(after)):
        changes = compare(before.get(name, {}), after.get(name, {}))
        status: Literal["changed", "added", "removed"] = (
            "added" if name not in before else "removed" if name not in after else "changed"
        )
        if changes or status != "changed":
            stacks.append(StackImpact(name, _relative(name, environment), tuple(changes), status))
    return StageImpact(stage, environment, baseline, tuple(stacks))


def _acknowledge(
    stage: StageImpact, entries: Iterable[StatefulChangeAcknowledgment], used: set[StatefulChangeAcknowledgment]
) -> StageImpact:
    accepted: dict[tuple[str, str, str], Acknowledged] = {}
    for stack, change in stage.changes():
        for entry in entries:
            if stage.environment in entry.environments and (entry.stack, entry.logical_id, entry.change) == (
                stack.relative_name,
                change.logical_id,
                change.change,
            ):
                accepted[(stack.relative_name, change.logical_id, change.change)] = Acknowledged(
                    entry.reason, entry.reviewed_by
                )
                used.add(entry)
    return StageImpact(stage.stage, stage.environment, stage.baseline, stage.stacks, accepted)


def build_impact(
    commit: str,
    new_stages: Mapping[str, Path],
    old_stages: Mapping[str, Path],
    baseline_of: Mapping[str, Baseline],
    acknowledgments: tuple[StatefulChangeAcknowledgment, ...] = STATEFUL_ACKNOWLEDGMENTS,
) -> Impact:
    """The impact of the release in every stage it has or its baseline had, grouped by environment."""
    check(acknowledgments)
    used: set[StatefulChangeAcknowledgment] = set()
    stages = [
        _acknowledge(
            compare_stage(stage, new_stages.get(stage), old_stages.get(stage), baseline_of.get(stage)),
            acknowledgments,
            used,
        )
        for stage in sorted(set(new_stages) | set(old_stages))
    ]
    environments = sorted({s.environment for s in stages}, key=lambda e: (_ENVIRONMENT_ORDER.get(e, 9), e))
    return Impact(
        commit=commit,
        environments=tuple(EnvironmentImpact(e, tuple(s for s in stages if s.environment == e)) for e in environments),
        unused_acknowledgments=tuple(sorted(a.describe for a in set(acknowledgments) - used)),
    )


def impact_against_baseline(commit: str, cdk_out: Path, baseline_dir: Path) -> Impact:
    """This release's cloud assembly against what the pipeline recorded for each stage."""
    old = stages_of_baseline(baseline_dir)
    return build_impact(
        commit, stages_of_cloud_assembly(cdk_out), old, {s: recorded_baseline(d) for s, d in old.items()}
    )


def impact_against_commit(commit: str, cdk_out: Path, base_commit: str, base_cdk_out: Path) -> Impact:
    """This release's cloud assembly against that of another commit (every stage has that baseline)."""
    old = stages_of_cloud_assembly(base_cdk_out)
    baseline = Baseline(source=f"commit {base_commit}", commit=base_commit)
    return build_impact(commit, stages_of_cloud_assembly(cdk_out), old, dict.fromkeys(old, baseline))
