"""Registers the cdk-nag packs on the App through the CDK policy-validation framework.

Packs must be registered on the App (a plugin registered on a pipeline Stage never runs); from there
they reach the pipeline stack and every stage assembly. Every finding lands in
``cdk.out/validation-report.json``.

Application stages are gated: an unacknowledged finding there fails synth. The pipeline stack
(and its cross-region support stacks) are reported on only, until their findings are fixed or
acknowledged (compliance issue).
"""

from collections.abc import Callable, Iterable, Sequence
from typing import cast

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks, NagPack, ServerlessChecks

from compliance.acknowledgments import ACKNOWLEDGMENTS, Acknowledgment
from compliance.registry import AppliedAcknowledgment, apply_acknowledgments
from compliance.severity import ORIGINAL_SEVERITY_KEY


@jsii.implements(cdk.IPolicyValidationPlugin)
class ScopedGate:
    """Runs a pack, gates the constructs ``gated`` selects (by construct path) and reports on the others.

    Violations on gated constructs keep the pack's severity and fail synth unless acknowledged (CDK
    recomputes success once acknowledgments are applied). Violations elsewhere are re-labelled
    ``info`` (the pack's severity kept in the rule metadata) and never fail synth: cdk-nag 3 has no
    report-only switch of its own.
    """

    def __init__(self, pack: NagPack, gated: Callable[[str], bool]) -> None:
        self._pack = pack
        self._gated = gated

    @property
    def name(self) -> str:
        return str(self._pack.name)

    @property
    def version(self) -> str | None:
        return cast("str | None", self._pack.version)

    @property
    def rule_ids(self) -> list[str] | None:
        return cast("list[str] | None", self._pack.rule_ids)

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        report = self._pack.validate(context)
        violations: list[cdk.PolicyViolation] = []
        gated_failures = False
        for violation in report.violations:
            gated = [r for r in violation.violating_resources if self._gated(r.construct_path or "")]
            reported = [r for r in violation.violating_resources if not self._gated(r.construct_path or "")]
            if gated:
                violations.append(_with_resources(violation, gated))
                gated_failures = True
            if reported:
                violations.append(_as_info(_with_resources(violation, reported)))
        return cdk.PolicyValidationPluginReport(
            success=not gated_failures,
            violations=violations,
            metadata=report.metadata,
            plugin_version=report.plugin_version,
        )


def _with_resources(
    violation: cdk.PolicyViolation, resources: list[cdk.PolicyViolatingResource]
) -> cdk.PolicyViolation:
    return cdk.PolicyViolation(
        rule_name=violation.rule_name,
        description=violation.description,
        violating_resources=resources,
        fix=violation.fix,
        rule_metadata=violation.rule_metadata,
        severity=violation.severity,
    )


def _as_info(violation: cdk.PolicyViolation) -> cdk.PolicyViolation:
    metadata = dict(violation.rule_metadata or {})
    metadata[ORIGINAL_SEVERITY_KEY] = violation.severity or "error"
    return cdk.PolicyViolation(
        rule_name=violation.rule_name,
        description=violation.description,
        violating_resources=violation.violating_resources,
        fix=violation.fix,
        rule_metadata=metadata,
        severity="info",
    )


def default_packs(app: cdk.App) -> Iterable[NagPack]:
    return (AwsSolutionsChecks(app), ServerlessChecks(app))


def attach_compliance(
    app: cdk.App,
    stages: Sequence[tuple[cdk.Stage, str]],
    registry: Iterable[Acknowledgment] = ACKNOWLEDGMENTS,
) -> list[AppliedAcknowledgment]:
    """Gate every application stage on the packs, report on the pipeline stack, apply the registry."""
    prefixes = tuple(f"{stage.node.path}/" for stage, _ in stages)

    def in_application_stage(construct_path: str) -> bool:
        return construct_path.startswith(prefixes)

    cdk.Validations.of(app).add_plugins(*(ScopedGate(pack, in_application_stage) for pack in default_packs(app)))
    return apply_acknowledgments(app, stages, registry)
