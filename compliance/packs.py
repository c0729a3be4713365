"""Registers the cdk-nag packs on the App through the CDK policy-validation framework.

Packs must be registered on the App (a plugin registered on a pipeline Stage never runs); from there
they reach the pipeline stack and every stage assembly. Every finding lands in
``cdk.out/validation-report.json``.

Until the compliance issue lands its fixes and its acknowledgment registry, the packs run
report-only: ``ReportOnly`` delegates to the pack, keeps every violation (severity re-labelled
``info``, the pack's own severity kept in the rule metadata) and reports success, because cdk-nag 3
has no report-only switch and CDK fails synth on any unsuccessful plugin report.
"""

from collections.abc import Iterable
from typing import cast

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks, NagPack, ServerlessChecks

from compliance.severity import ORIGINAL_SEVERITY_KEY


@jsii.implements(cdk.IPolicyValidationPlugin)
class ReportOnly:
    """Runs a pack and reports its findings without failing synth."""

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
            metadata=report.metadata,
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


def default_packs(app: cdk.App) -> Iterable[NagPack]:
    return (AwsSolutionsChecks(app), ServerlessChecks(app))


def attach_compliance(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(*(ReportOnly(pack) for pack in default_packs(app)))
