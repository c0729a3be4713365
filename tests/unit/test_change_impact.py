"""The change-impact classifier (compliance/impact/): golden template pairs, the stateful-change gate and its
acknowledgments, baselines as the pipeline records them, and the lines and files of the report."""

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from compliance.impact.acknowledgments import StatefulAcknowledgmentError, StatefulChangeAcknowledgment
from compliance.impact.assembly import build_impact, impact_against_baseline
from compliance.impact.classify import compare, replacing_properties
from compliance.impact.model import Baseline
from compliance.impact.render import (
    longest_impact_line,
    render_gate_failures,
    render_html_section,
    render_json,
    render_markdown,
    render_one_line,
)
from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "impact"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
REASON = (
    "The new sort key replaces the table; the runbook exports every item before the deployment and imports "
    "them into the new table before traffic shifts."
)


def _pair(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return (json.loads((FIXTURES / case / name).read_text()) for name in ("old.json", "new.json"))  # type: ignore[return-value]


def _changes(case: str) -> list[dict[str, Any]]:
    old, new = _pair(case)
    # As JSON holds them: the golden files are JSON, tuples become lists.
    result: list[dict[str, Any]] = json.loads(json.dumps([dataclasses.asdict(c) for c in compare(old, new)]))
    return result


@pytest.mark.parametrize("case", CASES)
def test_each_fixture_pair_is_classified_as_its_golden_file_says(case: str) -> None:
    assert _changes(case) == json.loads((FIXTURES / case / "expected.json").read_text())


def test_added_modified_and_removed_resources_are_told_apart() -> None:
    kinds = {c["logical_id"]: c["change"] for c in _changes("add_modify_remove")}
    assert kinds == {"AuditTopic3A4B5C6D": "added", "JobsQueue1A2B3C4D": "modified", "DashboardC9D0E1F2": "removed"}
    (queue,) = [c for c in _changes("add_modify_remove") if c["change"] == "modified"]
    assert queue["properties"] == ["VisibilityTimeout"]


def test_a_new_sort_key_replaces_the_table_and_the_retained_old_one_keeps_the_data() -> None:
    (table,) = _changes("table_key_schema")
    assert (table["change"], table["replacing"], table["stateful"], table["retained"]) == (
        "replaced",
        ["KeySchema"],
        True,
        True,
    )


def test_replacement_comes_from_the_resource_schemas_cfn_lint_ships() -> None:
    assert ("TableName",) in (replacing_properties("AWS::DynamoDB::Table") or ())
    assert ("KeySchema",) in (replacing_properties("AWS::DynamoDB::Table") or ())  # conditionally create-only
    assert ("BucketName",) in (replacing_properties("AWS::S3::Bucket") or ())
    assert replacing_properties("AWS::Nothing::Here") is None


def test_a_removed_bucket_is_a_stateful_removal_whose_own_tls_deny_is_not_reported() -> None:
    changes = {c["logical_id"]: c for c in _changes("bucket_removal")}
    bucket = changes["UploadsBucket2B3C4D5E"]
    assert (bucket["change"], bucket["stateful"], bucket["retained"]) == ("removed", True, False)
    assert changes["UploadsBucketPolicy6F7A8B9C"]["permissions"] == []


def test_an_action_widened_to_star_is_permission_broadening() -> None:
    (policy,) = _changes("iam_action_wildcard")
    assert policy["permissions"] == [{"kind": "wildcard", "detail": "attached:<FunctionRole0A1B2C3D> may s3:* on *"}]


def test_a_new_principal_in_a_key_policy_is_permission_broadening_of_the_key() -> None:
    (key,) = _changes("key_policy_principal")
    assert key["change"] == "modified"
    assert key["permissions"] == [
        {"kind": "new principal", "detail": "AWS:arn:aws:iam::444455556666:root may kms:Decrypt on (this key)"}
    ]


def test_a_resource_policy_that_drops_a_condition_or_gains_a_principal_broadens() -> None:
    (policy,) = _changes("resource_policy")
    assert [p["kind"] for p in policy["permissions"]] == ["condition removed", "new principal"]


def test_a_condition_added_to_a_grant_narrows_it_and_is_not_reported() -> None:
    old, new = _pair("resource_policy")
    narrowed = compare(new, old)  # the other way round: the condition comes back, the events grant goes
    assert [p.kind for c in narrowed for p in c.permissions] == []


def test_a_statement_moved_to_another_policy_of_the_same_role_is_no_broadening() -> None:
    old, _ = _pair("iam_action_wildcard")
    moved = json.loads(json.dumps(old))
    policy = moved["Resources"].pop("FunctionRoleDefaultPolicy8C9D0E1F")
    moved["Resources"]["FunctionRoleOtherPolicyAAAA0000"] = policy
    assert [p for c in compare(old, moved) for p in c.permissions] == []


def test_identical_templates_have_no_change() -> None:
    old, _ = _pair("table_key_schema")
    assert compare(old, old) == []


# --- stages, baselines and the gate ---------------------------------------------------------------------------


def _assembly(directory: Path, stage: str, templates: dict[str, dict[str, Any]]) -> Path:
    """A stage's recorded baseline (or assembly) directory: manifest.json naming each stack's template."""
    directory.mkdir(parents=True)
    artifacts = {}
    for name, template in templates.items():
        artifact_id = f"Pipeline{stage.replace('-', '')}{name.split('-')[-1].capitalize()}"
        (directory / f"{artifact_id}.template.json").write_text(json.dumps(template))
        artifacts[artifact_id] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://222222222222/eu-west-1",
            "properties": {"templateFile": f"{artifact_id}.template.json", "stackName": name},
        }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return directory


def _impact(tmp_path: Path, stage: str, acknowledgments: tuple[StatefulChangeAcknowledgment, ...] = ()) -> Any:
    old, new = _pair("table_key_schema")
    environment = stage.split("-")[0]
    before = _assembly(tmp_path / "old" / stage, stage, {f"{environment}-items": old})
    after = _assembly(tmp_path / "new" / stage, stage, {f"{environment}-items": new})
    return build_impact("abc", {stage: after}, {stage: before}, {stage: Baseline("test")}, acknowledgments)


@pytest.mark.parametrize("stage", ["staging", "prod-eu-west-1"])
def test_replacing_a_table_in_staging_or_prod_fails_the_gate(tmp_path: Path, stage: str) -> None:
    impact = _impact(tmp_path, stage)
    assert impact.passed is False
    (failure,) = render_gate_failures(impact)
    assert failure == (
        f"{stage.split('-')[0]} ({stage}): replaced stateful AWS::DynamoDB::Table items/DataItemsTable8A9B0C1D "
        "(retained, orphaned)"
    )


def test_replacing_a_table_in_dev_is_reported_but_not_gated(tmp_path: Path) -> None:
    impact = _impact(tmp_path, "dev")
    assert impact.passed is True
    assert impact.environment("dev").counts()["stateful replaced or removed"] == 1  # type: ignore[union-attr]


def test_a_reviewed_acknowledgment_lets_the_replacement_through(tmp_path: Path) -> None:
    entry = StatefulChangeAcknowledgment("items", "DataItemsTable8A9B0C1D", "replaced", REASON, "jane.doe")
    impact = _impact(tmp_path, "staging", (entry,))
    assert impact.passed is True
    assert impact.unused_acknowledgments == ()
    assert "acknowledged by jane.doe: The new sort key" in render_markdown(impact, "now")


def test_an_acknowledgment_for_prod_only_does_not_cover_staging(tmp_path: Path) -> None:
    entry = StatefulChangeAcknowledgment(
        "items", "DataItemsTable8A9B0C1D", "replaced", REASON, "jane.doe", environments=("prod",)
    )
    impact = _impact(tmp_path, "staging", (entry,))
    assert impact.passed is False
    assert impact.unused_acknowledgments == ("replaced items/DataItemsTable8A9B0C1D in prod",)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (StatefulChangeAcknowledgment("items", "T", "replaced", "fine", "jane.doe"), "the reason must say"),
        (StatefulChangeAcknowledgment("items", "T", "replaced", REASON, " "), "reviewed_by must name"),
        (StatefulChangeAcknowledgment("items", "T", "replaced", REASON, "jane", ("dev",)), "environments must be"),
    ],
)
def test_an_acknowledgment_an_auditor_could_not_accept_is_refused(
    tmp_path: Path, entry: StatefulChangeAcknowledgment, problem: str
) -> None:
    with pytest.raises(StatefulAcknowledgmentError, match=problem):
        _impact(tmp_path, "staging", (entry,))


def test_a_recorded_baseline_names_the_release_it_came_from(tmp_path: Path) -> None:
    old, new = _pair("add_modify_remove")
    recorded = _assembly(tmp_path / "baseline" / "dev", "dev", {"dev-items": old})
    (recorded / "release.json").write_text(
        '{"commit": "0123abc", "execution": "e-1", "recordedAt": "2026-01-02T03:04:05Z"}'
    )
    cdk_out = tmp_path / "cdk.out"
    _assembly(cdk_out / "assembly-Pipeline-dev", "dev", {"dev-items": new})
    (cdk_out / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "assembly-Pipeline-dev": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": "assembly-Pipeline-dev"},
                    }
                }
            }
        )
    )
    impact = impact_against_baseline("head", cdk_out, tmp_path / "baseline")
    (dev,) = impact.environment("dev").stages  # type: ignore[union-attr]
    assert (dev.baseline.commit, dev.baseline.execution) == ("0123abc", "e-1")  # type: ignore[union-attr]
    assert "commit 0123abc, execution e-1, recorded 2026-01-02T03:04:05Z" in render_markdown(impact, "now")
    pipeline = impact.environment("pipeline")
    assert pipeline is not None
    assert pipeline.stages[0].baseline is None, "nothing recorded for the pipeline: its first release"


def test_the_approval_line_counts_prods_changes_once_however_many_regions(tmp_path: Path) -> None:
    old, new = _pair("add_modify_remove")
    stages = {}
    for region in ("prod-eu-west-1", "prod-eu-central-1"):
        stages[region] = (
            _assembly(tmp_path / "old" / region, region, {"prod-items": old}),
            _assembly(tmp_path / "new" / region, region, {"prod-items": new}),
        )
    impact = build_impact(
        "abc",
        {s: pair[1] for s, pair in stages.items()},
        {s: pair[0] for s, pair in stages.items()},
        dict.fromkeys(stages, Baseline("test")),
    )
    assert render_one_line(impact) == (
        "1 added, 1 modified, 1 removed, 0 replaced (0 stateful), 0 permission broadened, 0 deployment settings; "
        "details: change-impact.md\n"
    )


def test_without_any_baseline_the_approval_line_says_it_is_the_first_release() -> None:
    impact = build_impact("abc", {}, {}, {})
    assert render_one_line(impact).startswith("no baseline for prod yet (its first release), nothing to compare")


def test_the_longest_approval_line_has_four_digit_counts() -> None:
    assert longest_impact_line().startswith("9999 added, 9999 modified, 9999 removed, 9999 replaced")


def test_the_json_and_html_report_every_change_with_its_status(tmp_path: Path) -> None:
    impact = _impact(tmp_path, "staging")
    document = json.loads(render_json(impact, "2026-01-01T00:00:00Z"))
    (change,) = document["environments"][0]["stages"][0]["stacks"][0]["changes"]
    assert (change["change"], change["blocking"], change["replacing"]) == ("replaced", True, ["KeySchema"])
    html = render_html_section(impact)
    assert 'id="impact-status">FAILED' in html
    assert "BLOCKING: needs an entry in compliance/impact/acknowledgments.py" in html
