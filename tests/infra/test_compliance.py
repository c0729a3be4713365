"""cdk-nag: application stages are gated, every acknowledgment is specific, explained and current."""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm

from compliance.acknowledgments import ACKNOWLEDGMENTS, Acknowledgment
from compliance.packs import attach_compliance
from compliance.registry import AcknowledgmentError, check_entry, stale_acknowledgments
from tests.infra.conftest import Synthesized

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


def test_awssolutions_and_serverless_packs_run_over_the_whole_app(report: dict[str, Any]) -> None:
    assert {p["pluginName"] for p in report["pluginReports"]} == {"AwsSolutions", "Serverless"}
    paths = {path for *_, path in _violations(report) + _violations(report, "suppressedViolations")}
    assert any(p.startswith("Pipeline/Pipeline/") for p in paths), "the pipeline stack is checked"
    for stage in ("dev", "staging", "prod-eu-west-1", "prod-eu-central-1"):
        assert any(p.startswith(f"Pipeline/{stage}/") for p in paths), f"stage {stage} is checked"


def test_application_stages_have_no_unacknowledged_findings(report: dict[str, Any]) -> None:
    stages = ("dev", "staging", "prod-eu-west-1", "prod-eu-central-1")
    open_in_stages = [v for v in _violations(report) if v[2].startswith(tuple(f"Pipeline/{s}/" for s in stages))]
    assert open_in_stages == []


def test_acknowledged_findings_keep_their_reason_in_the_report(report: dict[str, Any]) -> None:
    suppressed = [
        violation for plugin in report["pluginReports"] for violation in plugin.get("suppressedViolations", [])
    ]
    assert suppressed
    reasons = {entry.reason for entry in ACKNOWLEDGMENTS}
    for violation in suppressed:
        assert violation["reason"] in reasons
        assert violation["acknowledgedAt"] == violation["violatingConstructs"][0]["constructPath"]


def test_pipeline_findings_are_reported_with_their_pack_severity(report: dict[str, Any]) -> None:
    pipeline = [
        violation
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        if violation["violatingConstructs"][0]["constructPath"].startswith("Pipeline/Pipeline/")
    ]
    for violation in pipeline:
        assert violation["severity"] == "info"
        assert violation["ruleMetadata"]["originalSeverity"] in ("error", "warning")


def test_registry_entries_name_exact_findings_and_resources() -> None:
    for entry in ACKNOWLEDGMENTS:
        check_entry(entry)
        assert all(path.endswith("/Resource") for path in entry.resources), entry.finding


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
    attach_compliance(app, [(stage, "dev")], registry)
    return app


def test_a_bad_resource_in_a_stage_fails_synth(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"ValidationFailed: (.|\n)*AwsSolutions-S10"):
        _small_app(tmp_path, bad_bucket=True, registry=()).synth()


def test_an_acknowledgment_that_matches_no_finding_is_stale(tmp_path: Path) -> None:
    stale_entry = Acknowledgment(
        pack="AwsSolutions", finding="AwsSolutions-SMG4", resources=("Items/Setting/Resource",), reason=GOOD_REASON
    )
    app = _small_app(tmp_path, bad_bucket=False, registry=())
    applied = attach_compliance(app, [(app.node.find_child("dev"), "dev")], (stale_entry,))  # type: ignore[list-item]
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
