"""Applies the acknowledgment registry to the app and checks it against the validation report.

Application-stack entries name resources relative to each stage (``Items/...``). Pipeline entries name
resources relative to the pipeline stack, or a role that CDK Pipelines generates through a selector
(``role:synth``, ``role:smoke-tests``...), and their finding ids may hold placeholders filled in from the
app itself (``{account}``, ``{region}``, ``{project}``, ``{replication_bucket}``, ``{artifact_bucket}``,
``{evidence_bucket}``, and for a role that serves one stage ``{stage_account}``, ``{stage_region}``,
``{stage_environment}``), so that pointing the pipeline at another account does not invalidate the registry.
Every acknowledgment applied is still one exact finding on one resource, and the report lists each one
with its reason.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct, Node

from compliance.gate.acknowledgments import ACKNOWLEDGMENTS, Acknowledgment
from compliance.reasons import MIN_REASON_WORDS, is_vague

POLICY = "/DefaultPolicy/Resource"
# Configuration facts a finding may depend on: an entry with `only_if` applies only where its fact holds
# (a stage's facts for stage entries, the pipeline's for pipeline entries; app.py states them).
CONDITIONS = frozenset({"waf_disabled", "manages_account_settings", "cross_region", "cross_account_cross_region"})


class AcknowledgmentError(ValueError):
    """The registry holds an entry that cannot be accepted (vague, unresolvable, stale)."""


@dataclass(frozen=True)
class StageTarget:
    """One application stage, its environment and the configuration facts (CONDITIONS) that hold for it."""

    stage: cdk.Stage
    environment: str
    facts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AcknowledgmentTargets:
    """What the registry is applied to: the stages and the pipeline stack, with what the pipeline tells about
    itself: where the roles CDK Pipelines generates live (a selector's pattern of the role's default policy
    path, relative to the stack), the values of the placeholders, and its configuration facts."""

    stages: Sequence[StageTarget]
    pipeline_stack: cdk.Stack | None = None
    role_policy_paths: Mapping[str, str] = field(default_factory=dict)
    generated_roles_under: str = ""
    placeholders: Mapping[str, str] = field(default_factory=dict)
    # Placeholders whose value depends on the resource: by construct path (a role serving one stage).
    resource_placeholders: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    replication_buckets: Sequence[str] = ()
    pipeline_facts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AppliedAcknowledgment:
    acknowledgment: Acknowledgment
    construct_path: str
    finding: str

    @property
    def acknowledged_id(self) -> str:
        return f"{self.acknowledgment.pack}::{self.finding}"


def check_entry(entry: Acknowledgment, role_selectors: Iterable[str] = ()) -> None:
    """Reject entries an auditor could not accept, before anything is applied."""
    where = f"{entry.finding} on {', '.join(entry.resources) or '(no resource)'}"
    if not entry.resources:
        raise AcknowledgmentError(f"{where}: an acknowledgment must name the resources it applies to")
    if is_vague(entry.reason):
        raise AcknowledgmentError(
            f"{where}: the reason must say in a real sentence (at least {MIN_REASON_WORDS} words) why it is safe "
            f"here, got {entry.reason!r}"
        )
    if not entry.finding.startswith(f"{entry.pack}-"):
        raise AcknowledgmentError(f"{where}: finding {entry.finding!r} is not a rule of pack {entry.pack!r}")
    if entry.only_if and entry.only_if not in CONDITIONS:
        raise AcknowledgmentError(f"{where}: unknown condition {entry.only_if!r} (known: {sorted(CONDITIONS)})")
    selectors = sorted(role_selectors)
    for resource in entry.resources:
        if resource.startswith("role:") and selectors and resource.removeprefix("role:") not in selectors:
            raise AcknowledgmentError(f"{where}: unknown role selector {resource!r} (known: {selectors})")
    if entry.review_by is not None:
        date.fromisoformat(entry.review_by)


class ConstructIndex:
    """Finds constructs by path, walking down from the app one child at a time: every jsii call costs a
    round trip, so listing the whole tree (thousands of constructs) is avoided."""

    def __init__(self, app: cdk.App) -> None:
        self._cache: dict[str, IConstruct | None] = {"": app}
        self._nodes: dict[str, Node] = {}
        self._resources: dict[str, bool] = {}
        self._subtrees: dict[str, list[str]] = {}

    def get(self, path: str) -> IConstruct | None:
        if path not in self._cache:
            parent_path, _, child = path.rpartition("/")
            parent = self.get(parent_path)
            self._cache[path] = self._node(parent_path, parent).try_find_child(child) if parent is not None else None
        return self._cache[path]

    def is_resource(self, path: str, construct: IConstruct) -> bool:
        if path not in self._resources:
            self._resources[path] = cdk.CfnResource.is_cfn_resource(construct)
        return self._resources[path]

    def _node(self, path: str, construct: IConstruct) -> Node:
        if path not in self._nodes:
            self._nodes[path] = construct.node
        return self._nodes[path]

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
    if not paths.is_resource(path, construct):
        raise AcknowledgmentError(
            f"{entry.finding}: {path} is not a CloudFormation resource; acknowledge findings on resources, "
            "never on a whole stack or stage"
        )
    return construct


def _pipeline_paths(entry: Acknowledgment, targets: AcknowledgmentTargets, paths: ConstructIndex) -> list[str]:
    """Paths of the resources a pipeline entry names; a `role:` selector matches the generated roles under
    the construct the pipeline names (the stages, also children of the stack, are not searched)."""
    stack = targets.pipeline_stack
    if stack is None:
        raise AcknowledgmentError(f"{entry.finding}: a pipeline acknowledgment needs the pipeline stack")
    prefix = f"{stack.node.path}/"
    resolved = []
    for resource in entry.resources:
        if not resource.startswith("role:"):
            resolved.append(prefix + resource)
            continue
        selector = re.compile(targets.role_policy_paths[resource.removeprefix("role:")])
        root = paths.get(prefix + targets.generated_roles_under)
        candidates = paths.paths_under(root) if root is not None else []
        matches = sorted(p for p in candidates if selector.fullmatch(p.removeprefix(prefix)))
        if not matches:
            raise AcknowledgmentError(f"{entry.finding}: selector {resource!r} matches no role in the pipeline stack")
        resolved.extend(matches)
    return resolved


def _findings(entry: Acknowledgment, path: str, targets: AcknowledgmentTargets, paths: ConstructIndex) -> list[str]:
    values = {**targets.placeholders, **targets.resource_placeholders.get(path, {})}
    missing = sorted(set(re.findall(r"\{(stage_[a-z]+)\}", entry.finding)) - set(values))
    if missing:
        raise AcknowledgmentError(f"{entry.finding}: {path} serves no stage, so {missing} mean nothing there")
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
    # One acknowledge call per resource, with every finding acknowledged on it: each jsii call is a round trip.
    by_resource: dict[str, tuple[IConstruct, list[cdk.Acknowledgment]]] = {}
    for entry in registry:
        check_entry(entry, targets.role_policy_paths)
        if entry.scope == "pipeline":
            if entry.only_if and entry.only_if not in targets.pipeline_facts:
                continue
            resource_paths = _pipeline_paths(entry, targets, paths)
        else:
            resource_paths = [
                f"{target.stage.node.path}/{resource}"
                for target in targets.stages
                if target.environment in entry.environments and (not entry.only_if or entry.only_if in target.facts)
                for resource in entry.resources
            ]
        for path in resource_paths:
            construct = _cfn_resource_at(paths, path, entry)
            acknowledgments = by_resource.setdefault(path, (construct, []))[1]
            for finding in _findings(entry, path, targets, paths):
                acknowledgment = AppliedAcknowledgment(entry, path, finding)
                acknowledgments.append(cdk.Acknowledgment(id=acknowledgment.acknowledged_id, reason=entry.reason))
                applied.append(acknowledgment)
    for construct, acknowledgments in by_resource.values():
        cdk.Validations.of(construct).acknowledge(*acknowledgments)
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
