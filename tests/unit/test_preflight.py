"""The checks before the first deployment, against stubbed AWS answers of the documented shapes."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from config.loading import parse_config
from tools import preflight

PIPELINE_ACCOUNT = "111111111111"


def _config(**environment_changes: Any) -> Any:
    raw = json.loads((preflight.REPO_ROOT / "cdk.json").read_text())["context"]["config"]
    raw["pipeline"]["approval_emails"] = ["approvers@example.com"]
    raw["environments"]["prod"]["alarms"]["emails"] = ["oncall@example.com"]
    for name, changes in environment_changes.items():
        if name == "pipeline":
            raw["pipeline"].update(changes)
        else:
            raw["environments"][name].update(changes)
    return parse_config(raw)


class Aws:
    """Real boto3 clients with a Stubber each, handed out by (service, region)."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubs: dict[tuple[str, str], Stubber] = {}

    def __call__(self, service: str, region: str) -> Any:
        return self.client(service, region)

    def client(self, service: str, region: str = "eu-west-1") -> Any:
        key = (service, region)
        if key not in self.clients:
            self.clients[key] = boto3.client(service, region_name=region)
            self.stubs[key] = Stubber(self.clients[key])
            self.stubs[key].activate()
        return self.clients[key]

    def stub(self, service: str, region: str = "eu-west-1") -> Stubber:
        self.client(service, region)
        return self.stubs[(service, region)]

    def caller(self, account: str, region: str = "eu-west-1") -> None:
        self.stub("sts", region).add_response(
            "get_caller_identity",
            {"Account": account, "Arn": f"arn:aws:iam::{account}:role/admin", "UserId": "AROAEXAMPLE"},
        )

    def bootstrap(self, account: str, region: str, version: int, trusted: list[str]) -> None:
        self.stub("ssm", region).add_response(
            "get_parameter",
            {"Parameter": {"Name": "/cdk-bootstrap/hnb659fds/version", "Value": str(version), "Type": "String"}},
            {"Name": "/cdk-bootstrap/hnb659fds/version"},
        )
        self.stub("iam", region).add_response(
            "list_attached_role_policies",
            {
                "AttachedPolicies": [
                    {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
                ]
            },
            {"RoleName": f"cdk-hnb659fds-cfn-exec-role-{account}-{region}"},
        )
        document = {
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a}:root"}, "Action": "sts:AssumeRole"}
                for a in [account, *trusted]
            ]
        }
        if trusted:
            self.stub("iam", region).add_response(
                "get_role",
                {
                    "Role": {
                        "Path": "/",
                        "RoleName": f"cdk-hnb659fds-deploy-role-{account}-{region}",
                        "RoleId": "AROAEXAMPLEEXAMPLEEX",
                        "Arn": f"arn:aws:iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-{region}",
                        "CreateDate": "2026-01-01T00:00:00Z",
                        "AssumeRolePolicyDocument": json.dumps(document),
                    }
                },
            )

    def concurrency(self, region: str, limit: int) -> None:
        self.stub("lambda", region).add_response(
            "get_account_settings",
            {"AccountLimit": {"ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": limit}},
        )

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def aws() -> Iterator[Aws]:
    stubbed = Aws()
    yield stubbed
    stubbed.verify()


def _lines(results: Any) -> list[str]:
    return [("ok " if r.ok else "FAIL ") + r.line for r in results]


def test_a_bootstrapped_trusting_prod_account_with_its_quota_passes(aws: Aws) -> None:
    aws.caller("333333333333")
    for region in ("eu-west-1", "eu-central-1"):
        aws.bootstrap("333333333333", region, preflight.pinned_bootstrap_version(), [PIPELINE_ACCOUNT])
        aws.concurrency(region, 1000)
    results = list(preflight.environment_checks(_config(), "prod", aws))
    assert all(r.ok for r in results), _lines(results)
    assert len(results) == 1 + 2 * 3 + 1


def test_a_fresh_account_quota_of_ten_fails_with_what_to_do(aws: Aws) -> None:
    aws.caller("222222222222")
    aws.bootstrap("222222222222", "eu-west-1", preflight.pinned_bootstrap_version(), [PIPELINE_ACCOUNT])
    aws.concurrency("eu-west-1", 10)
    (*_, quota) = preflight.environment_checks(_config(), "staging", aws)
    assert not quota.ok
    assert "Lambda concurrency quota is 10; the configuration reserves 20" in quota.line
    assert "--quota-code L-B99A9384" in quota.line
    assert "set reserved_concurrency to null and lambda_concurrency_quota to 10" in quota.line


def test_a_dev_account_that_reserves_nothing_passes_with_a_quota_of_ten(aws: Aws) -> None:
    aws.caller(PIPELINE_ACCOUNT)
    aws.bootstrap(PIPELINE_ACCOUNT, "eu-west-1", preflight.pinned_bootstrap_version(), [])
    aws.concurrency("eu-west-1", 10)
    config = _config(dev={"lambda_concurrency_quota": 10})
    assert all(r.ok for r in preflight.environment_checks(config, "dev", aws))


def test_an_account_that_does_not_trust_the_pipeline_fails_with_the_bootstrap_command(aws: Aws) -> None:
    aws.caller("222222222222")
    aws.bootstrap("222222222222", "eu-west-1", preflight.pinned_bootstrap_version(), ["999999999999"])
    aws.concurrency("eu-west-1", 1000)
    failed = [r for r in preflight.environment_checks(_config(), "staging", aws) if not r.ok]
    assert [r.line.split(":")[0] for r in failed] == [
        "222222222222 eu-west-1 does not trust the pipeline account 111111111111"
    ]
    assert "--trust 111111111111" in failed[0].line


def test_an_old_bootstrap_stack_fails(aws: Aws) -> None:
    aws.caller("222222222222")
    aws.bootstrap("222222222222", "eu-west-1", 6, [PIPELINE_ACCOUNT])
    aws.concurrency("eu-west-1", 1000)
    failed = [r.line for r in preflight.environment_checks(_config(), "staging", aws) if not r.ok]
    assert failed == [
        f"222222222222 eu-west-1 bootstrap version 6 < {preflight.pinned_bootstrap_version()}: "
        "bootstrap again with `npx cdk`"
    ]


def test_an_unbootstrapped_account_fails(aws: Aws) -> None:
    aws.caller("222222222222")
    aws.stub("ssm").add_client_error("get_parameter", service_error_code="ParameterNotFound")
    aws.concurrency("eu-west-1", 1000)
    failed = [r.line for r in preflight.environment_checks(_config(), "staging", aws) if not r.ok]
    assert failed == [
        "222222222222 eu-west-1 is not bootstrapped: run `npx cdk bootstrap aws://222222222222/eu-west-1`"
    ]


def test_credentials_of_another_account_stop_the_checks(aws: Aws) -> None:
    aws.caller("444455556666")
    (result,) = preflight.environment_checks(_config(), "staging", aws)
    assert result.line == (
        "credentials are for account 444455556666, but environments.staging.account is 222222222222: switch credentials"
    )


def _git(status: str = "", head: str = "a" * 40, upstream: str = "a" * 40) -> Any:
    answers = {"status": status, "rev-parse": None}

    def git(*arguments: str) -> str:
        if arguments[0] == "status":
            return str(answers["status"])
        return (head if arguments[1] == "HEAD" else upstream) + "\n"

    return git


def _connection(aws: Aws, status: str) -> None:
    arn = _config().pipeline.connection_arn
    aws.stub("codeconnections").add_response(
        "get_connection",
        {"Connection": {"ConnectionArn": arn, "ConnectionStatus": status, "ConnectionName": "github"}},
        {"ConnectionArn": arn},
    )


def _notification_role(aws: Aws, exists: bool = True) -> None:
    if exists:
        aws.stub("iam").add_response(
            "get_role",
            {
                "Role": {
                    "Path": "/aws-service-role/codestar-notifications.amazonaws.com/",
                    "RoleName": "AWSServiceRoleForCodeStarNotifications",
                    "RoleId": "AROAEXAMPLEEXAMPLEEY",
                    "Arn": "arn:aws:iam::111111111111:role/aws-service-role/codestar-notifications.amazonaws.com/"
                    "AWSServiceRoleForCodeStarNotifications",
                    "CreateDate": "2026-01-01T00:00:00Z",
                }
            },
            {"RoleName": "AWSServiceRoleForCodeStarNotifications"},
        )
    else:
        aws.stub("iam").add_client_error("get_role", service_error_code="NoSuchEntity", http_status_code=404)


def test_the_pipeline_is_deployed_from_a_committed_pushed_tree_with_an_available_connection(aws: Aws) -> None:
    aws.caller(PIPELINE_ACCOUNT)
    _connection(aws, "AVAILABLE")
    _notification_role(aws)
    aws.bootstrap(PIPELINE_ACCOUNT, "eu-west-1", preflight.pinned_bootstrap_version(), [])
    results = list(preflight.pipeline_checks(_config(), aws, _git()))
    assert all(r.ok for r in results), _lines(results)


def test_a_pending_connection_fails_with_where_to_complete_it(aws: Aws) -> None:
    aws.caller(PIPELINE_ACCOUNT)
    _connection(aws, "PENDING")
    _notification_role(aws)
    aws.bootstrap(PIPELINE_ACCOUNT, "eu-west-1", preflight.pinned_bootstrap_version(), [])
    failed = [r.line for r in preflight.pipeline_checks(_config(), aws, _git()) if not r.ok]
    assert len(failed) == 1
    assert "is PENDING: complete it in the console" in failed[0]


def test_uncommitted_or_unpushed_work_fails() -> None:
    assert "uncommitted changes" in preflight.check_committed_and_pushed("main", _git(status=" M cdk.json")).line
    unpushed = preflight.check_committed_and_pushed("main", _git(upstream="b" * 40))
    assert not unpushed.ok
    assert "is not origin/main" in unpushed.line


def test_a_missing_notification_role_fails_with_the_command_that_creates_it(aws: Aws) -> None:
    aws.caller(PIPELINE_ACCOUNT)
    _connection(aws, "AVAILABLE")
    _notification_role(aws, exists=False)
    aws.bootstrap(PIPELINE_ACCOUNT, "eu-west-1", preflight.pinned_bootstrap_version(), [])
    failed = [r.line for r in preflight.pipeline_checks(_config(), aws, _git()) if not r.ok]
    assert len(failed) == 1
    assert "--aws-service-name codestar-notifications.amazonaws.com" in failed[0]


def test_nobody_to_approve_prod_fails() -> None:
    result = preflight.check_subscribers((), "pipeline.approval_emails", "the request to approve prod")
    assert not result.ok
    assert result.line.startswith("pipeline.approval_emails is empty: the request to approve prod would reach nobody")


def test_an_execution_role_without_policy_fails(aws: Aws) -> None:
    aws.caller("222222222222")
    aws.stub("ssm").add_response(
        "get_parameter",
        {"Parameter": {"Name": "/cdk-bootstrap/hnb659fds/version", "Value": "40", "Type": "String"}},
        {"Name": "/cdk-bootstrap/hnb659fds/version"},
    )
    aws.stub("iam").add_response("list_attached_role_policies", {"AttachedPolicies": []})
    aws.stub("iam").add_response(
        "get_role",
        {
            "Role": {
                "Path": "/",
                "RoleName": "cdk-hnb659fds-deploy-role-222222222222-eu-west-1",
                "RoleId": "AROAEXAMPLEEXAMPLEEX",
                "Arn": "arn:aws:iam::222222222222:role/cdk-hnb659fds-deploy-role-222222222222-eu-west-1",
                "CreateDate": "2026-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": '{"Statement": [{"Principal": {"AWS": "arn:aws:iam::111111111111:root"}}]}',
            }
        },
    )
    aws.concurrency("eu-west-1", 1000)
    failed = [r.line for r in preflight.environment_checks(_config(), "staging", aws) if not r.ok]
    assert len(failed) == 1
    assert "cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1 has no policy" in failed[0]
