"""Applies the acknowledgment registry to the app and checks it against the validation report."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

from compliance.acknowledgments import ACKNOWLEDGMENTS, Acknowledgment

MIN_REASON_WORDS = 12
VAGUE_REASONS = re.compile(
    r"\b(needed by cdk|required by cdk|cdk default|false positive|not applicable|n/?a|todo|tbd)\b", re.I
)


class AcknowledgmentError(ValueError):
    """The registry holds an entry that cannot be accepted (vague, unresolvable, stale)."""


@dataclass(frozen=True)
class AppliedAcknowledgment:
    acknowledgment: Acknowledgment
    construct_path: str


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
    if entry.review_by is not None:
        date.fromisoformat(entry.review_by)


def _cfn_resource_at(paths: dict[str, IConstruct], path: str, entry: Acknowledgment) -> IConstruct:
    construct = paths.get(path)
    if construct is None:
        raise AcknowledgmentError(f"{entry.finding}: no construct at {path} (stale acknowledgment?)")
    if not cdk.CfnResource.is_cfn_resource(construct):
        raise AcknowledgmentError(
            f"{entry.finding}: {path} is not a CloudFormation resource; acknowledge findings on resources, "
            "never on a whole stack or stage"
        )
    return construct


def apply_acknowledgments(
    app: cdk.App,
    stages: Sequence[tuple[cdk.Stage, str]],
    registry: Iterable[Acknowledgment] = ACKNOWLEDGMENTS,
) -> list[AppliedAcknowledgment]:
    """Acknowledge each registered finding on each resource it names; ``stages`` pairs each
    application stage with its environment name."""
    paths = {c.node.path: c for c in app.node.find_all()}
    applied = []
    for entry in registry:
        check_entry(entry)
        if entry.scope == "pipeline":
            targets = list(entry.resources)
        else:
            targets = [
                f"{stage.node.path}/{resource}"
                for stage, environment in stages
                if environment in entry.environments
                for resource in entry.resources
            ]
        for path in targets:
            construct = _cfn_resource_at(paths, path, entry)
            cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=entry.acknowledged_id, reason=entry.reason))
            applied.append(AppliedAcknowledgment(entry, path))
    return applied


def stale_acknowledgments(report: dict[str, Any], applied: Iterable[AppliedAcknowledgment]) -> list[str]:
    """Applied acknowledgments that suppressed nothing: the finding is fixed, so the entry must go."""
    used = set()
    for plugin in report.get("pluginReports", []):
        for suppressed in plugin.get("suppressedViolations", []):
            used.add((suppressed.get("acknowledgedId"), suppressed.get("acknowledgedAt")))
    return sorted(
        f"{a.acknowledgment.acknowledged_id} at {a.construct_path}"
        for a in applied
        if (a.acknowledgment.acknowledged_id, a.construct_path) not in used
    )
