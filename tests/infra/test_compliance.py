"""cdk-nag: application stages are gated, every acknowledgment is specific, explained and current."""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm

from compliance.gate.acknowledgments import ACKNOWLEDGMENTS, Acknowledgment
from compliance.gate.packs import attach_compliance
from compliance.gate.registry import (
    AcknowledgmentError,
    AcknowledgmentTargets,
    StageTarget,
    apply_acknowledgments,
    check_entry,
    stale_acknowledgments,
)
from config.schema import ComplianceConfig
from tests.synth_fixtures import TOPOLOGIES, BackgroundSynth, Synthesized

GOOD_REASON = "This parameter only holds a constant test value in this fixture and never holds customer data at all."


@pytest.fixture(scope="module")
def report(synthesized: Synthesized) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((synthesized.outdir / "validation-report.json").read_text())
    return result


def _violations(report: dict[str, Any], key: str = "violations") -> list[tuple[str, str, str]]:
    return [
        (plugin["pluginName"], violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin.get(key, [])
        for construct in violation["violatingConstructs"]
    ]


GATING = {"AwsSolutions", "Serverless"}
REPORTING = {"NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321"}
ONLY_GATING = ComplianceConfig(nist_800_53_r5="off", hipaa_security="off", pci_dss_321="off", evidence_retention_days=1)


def test_every_configured_pack_runs_over_the_whole_app(report: dict[str, Any]) -> None:
    assert {p["pluginName"] for p in report["pluginReports"]} == GATING | REPORTING
    paths = {path for *_, path in _violations(report) + _violations(report, "suppressedViolations")}
    assert any(p.startswith("Pipeline/Pipeline/") for p in paths), "the pipeline stack is checked"
    for stage in ("dev", "staging", "prod-eu-west-1", "prod-eu-central-1"):
        assert any(p.startswith(f"Pipeline/{stage}/") for p in paths), f"stage {stage} is checked"


def test_gating_packs_leave_no_unacknowledged_finding_anywhere(report: dict[str, Any]) -> None:
    assert [v for v in _violations(report) if v[0] in GATING] == []
    assert all(p["conclusion"] == "success" for p in report["pluginReports"])


def test_acknowledged_findings_keep_their_reason_in_the_report(report: dict[str, Any]) -> None:
    suppressed = [
        violation for plugin in report["pluginReports"] for violation in plugin.get("suppressedViolations", [])
    ]
    assert suppressed
    reasons = {entry.reason for entry in ACKNOWLEDGMENTS}
    for violation in suppressed:
        assert violation["reason"] in reasons
        assert violation["acknowledgedAt"] == violation["violatingConstructs"][0]["constructPath"]


def test_report_only_packs_list_findings_as_info_with_their_pack_severity(report: dict[str, Any]) -> None:
    reported = [v for p in report["pluginReports"] if p["pluginName"] in REPORTING for v in p["violations"]]
    assert reported
    for violation in reported:
        assert violation["severity"] == "info"
        assert violation["ruleMetadata"]["originalSeverity"] in ("error", "warning")


def test_registry_entries_name_exact_findings_and_resources() -> None:
    for entry in ACKNOWLEDGMENTS:
        check_entry(entry)
        assert all(p.endswith("/Resource") or p.startswith("role:") for p in entry.resources), entry.finding


def test_pipeline_acknowledgments_follow_the_configured_account(report: dict[str, Any]) -> None:
    acknowledged = [v for v in _violations(report, "suppressedViolations") if "report-group/" in v[1]]
    assert acknowledged
    assert all(":111111111111:report-group/" in rule for _, rule, _ in acknowledged)


def test_every_acknowledgment_in_the_report_is_one_finding_on_one_resource(report: dict[str, Any]) -> None:
    for plugin in report["pluginReports"]:
        for violation in plugin.get("suppressedViolations", []):
            assert "*" not in violation["acknowledgedId"].split("::", 1)[0]
            assert len(violation["violatingConstructs"]) == 1


@pytest.mark.parametrize(
    "reason", ["Needed by CDK.", "false positive", "TODO explain", "Short reason but not enough words here."]
)
def test_a_vague_reason_is_refused(reason: str) -> None:
    with pytest.raises(AcknowledgmentError, match="the reason must say in a real sentence"):
        check_entry(
            Acknowledgment(pack="AwsSolutions", finding="AwsSolutions-SQS3", resources=("X/Resource",), reason=reason)
        )


def test_an_acknowledgment_must_name_resources() -> None:
    with pytest.raises(AcknowledgmentError, match="must name the resources"):
        check_entry(Acknowledgment(pack="AwsSolutions", finding="AwsSolutions-SQS3", resources=(), reason=GOOD_REASON))


def test_a_finding_must_belong_to_its_pack() -> None:
    with pytest.raises(AcknowledgmentError, match="is not a rule of pack"):
        check_entry(
            Acknowledgment(
                pack="Serverless", finding="AwsSolutions-SQS3", resources=("X/Resource",), reason=GOOD_REASON
            )
        )


# --- a small app of its own: the gate and the registry, end to end ----------------------------


def _small_app(outdir: Path, *, bad_bucket: bool, registry: tuple[Acknowledgment, ...]) -> cdk.App:
    app = cdk.App(outdir=str(outdir))
    stage = cdk.Stage(app, "dev", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    stack = cdk.Stack(stage, "Items")
    ssm.StringParameter(stack, "Setting", string_value="compliant")  # no pack has a rule for it
    if bad_bucket:
        s3.Bucket(stack, "Unencrypted")  # no TLS policy, no access logs: gating rules break
    attach_compliance(app, ONLY_GATING, AcknowledgmentTargets(stages=[StageTarget(stage, "dev")]), registry)
    return app


def test_a_bad_resource_in_a_stage_fails_synth(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"ValidationFailed: (.|\n)*AwsSolutions-S10"):
        _small_app(tmp_path, bad_bucket=True, registry=()).synth()


def test_an_acknowledgment_that_matches_no_finding_is_stale(tmp_path: Path) -> None:
    stale_entry = Acknowledgment(
        pack="AwsSolutions", finding="AwsSolutions-SMG4", resources=("Items/Setting/Resource",), reason=GOOD_REASON
    )
    app = _small_app(tmp_path, bad_bucket=False, registry=())
    targets = AcknowledgmentTargets(stages=[StageTarget(app.node.find_child("dev"), "dev")])  # type: ignore[arg-type]
    applied = apply_acknowledgments(app, targets, (stale_entry,))
    app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert stale_acknowledgments(report, applied) == ["AwsSolutions::AwsSolutions-SMG4 at dev/Items/Setting/Resource"]


def test_an_acknowledgment_on_a_missing_resource_is_refused(tmp_path: Path) -> None:
    missing = Acknowledgment(
        pack="AwsSolutions", finding="AwsSolutions-SMG4", resources=("Items/Gone/Resource",), reason=GOOD_REASON
    )
    with pytest.raises(AcknowledgmentError, match="no construct at dev/Items/Gone/Resource"):
        _small_app(tmp_path, bad_bucket=False, registry=(missing,))


def test_an_acknowledgment_on_a_whole_stack_is_refused(tmp_path: Path) -> None:
    blanket = Acknowledgment(pack="AwsSolutions", finding="AwsSolutions-SQS3", resources=("Items",), reason=GOOD_REASON)
    with pytest.raises(AcknowledgmentError, match="is not a CloudFormation resource"):
        _small_app(tmp_path, bad_bucket=False, registry=(blanket,))


def test_a_stage_placeholder_on_a_resource_that_serves_no_stage_is_refused(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    pipeline = cdk.Stack(app, "Pipeline", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    ssm.StringParameter(pipeline, "Setting", string_value="compliant")
    entry = Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-IAM5[Resource::arn:aws:kms:{stage_region}:{stage_account}:key/*]",
        resources=("Setting/Resource",),
        reason=GOOD_REASON,
        scope="pipeline",
    )
    targets = AcknowledgmentTargets(stages=[], pipeline_stack=pipeline)
    with pytest.raises(AcknowledgmentError, match=r"serves no stage, so \['stage_account', 'stage_region'\]"):
        apply_acknowledgments(app, targets, (entry,))


def test_the_smoke_test_roles_acknowledgments_name_their_own_stages_account_and_region(
    report: dict[str, Any],
) -> None:
    suppressed = {(rule, path) for _, rule, path in _violations(report, "suppressedViolations")}
    role = "Pipeline/Pipeline/Pipeline/prod/prod-eu-central-1.SmokeTests-eu-central-1/SmokeTests-eu-central-1/Role"
    assert (
        "AwsSolutions-IAM5[Resource::arn:aws:kms:eu-central-1:333333333333:key/*]",
        f"{role}/DefaultPolicy/Resource",
    ) in suppressed


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_every_supported_account_layout_passes_the_gate_with_the_same_registry(
    background_synths: dict[str, BackgroundSynth], topology: str
) -> None:
    run = background_synths[topology]
    returncode, output = run.wait()
    assert returncode == 0, output[-3000:]
    report = json.loads((run.outdir / "validation-report.json").read_text())
    assert [v for v in _violations(report) if v[0] in GATING] == []
    pipeline_account = TOPOLOGIES[topology].get("pipeline.account", "111111111111")
    assert any(
        f":{pipeline_account}:report-group/" in rule for _, rule, _ in _violations(report, "suppressedViolations")
    )


def test_an_unknown_condition_is_refused() -> None:
    entry = Acknowledgment(
        pack="AwsSolutions", finding="AwsSolutions-SQS3", resources=("X/Resource",), reason=GOOD_REASON, only_if="sunny"
    )
    with pytest.raises(AcknowledgmentError, match="unknown condition 'sunny'"):
        check_entry(entry)
