"""The audit bundle, generated from a recorded cdk.out (tests/fixtures/audit_cdk_out), in every format."""

import csv
import io
import json
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from compliance.report.catalogue import rule_catalogue
from compliance.report.cfn_lint import LintFinding
from compliance.report.collect import collect
from compliance.report.model import Audit
from compliance.report.render import (
    CODEBUILD_MAX_TEST_CASES,
    RENDERERS,
    render_csv,
    render_json,
    render_junit,
    render_markdown,
    render_sarif,
    write_bundle,
)
from tests.conftest import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "audit_cdk_out"
SARIF_SCHEMA = REPO_ROOT / "node_modules" / "@microsoft" / "jest-sarif" / "lib" / "schemas" / "sarif-2.1.0-rtm.5.json"
LINT = [
    LintFinding(
        "E3703",
        "Error",
        "Pipeline.template.json",
        "Pipeline1",
        "AWS::CodePipeline::Pipeline",
        "Resources/Pipeline1/Properties",
        "Prefer using Fn::Sub",
        acknowledged_reason="a recorded reason",
    ),
    LintFinding(
        "W3005",
        "Warning",
        "Pipeline.template.json",
        "Role1ABCD234",
        "AWS::IAM::Role",
        "Resources/Role1ABCD234/DependsOn/0",
        "dependency already enforced",
    ),
]
AWS_RULES = sum(1 for r in rule_catalogue().values() if r.pack == "AwsSolutions")
NIST_RULES = sum(1 for r in rule_catalogue().values() if r.pack == "NIST.800.53.R5")


@pytest.fixture
def audit(monkeypatch: pytest.MonkeyPatch) -> Audit:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795305600")
    monkeypatch.setenv("CODEBUILD_RESOLVED_SOURCE_VERSION", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("PIPELINE_EXECUTION_ID", "11111111-2222-3333-4444-555555555555")
    return collect(FIXTURE, lint=LINT)


def test_findings_are_read_with_status_stack_and_environment(audit: Audit) -> None:
    rows = [(f.pack, f.finding_id, f.status, f.stack.environment, f.stack.stack_name) for f in audit.findings]
    assert rows == [
        ("AwsSolutions", "AwsSolutions-IAM5[Resource::*]", "open", "pipeline", "demo-pipeline"),
        ("AwsSolutions", "AwsSolutions-SMG4", "acknowledged", "dev", "dev-items"),
        ("AwsSolutions", "AwsSolutions-SQS3", "acknowledged", "dev", "dev-items"),
        ("NIST.800.53.R5", "NIST.800.53.R5-SecretsManagerRotationEnabled", "open", "dev", "dev-items"),
    ]
    assert audit.packs == {"AwsSolutions": "gate", "NIST.800.53.R5": "report"}
    assert not audit.passed, "an open finding of a gating pack fails the gate"


def test_summary_counts_compliant_rules_acknowledged_and_open_per_stack_and_pack(audit: Audit) -> None:
    summary = {(r.stack.stack_name, r.pack): (r.compliant_rules, r.acknowledged, r.open) for r in audit.summary}
    assert summary == {
        ("demo-pipeline", "AwsSolutions"): (AWS_RULES - 1, 0, 1),
        ("demo-pipeline", "NIST.800.53.R5"): (NIST_RULES, 0, 0),
        ("dev-items", "AwsSolutions"): (AWS_RULES - 2, 2, 0),
        ("dev-items", "NIST.800.53.R5"): (NIST_RULES - 1, 0, 1),
    }


def test_json_carries_commit_versions_and_every_finding(audit: Audit) -> None:
    document = json.loads(render_json(audit))
    assert document["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert document["generatedAt"] == "2026-11-22T00:00:00Z"
    assert document["pipelineExecution"] == "11111111-2222-3333-4444-555555555555"
    assert set(document["versions"]) == {"aws-cdk-lib", "cdk-nag", "cfn-lint", "aws-cdk (CLI)"}
    assert Counter(f["status"] for f in document["findings"]) == {"open": 2, "acknowledged": 2}
    smg4 = next(f for f in document["findings"] if f["ruleId"] == "AwsSolutions-SMG4")
    assert smg4["justification"].startswith("The secret is a fixture value")
    assert smg4["explanation"], "the rule text comes from cdk-nag's own catalogue"
    assert len(document["cfnLint"]) == 2


def test_csv_has_the_classic_cdk_nag_columns_plus_environment_and_stack(audit: Audit) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(audit))))
    assert list(rows[0]) == [
        "Rule ID",
        "Resource ID",
        "Compliance",
        "Exception Reason",
        "Rule Level",
        "Rule Info",
        "Environment",
        "Stack",
    ]
    assert Counter(r["Compliance"] for r in rows) == {"Non-Compliant": 2, "Suppressed": 2}
    assert {r["Environment"] for r in rows} == {"pipeline", "dev (eu-west-1)"}
    queue = next(r for r in rows if r["Rule ID"] == "AwsSolutions-SQS3")
    assert (
        queue["Exception Reason"] == "The queue is itself a dead-letter queue <of the fixture> & needs no second one."
    )


def test_sarif_is_valid_against_the_official_2_1_0_schema(audit: Audit) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    document = json.loads(render_sarif(audit))
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    assert document["version"] == "2.1.0"


def test_sarif_marks_acknowledged_findings_as_accepted_suppressions(audit: Audit) -> None:
    runs = {run["tool"]["driver"]["name"]: run for run in json.loads(render_sarif(audit))["runs"]}
    assert set(runs) == {"cdk-nag AwsSolutions", "cdk-nag NIST.800.53.R5", "cfn-lint"}
    aws = runs["cdk-nag AwsSolutions"]["results"]
    assert len(aws) == 3
    suppressed = [r for r in aws if r.get("suppressions")]
    assert len(suppressed) == 2
    assert all(r["suppressions"][0]["status"] == "accepted" for r in suppressed)
    assert [r["level"] for r in runs["cdk-nag NIST.800.53.R5"]["results"]] == ["note"], "report-only findings are notes"


def test_junit_has_a_case_per_rule_of_each_pack_and_per_template(audit: Audit) -> None:
    suites = ET.fromstring(render_junit(audit))  # noqa: S314 - XML this test just generated
    assert suites.get("failures") == "1"
    assert suites.get("skipped") == "1"
    assert int(suites.get("tests", "0")) == AWS_RULES + NIST_RULES + 2  # every rule, 2 templates
    (case,) = [c for c in suites.iter("testcase") if c.get("name") == "AwsSolutions-SMG4"]
    assert case.find("failure") is None
    assert "acknowledged AwsSolutions-SMG4 at dev" in (case.findtext("system-out") or "")
    assert "The secret is a fixture value" in (case.findtext("system-out") or "")


def test_junit_of_the_real_packs_fits_what_codebuild_keeps() -> None:
    rules = rule_catalogue()
    packs = {rule.pack for rule in rules.values()}
    assert sum(1 for rule in rules.values() if rule.pack in packs) + 20 <= CODEBUILD_MAX_TEST_CASES


def test_markdown_summary_fits_a_pull_request_comment(audit: Audit) -> None:
    markdown = render_markdown(audit)
    assert markdown.startswith("## Compliance FAILED — commit `0123456789ab`")
    assert "| AwsSolutions | gate | 1 | 2 |" in markdown
    assert "| dev (eu-west-1) | dev-items | 0 | 1 | 2 |" in markdown
    assert "cfn-lint: 0 errors, 1 warnings, 1 acknowledged." in markdown
    assert len(markdown) < 4000


def test_html_is_self_contained_and_escapes_what_it_shows(audit: Audit) -> None:
    html = RENDERERS["report.html"](audit)
    assert "<script" not in html
    assert "http://" not in html.replace("https://", "")
    assert "src=" not in html
    assert "<link" not in html
    assert "&lt;of the fixture&gt; &amp; needs" in html
    assert "<b>2</b>acknowledged findings" in html


def test_two_runs_of_the_same_commit_write_identical_files(tmp_path: Path, audit: Audit) -> None:
    first = write_bundle(audit, tmp_path / "one")
    second = write_bundle(collect(FIXTURE, lint=LINT), tmp_path / "two")
    for name in RENDERERS:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
