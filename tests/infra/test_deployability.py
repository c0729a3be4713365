"""Deployability (rung 7): for every edge between services found in the synthesized templates, every
policy AWS evaluates allows the call, in every supported account layout; no wiring fault and no AWS limit
would fail a deployment; and each check is real, since removing what allows a call denies it."""

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from compliance.deployability.edges import Findings, check, iter_denied
from compliance.deployability.limits import excesses
from compliance.deployability.policy import Principal, Request, is_allowed
from compliance.deployability.template import Assembly
from compliance.deployability.world import Located, World
from tests.synth_fixtures import TOPOLOGIES, Synthesized

LAYOUTS = ("default", *sorted(TOPOLOGIES))
# The edges the system relies on (DESIGN's list, by the names edges.py gives them): each must be found.
REQUIRED_EDGES = {
    "alarm -> topic",
    "rule -> target",
    "rule -> dead-letter queue",
    "bucket -> EventBridge",
    "bucket -> access-log bucket",
    "event source -> function",
    "API Gateway -> function",
    "API Gateway -> access log group",
    "CodeDeploy -> alias",
    "CodeDeploy -> hooks",
    "CodeDeploy -> topic",
    "hooks -> CodeDeploy",
    "hooks -> new version",
    "hooks -> synthetic traffic",
    "synthetic traffic -> alias",
    "function -> logs",
    "function -> environment key",
    "function -> failure queue",
    "function -> queue",
    "CloudWatch Logs -> log group key",
    "WAF -> log group",
    "pipeline -> action role",
    "source -> connection",
    "build -> evidence bucket",
    "build -> report group",
    "build -> stage deploy role",
    "build -> stage secret",
    "CloudFormation -> dynamic reference",
    "deploy role -> artifacts",
    "pipeline -> replication bucket",
    "approval -> topic",
    "notifications -> topic",
    "pipeline -> rule role",
    "rule -> alarm",
    "rule -> deployment window",
    "build -> baselines",
    "smoke tests -> baselines",
}


@pytest.fixture(scope="module")
def outdirs(synthesized: Synthesized, topology_outdirs: dict[str, Path]) -> dict[str, Path]:
    return {"default": synthesized.outdir, **topology_outdirs}


@pytest.fixture(scope="module")
def checked(outdirs: dict[str, Path]) -> dict[str, tuple[Findings, set[str]]]:
    return {layout: check(World.load(outdir)) for layout, outdir in outdirs.items()}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_call_between_services_is_allowed_by_every_policy_aws_evaluates(
    checked: dict[str, tuple[Findings, set[str]]], layout: str
) -> None:
    findings, _ = checked[layout]
    assert list(iter_denied(findings)) == []


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_wiring_fault_would_fail_a_deployment(checked: dict[str, tuple[Findings, set[str]]], layout: str) -> None:
    findings, _ = checked[layout]
    assert [p.describe() for p in findings.problems] == []


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_template_exceeds_an_aws_limit(outdirs: dict[str, Path], layout: str) -> None:
    assert [e.describe() for stack in Assembly.load(outdirs[layout]) for e in excesses(stack)] == []


def test_every_edge_the_system_relies_on_is_found_and_checked(checked: dict[str, tuple[Findings, set[str]]]) -> None:
    findings, wiring = checked["default"]
    assert REQUIRED_EDGES - (findings.edges() | wiring) == set()
    counts = Counter(call.edge for call in findings.calls)
    # Every alarm with actions, in every stage, is checked (one call to publish, two for the key).
    alarms_with_actions = 15 * 4
    assert counts["alarm -> topic"] >= alarms_with_actions * 2 * 3


def test_removing_the_statements_that_allow_a_call_denies_it(checked: dict[str, tuple[Findings, set[str]]]) -> None:
    findings, _ = checked["default"]
    single = 0
    for call in findings.calls:
        allowing = call.allowing_statements()
        assert allowing, call.describe()
        assert not call.without(*allowing).decision(), f"{call.describe()} is still allowed without {allowing}"
        if len(allowing) == 1:
            single += 1
    assert single > len(findings.calls) / 2


# --- the defects this rung exists for: each would fail a first deployment ------------------------------------


def _world_with(outdir: Path, change: Any) -> World:
    """The default assembly with one template changed in memory."""
    assembly = Assembly.load(outdir)
    for stack in assembly:
        stack.template = copy.deepcopy(stack.template)
        change(stack)
    pipeline = next(s for s in assembly if s.artifact_id == "Pipeline")
    return World(assembly, pipeline.account)


def _denied_edges(world: World) -> Counter[str]:
    """Denied calls by edge, and by edge and action."""
    findings, _ = check(world)
    denied = [call for call, _ in findings.denied()]
    return Counter([c.edge for c in denied] + [f"{c.edge} {c.request.action}" for c in denied])


def test_alarms_could_not_notify_without_the_topic_statement_for_cloudwatch(synthesized: Synthesized) -> None:
    def drop_statement(stack: Any) -> None:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::SNS::TopicPolicy":
                document = resource["Properties"]["PolicyDocument"]
                document["Statement"] = [
                    s for s in document["Statement"] if s.get("Sid") != "AllowTheseAlarmsToPublish"
                ]

    denied = _denied_edges(_world_with(synthesized.outdir, drop_statement))
    assert denied["alarm -> topic"] == 15 * 4 * 2  # every action of every alarm of every stage


def test_the_old_action_prefix_cannot_use_a_codeconnections_connection(synthesized: Synthesized) -> None:
    def old_prefix(stack: Any) -> None:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy":
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    if statement["Action"] == "codeconnections:UseConnection":
                        statement["Action"] = "codestar-connections:UseConnection"

    assert _denied_edges(_world_with(synthesized.outdir, old_prefix))["source -> connection"] == 1


def test_a_deploy_role_that_may_not_read_the_artifacts_is_found(synthesized: Synthesized) -> None:
    def no_cross_account_read(stack: Any) -> None:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::S3::BucketPolicy":
                document = resource["Properties"]["PolicyDocument"]
                document["Statement"] = [s for s in document["Statement"] if "deploy-role" not in json.dumps(s)]

    denied = _denied_edges(_world_with(synthesized.outdir, no_cross_account_read))
    # Staging and both prod regions read across accounts; dev's role shares the pipeline's account but has no
    # S3 permission of its own on the artifact bucket, so it needs the bucket policy as much.
    assert denied["deploy role -> artifacts"] == 4


def test_a_hook_that_may_not_report_leaves_the_deployment_hanging(synthesized: Synthesized) -> None:
    def no_report(stack: Any) -> None:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy":
                document = resource["Properties"]["PolicyDocument"]
                document["Statement"] = [
                    s for s in document["Statement"] if "PutLifecycleEventHookExecutionStatus" not in json.dumps(s)
                ]

    denied = _denied_edges(_world_with(synthesized.outdir, no_report))
    # Both hooks, for the three deployment groups, in the four stages.
    assert denied["hooks -> CodeDeploy codedeploy:PutLifecycleEventHookExecutionStatus"] == 2 * 3 * 4


def test_a_bake_could_not_read_stagings_alarm_without_the_pipeline_roles_statement(synthesized: Synthesized) -> None:
    def no_assume(stack: Any) -> None:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy":
                document = resource["Properties"]["PolicyDocument"]
                document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "ReadTheAlarmsBakesWatch"]

    denied = _denied_edges(_world_with(synthesized.outdir, no_assume))
    assert denied["pipeline -> rule role sts:AssumeRole"] == 1  # staging's one region


def test_a_bake_on_an_alarm_its_stage_does_not_have_is_found(synthesized: Synthesized) -> None:
    def rename_alarm(stack: Any) -> None:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::CloudWatch::CompositeAlarm":
                resource["Properties"]["AlarmName"] = "renamed"

    findings, _ = check(_world_with(synthesized.outdir, rename_alarm))
    problems = [p.describe() for p in findings.problems if p.edge == "rule -> alarm"]
    assert len(problems) == 1
    assert "no alarm 'items-staging-release-health' in account 222222222222 eu-west-1" in problems[0]


def test_the_build_could_not_fetch_baselines_without_its_read_statement(synthesized: Synthesized) -> None:
    def no_read(stack: Any) -> None:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy":
                document = resource["Properties"]["PolicyDocument"]
                document["Statement"] = [s for s in document["Statement"] if s["Action"] != "s3:GetObject"]

    denied = _denied_edges(_world_with(synthesized.outdir, no_read))
    assert denied["build -> baselines s3:GetObject"] > 0
    assert denied["build -> baselines s3:ListBucket"] == 0


def _drop_statement(sid: str) -> Any:
    def change(stack: Any) -> None:
        for resource in stack.template["Resources"].values():
            for document in (
                resource.get("Properties", {}).get("ResourcePolicy"),
                resource.get("Properties", {}).get("KeyPolicy"),
            ):
                if document:
                    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]

    return change


def test_smoke_tests_could_not_read_their_identity_across_accounts_without_the_secrets_policy(
    synthesized: Synthesized,
) -> None:
    denied = _denied_edges(_world_with(synthesized.outdir, _drop_statement("PostDeployTestsReadTheIdentity")))
    # Staging and both prod regions are other accounts; dev's role reads in its own account through IAM alone.
    assert denied["build -> stage secret secretsmanager:GetSecretValue"] == 3


def test_smoke_tests_could_not_decrypt_their_identity_across_accounts_without_the_key_statement(
    synthesized: Synthesized,
) -> None:
    denied = _denied_edges(_world_with(synthesized.outdir, _drop_statement("PostDeployTestsDecryptTheIdentity")))
    assert denied["build -> stage secret kms:Decrypt"] == 3


def _identities(world: World) -> dict[tuple[str, str], Located]:
    """Each stage's identity secret, by its stack's account and region."""
    return {
        (secret.stack.account, secret.stack.region): secret
        for secret in world.resources("AWS::SecretsManager::Secret")
        if secret.logical_id.startswith("SmokeTestIdentitySecret")
    }


@pytest.mark.parametrize("layout", ["default", "one account"])
def test_of_every_role_we_deploy_only_its_stages_smoke_test_role_may_read_an_identity(
    outdirs: dict[str, Path], layout: str
) -> None:
    """The pipeline's roles and every stage's roles, each against each stage's identity secret (in the
    stage's account, principals that IAM lets read any secret, such as administrators, still can)."""
    world = World.load(outdirs[layout])
    roles = list(world.resources("AWS::IAM::Role"))
    readers = set()
    for (account, region), secret in _identities(world).items():
        environment = secret.stack.name.removesuffix("-items")
        for role in roles:
            request = Request(Principal.iam(role.arn()), "secretsmanager:GetSecretValue", secret.arn())
            if is_allowed(request, world.identity_policies(role), world.secret_policy(secret), account):
                readers.add((role.arn().rsplit("/", 1)[1], environment, region))
    assert readers == {
        (f"serverless-python-delivery-smoke-tests-{environment}-{region}", environment, region)
        for environment, region in {
            (s.stack.name.removesuffix("-items"), s.stack.region) for s in _identities(world).values()
        }
    }
