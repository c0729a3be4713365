"""Checks before the one manual deployment, against the real accounts (credentials needed).

``python -m tools.preflight environment <name>`` runs in each environment's account, after
``cdk bootstrap``: the account is the configured one, its bootstrap stack is recent enough and trusts
the pipeline's account, and its Lambda concurrency quota holds what the configuration reserves. New
accounts often start with a quota of 10, which makes any reserved concurrency fail the first create and
leaves the stack in ROLLBACK_COMPLETE; this check finds it before the pipeline does.

``python -m tools.preflight pipeline`` runs in the pipeline's account before ``cdk deploy Pipeline``:
the working tree is committed and pushed (the pipeline builds from the repository, so what is deployed
by hand must be what it will build), the connection is AVAILABLE (a connection created by the CLI or
CloudFormation stays PENDING until someone completes the handshake in the console), and the pipeline's
account is bootstrapped.

Each check prints one line; any failure exits 1 with what to do.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

from compliance.deployability.world import BOOTSTRAP_TEMPLATE
from config.loading import committed_config
from config.schema import UNRESERVED_CONCURRENCY_FLOOR, AppConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
QUALIFIER = "hnb659fds"
QUOTA_CODE = "L-B99A9384"


def pinned_bootstrap_version() -> int:
    """The version of the pinned CDK CLI's bootstrap template: the deployability checks assume its roles and
    policies (compliance/deployability/world.py), so every account must be bootstrapped with it or newer."""
    template = yaml.safe_load(BOOTSTRAP_TEMPLATE.read_text(encoding="utf-8"))
    return int(template["Resources"]["CdkBootstrapVersion"]["Properties"]["Value"])


@dataclass(frozen=True)
class Result:
    ok: bool
    line: str


Clients = Callable[[str, str], Any]


def _boto3_clients(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


def caller_account(clients: Clients, region: str) -> str:
    return str(clients("sts", region).get_caller_identity()["Account"])


def check_account(clients: Clients, expected: str, region: str, key: str) -> Result:
    actual = caller_account(clients, region)
    if actual != expected:
        return Result(False, f"credentials are for account {actual}, but {key} is {expected}: switch credentials")
    return Result(True, f"credentials are for account {expected} ({key})")


def check_bootstrap(clients: Clients, account: str, region: str, trusted: str | None) -> Iterator[Result]:
    ssm = clients("ssm", region)
    try:
        version = int(ssm.get_parameter(Name=f"/cdk-bootstrap/{QUALIFIER}/version")["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        yield Result(False, f"{account} {region} is not bootstrapped: run `npx cdk bootstrap aws://{account}/{region}`")
        return
    required = pinned_bootstrap_version()
    if version < required:
        yield Result(
            False, f"{account} {region} bootstrap version {version} < {required}: bootstrap again with `npx cdk`"
        )
    else:
        yield Result(True, f"{account} {region} bootstrapped (version {version})")
    iam = clients("iam", region)
    execution_role = f"cdk-{QUALIFIER}-cfn-exec-role-{account}-{region}"
    if not iam.list_attached_role_policies(RoleName=execution_role)["AttachedPolicies"]:
        yield Result(
            False,
            f"{account} {region}: CloudFormation's execution role {execution_role} has no policy, so no deployment "
            "can create anything: bootstrap again with --cloudformation-execution-policies",
        )
    if trusted is None or trusted == account:
        return
    role = iam.get_role(RoleName=f"cdk-{QUALIFIER}-deploy-role-{account}-{region}")["Role"]
    document = role["AssumeRolePolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    if trusted in json.dumps(document):
        yield Result(True, f"{account} {region} trusts the pipeline account {trusted}")
    else:
        yield Result(
            False,
            f"{account} {region} does not trust the pipeline account {trusted}: run "
            f"`npx cdk bootstrap aws://{account}/{region} --trust {trusted} "
            "--cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess`",
        )


def check_concurrency(clients: Clients, config: AppConfig, account: str, region: str) -> Result:
    """The account's real quota must hold what every environment of this account and region reserves,
    plus the 100 Lambda keeps unreserved, and must not be below what the configuration assumes."""
    environments = [e for e in config.ordered_environments if e.account == account and region in e.regions]
    committed = sum(e.committed_concurrency for e in environments)
    assumed = min(e.lambda_concurrency_quota for e in environments)
    limit = int(clients("lambda", region).get_account_settings()["AccountLimit"]["ConcurrentExecutions"])
    needed = committed + UNRESERVED_CONCURRENCY_FLOOR if committed else 0
    keys = ", ".join(f"environments.{e.name}.lambda_concurrency_quota" for e in environments)
    if limit < needed or limit < assumed:
        return Result(
            False,
            f"{account} {region}: Lambda concurrency quota is {limit}; the configuration reserves {committed} "
            f"(+{UNRESERVED_CONCURRENCY_FLOOR} unreserved) and assumes {assumed} ({keys}). Request more with "
            f"`aws service-quotas request-service-quota-increase --service-code lambda --quota-code {QUOTA_CODE} "
            f"--desired-value 1000 --region {region}`, or set reserved_concurrency to null and "
            f"lambda_concurrency_quota to {limit}, commit, and run this again",
        )
    return Result(True, f"{account} {region}: Lambda concurrency quota {limit} holds {committed} reserved")


def check_notification_role(clients: Clients, region: str) -> Result:
    """CodeStar Notifications creates its service-linked role with the first notification rule of an
    account, and refuses rule creation until that role exists (up to 15 minutes): create it beforehand."""
    iam = clients("iam", region)
    try:
        iam.get_role(RoleName="AWSServiceRoleForCodeStarNotifications")
    except iam.exceptions.NoSuchEntityException:
        return Result(
            False,
            "CodeStar Notifications' service-linked role does not exist yet, and the pipeline's notification rule "
            "would fail to create: run `aws iam create-service-linked-role --aws-service-name "
            "codestar-notifications.amazonaws.com`, wait a few minutes, and run this again",
        )
    return Result(True, "CodeStar Notifications' service-linked role exists")


def check_subscribers(emails: tuple[str, ...], key: str, who: str) -> Result:
    if not emails:
        return Result(False, f"{key} is empty: {who} would reach nobody; add the addresses and commit")
    return Result(True, f"{key}: {len(emails)} subscriber(s) (each must confirm the e-mail AWS sends)")


def check_connection(clients: Clients, connection_arn: str, region: str) -> Result:
    service = "codeconnections" if ":codeconnections:" in connection_arn else "codestar-connections"
    status = clients(service, region).get_connection(ConnectionArn=connection_arn)["Connection"]["ConnectionStatus"]
    if status != "AVAILABLE":
        return Result(
            False,
            f"connection {connection_arn} is {status}: complete it in the console (Developer Tools > Settings > "
            "Connections > Update pending connection)",
        )
    return Result(True, f"connection is AVAILABLE ({connection_arn})")


def _git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=REPO_ROOT, capture_output=True, text=True, check=False).stdout


def check_committed_and_pushed(branch: str, git: Callable[..., str] = _git) -> Result:
    if git("status", "--porcelain").strip():
        return Result(
            False, "the working tree has uncommitted changes: commit them and push, the pipeline builds the repository"
        )
    head, upstream = git("rev-parse", "HEAD").strip(), git("rev-parse", f"origin/{branch}").strip()
    if head != upstream:
        return Result(False, f"HEAD {head[:12]} is not origin/{branch} ({upstream[:12] or 'unknown'}): push first")
    return Result(True, f"HEAD {head[:12]} is committed and pushed to {branch}")


def environment_checks(config: AppConfig, name: str, clients: Clients) -> Iterator[Result]:
    environment = config.environments[name]
    first = environment.regions[0]
    account = check_account(clients, environment.account, first, f"environments.{name}.account")
    yield account
    if not account.ok:
        return
    for region in environment.regions:
        yield from check_bootstrap(clients, environment.account, region, config.pipeline.account)
        yield check_concurrency(clients, config, environment.account, region)
    if environment.is_production:
        yield check_subscribers(environment.alarms.emails, f"environments.{name}.alarms.emails", "prod's alarms")


def pipeline_checks(config: AppConfig, clients: Clients, git: Callable[..., str] = _git) -> Iterator[Result]:
    pipeline = config.pipeline
    yield check_committed_and_pushed(pipeline.branch, git)
    account = check_account(clients, pipeline.account, pipeline.region, "pipeline.account")
    yield account
    if not account.ok:
        return
    yield check_connection(clients, pipeline.connection_arn, pipeline.region)
    yield check_notification_role(clients, pipeline.region)
    yield check_subscribers(pipeline.approval_emails, "pipeline.approval_emails", "the request to approve prod")
    yield from check_bootstrap(clients, pipeline.account, pipeline.region, None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.preflight", description=__doc__.split("\n\n")[0])
    subparsers = parser.add_subparsers(dest="what", required=True)
    subparsers.add_parser("pipeline")
    environment = subparsers.add_parser("environment")
    environment.add_argument("name", choices=["dev", "staging", "prod"])
    arguments = parser.parse_args(argv)
    config = committed_config()
    if arguments.what == "pipeline":
        results = list(pipeline_checks(config, _boto3_clients))
    else:
        results = list(environment_checks(config, arguments.name, _boto3_clients))
    for result in results:
        print(("ok    " if result.ok else "FAIL  ") + result.line)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
