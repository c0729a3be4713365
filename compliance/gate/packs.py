"""Registers the cdk-nag packs on the App through the CDK policy-validation framework.

Packs must be registered on the App (a plugin registered on a pipeline Stage never runs); from there
they reach the pipeline stack and every stage assembly. Every finding lands in
``cdk.out/validation-report.json``.

AwsSolutions and Serverless gate the whole app: an unacknowledged finding fails synth. NIST 800-53
R5, HIPAA Security and PCI DSS 3.2.1 run report-only or gating, as the config says.
"""

from collections.abc import Iterable
from typing import cast

import aws_cdk as cdk
import jsii
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NagPack,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)

from compliance.gate.acknowledgments import ACKNOWLEDGMENTS, Acknowledgment
from compliance.gate.registry import AcknowledgmentTargets, AppliedAcknowledgment, apply_acknowledgments
from compliance.gate.severity import MODE_METADATA_KEY, ORIGINAL_SEVERITY_KEY
from config.schema import ComplianceConfig


@jsii.implements(cdk.IPolicyValidationPlugin)
class ReportOnlyPack:
    """Runs a pack whose findings never fail synth: violations are re-labelled ``info`` (the pack's
    severity kept in the rule metadata) and the report says its mode — cdk-nag 3 has no report-only switch
    of its own."""

    def __init__(self, pack: NagPack) -> None:
        self._pack = pack

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
        return cdk.PolicyValidationPluginReport(
            success=True,
            violations=[_as_info(v) for v in report.violations],
            metadata={**(report.metadata or {}), MODE_METADATA_KEY: "report"},
            plugin_version=report.plugin_version,
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


# Gate the whole app: an unacknowledged finding of these packs fails synth.
GATING_PACKS: tuple[type[NagPack], ...] = (AwsSolutionsChecks, ServerlessChecks)
# Selectable in config (compliance.<key>): off, report (findings listed, never failing) or gate.
OPTIONAL_PACKS: dict[str, type[NagPack]] = {
    "nist_800_53_r5": NIST80053R5Checks,
    "hipaa_security": HIPAASecurityChecks,
    "pci_dss_321": PCIDSS321Checks,
}


def compliance_plugins(app: cdk.App, config: ComplianceConfig) -> list[cdk.IPolicyValidationPlugin]:
    """A gating pack is registered as it is (a cdk-nag 3 pack is a validation plugin; its report reaches
    the audit bundle without a round trip through Python, which reads no mode as `gate`); a report-only
    pack runs inside ReportOnlyPack, which re-labels its findings."""
    plugins: list[cdk.IPolicyValidationPlugin] = [pack(app) for pack in GATING_PACKS]
    for key, pack in OPTIONAL_PACKS.items():
        mode = getattr(config, key)
        if mode == "gate":
            plugins.append(pack(app))
        elif mode == "report":
            plugins.append(ReportOnlyPack(pack(app)))
    return plugins


def attach_compliance(
    app: cdk.App,
    config: ComplianceConfig,
    targets: AcknowledgmentTargets,
    registry: Iterable[Acknowledgment] = ACKNOWLEDGMENTS,
) -> list[AppliedAcknowledgment]:
    """Run the packs over the whole app (registered on the App, so every stage assembly is reached)
    and apply the acknowledgment registry."""
    cdk.Validations.of(app).add_plugins(*compliance_plugins(app, config))
    return apply_acknowledgments(app, targets, registry)
