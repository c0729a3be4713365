"""Applies the acknowledgment registry to the app and checks it against the validation report.

Application-stack entries name resources relative to each stage (``Items/...``). Pipeline entries name
resources relative to the pipeline stack, or a role that CDK Pipelines generates through a selector
(``role:synth``, ``role:smoke-tests``...), and their finding ids may hold placeholders filled in from the
app itself (``{account}``, ``{region}``, ``{project}``, ``{replication_bucket}``, ``{artifact_bucket}``,
``{evidence_bucket}``), so that pointing the pipeline at another account does not invalidate the registry.
Every acknowledgment applied is still one exact finding on one resource, and the report lists each one
with its reason.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

from compliance.acknowledgments import ACKNOWLEDGMENTS, Acknowledgment

MIN_REASON_WORDS = 12
VAGUE_REASONS = re.compile(
    r"\b(needed by cdk|required by cdk|cdk default|false positive|not applicable|n/?a|todo|tbd)\b", re.IGNORECASE
)
POLICY = "/DefaultPolicy/Resource"
PIPELINE_CONSTRUCT_ID = "Pipeline"  # the CodePipeline construct inside the pipeline stack
# Roles CDK Pipelines generates, by their path inside the pipeline stack.
ROLE_SELECTORS: dict[str, re.Pattern[str]] = {
    "pipeline": re.compile(r"Pipeline/Pipeline/Role" + POLICY),
    "source-action": re.compile(r"Pipeline/Pipeline/Source/[^/]+/CodePipelineActionRole" + POLICY),
    "approval-action": re.compile(r"Pipeline/Pipeline/prod/[^/]+/CodePipelineActionRole" + POLICY),
    "synth": re.compile(r"Pipeline/Pipeline/Build/Synth/CdkBuildProject/Role" + POLICY),
    "self-mutation": re.compile(r"Pipeline/UpdatePipeline/SelfMutation/Role" + POLICY),
    "assets": re.compile(r"Pipeline/Assets/FileRole" + POLICY),
    "smoke-tests": re.compile(r"Pipeline/Pipeline/[^/]+/(?:[^/]+\.)?(SmokeTests-[a-z0-9-]+)/\1/Role" + POLICY),
    "protect-stacks": re.compile(r"Pipeline/Pipeline/[^/]+/(?:[^/]+\.)?(ProtectStacks-[a-z0-9-]+)/\1/Role" + POLICY),
}


def _waf_disabled(stage: cdk.Stage | None, targets: "AcknowledgmentTargets") -> bool:
    env_config = getattr(stage, "env_config", None)
    return env_config is not None and not env_config.api.waf_enabled


def _cross_region(stage: cdk.Stage | None, targets: "AcknowledgmentTargets") -> bool:
    return bool(targets.replication_buckets)


def _cross_account_cross_region(stage: cdk.Stage | None, targets: "AcknowledgmentTargets") -> bool:
    return targets.cross_account and bool(targets.replication_buckets)


# Configuration a finding depends on: an entry with `only_if` applies only where its condition holds.
CONDITIONS = {
    "waf_disabled": _waf_disabled,
    "cross_region": _cross_region,
    "cross_account_cross_region": _cross_account_cross_region,
}


class AcknowledgmentError(ValueError):
    """The registry holds an entry that cannot be accepted (vague, unresolvable, stale)."""


@dataclass(frozen=True)
class AcknowledgmentTargets:
    """What the registry is applied to: the stages (with their environment) and the pipeline stack."""

    stages: Sequence[tuple[cdk.Stage, str]]
    pipeline_stack: cdk.Stack | None = None
    placeholders: Mapping[str, str] = field(default_factory=dict)
    replication_buckets: Sequence[str] = ()
    # An environment lives in another account than the pipeline (CDK Pipelines then creates KMS keys).
    cross_account: bool = False


@dataclass(frozen=True)
class AppliedAcknowledgment:
    acknowledgment: Acknowledgment
    construct_path: str
    finding: str

    @property
    def acknowledged_id(self) -> str:
        return f"{self.acknowledgment.pack}::{self.finding}"


def check_entry(entry: Acknowledgment) -> None:
    """Reject entries an auditor could not accept, before anything is applied."""
    where = f"{entry.finding} on {', '.join(entry.resources) or '(no resource)'}"
    if not entry.resources:
        raise AcknowledgmentError(f"{where}: an acknowledgment must name the resources it applies to")
    if len(entry.reason.split()) < MIN_REASON_WORDS or VAGUE_REASONS.search(entry.reason):
        raise AcknowledgmentError(
            f"{where}: the reason must say in a real sentence (at least {MIN_REASON_WORDS} words) why it is safe "
            f"here, got {entry.reason!r}"
        )
    if not entry.finding.startswith(f"{entry.pack}-"):
        raise AcknowledgmentError(f"{where}: finding {entry.finding!r} is not a rule of pack {entry.pack!r}")
    if entry.only_if and entry.only_if not in CONDITIONS:
        raise AcknowledgmentError(f"{where}: unknown condition {entry.only_if!r} (known: {sorted(CONDITIONS)})")
    for resource in entry.resources:
        if resource.startswith("role:") and resource.removeprefix("role:") not in ROLE_SELECTORS:
            raise AcknowledgmentError(f"{where}: unknown role selector {resource!r} (known: {sorted(ROLE_SELECTORS)})")
    if entry.review_by is not None:
        date.fromisoformat(entry.review_by)


class ConstructIndex:
    """Finds constructs by path, walking down from the app one child at a time: every jsii call costs a
    round trip, so listing the whole tree (thousands of constructs) is avoided."""

    def __init__(self, app: cdk.App) -> None:
        self._cache: dict[str, IConstruct | None] = {"": app}
        self._subtrees: dict[str, list[str]] = {}

    def get(self, path: str) -> IConstruct | None:
        if path not in self._cache:
            parent_path, _, child = path.rpartition("/")
            parent = self.get(parent_path)
            self._cache[path] = parent.node.try_find_child(child) if parent is not None else None
        return self._cache[path]

    def paths_under(self, construct: IConstruct) -> list[str]:
        """Every construct path below `construct` (listed once per subtree)."""
        root = construct.node.path
        if root not in self._subtrees:
            self._subtrees[root] = [c.node.path for c in construct.node.find_all()]
        return self._subtrees[root]


def _cfn_resource_at(paths: ConstructIndex, path: str, entry: Acknowledgment) -> IConstruct:
    construct = paths.get(path)
    if construct is None:
        raise AcknowledgmentError(f"{entry.finding}: no construct at {path} (stale acknowledgment?)")
    if not cdk.CfnResource.is_cfn_resource(construct):
        raise AcknowledgmentError(
            f"{entry.finding}: {path} is not a CloudFormation resource; acknowledge findings on resources, "
            "never on a whole stack or stage"
        )
    return construct


def _pipeline_paths(entry: Acknowledgment, targets: AcknowledgmentTargets, paths: ConstructIndex) -> list[str]:
    stack = targets.pipeline_stack
    if stack is None:
        raise AcknowledgmentError(f"{entry.finding}: a pipeline acknowledgment needs the pipeline stack")
    prefix = f"{stack.node.path}/"
    resolved = []
    for resource in entry.resources:
        if not resource.startswith("role:"):
            resolved.append(prefix + resource)
            continue
        selector = ROLE_SELECTORS[resource.removeprefix("role:")]
        # The generated roles all live under the CodePipeline construct; the stages (also children of
        # the pipeline stack) are not searched.
        codepipeline = paths.get(prefix + PIPELINE_CONSTRUCT_ID)
        candidates = paths.paths_under(codepipeline) if codepipeline is not None else []
        matches = sorted(p for p in candidates if selector.fullmatch(p.removeprefix(prefix)))
        if not matches:
            raise AcknowledgmentError(f"{entry.finding}: selector {resource!r} matches no role in the pipeline stack")
        resolved.extend(matches)
    return resolved


def _findings(entry: Acknowledgment, path: str, targets: AcknowledgmentTargets, paths: ConstructIndex) -> list[str]:
    values = dict(targets.placeholders)
    if "{project}" in entry.finding:
        project = paths.get(path.removesuffix("/Role" + POLICY) + "/Resource")
        if project is None or not cdk.CfnResource.is_cfn_resource(project):
            raise AcknowledgmentError(f"{entry.finding}: no CodeBuild project owns the role at {path}")
        values["project"] = cdk.Stack.of(project).get_logical_id(project)  # type: ignore[arg-type]
    if "{replication_bucket}" in entry.finding:
        return [entry.finding.format(**values, replication_bucket=name) for name in targets.replication_buckets]
    return [entry.finding.format(**values)]


def apply_acknowledgments(
    app: cdk.App, targets: AcknowledgmentTargets, registry: Iterable[Acknowledgment] = ACKNOWLEDGMENTS
) -> list[AppliedAcknowledgment]:
    """Acknowledge each registered finding on each resource it names."""
    paths = ConstructIndex(app)
    applied = []
    for entry in registry:
        check_entry(entry)
        condition = CONDITIONS.get(entry.only_if)
        if entry.scope == "pipeline":
            if condition is not None and not condition(None, targets):
                continue
            resource_paths = _pipeline_paths(entry, targets, paths)
        else:
            resource_paths = [
                f"{stage.node.path}/{resource}"
                for stage, environment in targets.stages
                if environment in entry.environments and (condition is None or condition(stage, targets))
                for resource in entry.resources
            ]
        for path in resource_paths:
            construct = _cfn_resource_at(paths, path, entry)
            for finding in _findings(entry, path, targets, paths):
                acknowledgment = AppliedAcknowledgment(entry, path, finding)
                cdk.Validations.of(construct).acknowledge(
                    cdk.Acknowledgment(id=acknowledgment.acknowledged_id, reason=entry.reason)
                )
                applied.append(acknowledgment)
    return applied


def stale_acknowledgments(report: dict[str, Any], applied: Iterable[AppliedAcknowledgment]) -> list[str]:
    """Applied acknowledgments that suppressed nothing: the finding is fixed, so the entry must go."""
    used = set()
    for plugin in report.get("pluginReports", []):
        for suppressed in plugin.get("suppressedViolations", []):
            used.add((suppressed.get("acknowledgedId"), suppressed.get("acknowledgedAt")))
    return sorted(
        f"{a.acknowledged_id} at {a.construct_path}"
        for a in applied
        if (a.acknowledged_id, a.construct_path) not in used
    )
