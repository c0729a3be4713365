"""Everything AWS evaluates for a call between the deployed resources, read from the cloud assembly:
the stacks we synthesize, plus what lives outside them but takes part in every deployment, the CDK
bootstrap stack of each account and region (the pinned CLI's own template, as README's bootstrap steps
deploy it) and the AWS managed policies our roles attach.

Lookups go from a resolved value (an ARN, a queue URL, a bucket name) back to the resource it names, and
from a resource to its policies: a role's identity policies and trust policy, a topic's, queue's,
bucket's or function's resource policy, and a key's key policy."""

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compliance.deployability.policy import Document
from compliance.deployability.template import Assembly, Stack

REPO_ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP_TEMPLATE = REPO_ROOT / "node_modules" / "aws-cdk" / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"

# The AWS managed policies our roles attach, as the AWS Managed Policy Reference lists them. A managed
# policy that is not here is treated as allowing nothing, so a new one fails the checks until it is added.
AWS_MANAGED_POLICIES: dict[str, Document] = {
    "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "cloudwatch:DescribeAlarms",
                    "lambda:UpdateAlias",
                    "lambda:GetAlias",
                    "lambda:GetProvisionedConcurrencyConfig",
                ],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": "arn:aws:s3:::*/CodeDeploy/*",
            },
            {
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": "arn:aws:lambda:*:*:function:CodeDeployHook_*",
            },
        ]
    },
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                ],
                "Resource": "*",
            }
        ]
    },
    # The CDK bootstrap lookup role's policy, which the pipeline's alarm rules read alarms with; only its
    # statement's actions of the services a check evaluates are copied (anything else is denied).
    "arn:aws:iam::aws:policy/ReadOnlyAccess": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*"],
                "Resource": "*",
            }
        ]
    },
    # What README's bootstrap steps give CloudFormation's execution role (--cloudformation-execution-policies).
    "arn:aws:iam::aws:policy/AdministratorAccess": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "arn:aws:iam::aws:policy/AWSCloudFormationReadOnlyAccess": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "cloudformation:Describe*",
                    "cloudformation:EstimateTemplateCost",
                    "cloudformation:Get*",
                    "cloudformation:List*",
                    "cloudformation:ValidateTemplate",
                    "cloudformation:Detect*",
                ],
                "Resource": "*",
            }
        ]
    },
}


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


EXECUTION_POLICIES = ["arn:aws:iam::aws:policy/AdministratorAccess"]


def bootstrap_stack(account: str, region: str, trusted_accounts: list[str]) -> Stack:
    """The CDK bootstrap stack of one account and region, as `cdk bootstrap --trust <accounts>
    --cloudformation-execution-policies <EXECUTION_POLICIES>` deploys it with the pinned CLI's template and
    default qualifier."""
    template = copy.deepcopy(_bootstrap_template())
    template["Parameters"]["TrustedAccounts"]["Default"] = sorted(set(trusted_accounts) - {account})
    template["Parameters"]["CloudFormationExecutionPolicies"]["Default"] = list(EXECUTION_POLICIES)
    return Stack("CDKToolkit", account, region, template, artifact_id=f"CDKToolkit-{account}-{region}")


def _bootstrap_template() -> dict[str, Any]:
    if not hasattr(_bootstrap_template, "cached"):
        _bootstrap_template.cached = yaml.safe_load(BOOTSTRAP_TEMPLATE.read_text())  # type: ignore[attr-defined]
    template: dict[str, Any] = _bootstrap_template.cached  # type: ignore[attr-defined]
    return template


@dataclass(frozen=True)
class Located:
    """A resource of one stack."""

    stack: Stack
    logical_id: str

    @property
    def resource(self) -> Mapping[str, Any]:
        return self.stack.resource(self.logical_id)

    @property
    def type(self) -> str:
        return str(self.resource.get("Type"))

    @property
    def properties(self) -> Mapping[str, Any]:
        properties: Mapping[str, Any] = self.resource.get("Properties", {})
        return properties

    def prop(self, name: str, default: Any = None) -> Any:
        return self.stack.resolve(self.properties[name]) if name in self.properties else default

    def arn(self) -> str:
        for attribute in ("Arn", "TopicArn", "AliasArn"):
            value = self.stack.get_att(self.logical_id, attribute)
            if value.startswith("arn:"):
                return value
        return str(self.stack.get_att(self.logical_id, "Ref"))

    def __str__(self) -> str:
        return f"{self.stack.name} ({self.stack.account} {self.stack.region}) {self.logical_id}"


class World:
    """The synthesized stacks of one cloud assembly and the bootstrap stacks of every account and region
    they deploy to (each trusting the pipeline's account)."""

    def __init__(self, assembly: Assembly, pipeline_account: str) -> None:
        self.stacks = list(assembly)
        self.pipeline_account = pipeline_account
        environments = sorted({(s.account, s.region) for s in self.stacks})
        self.bootstrap = [bootstrap_stack(a, r, [pipeline_account]) for a, r in environments]

    @classmethod
    def load(cls, cdk_out: Path) -> "World":
        assembly = Assembly.load(cdk_out)
        pipeline = next(s for s in assembly if s.artifact_id == "Pipeline")
        return cls(assembly, pipeline.account)

    def all_stacks(self) -> Iterator[Stack]:
        yield from self.stacks
        yield from self.bootstrap

    def resources(self, resource_type: str) -> Iterator[Located]:
        for stack in self.stacks:
            for logical_id in stack.resources_of_type(resource_type):
                yield Located(stack, logical_id)

    def find(self, value: str, near: Stack | None = None) -> Located | None:
        """The resource whose Ref or attribute is `value`, looked up in `near` first, then everywhere."""
        ordered = [near, *self.all_stacks()] if near else list(self.all_stacks())
        for stack in ordered:
            if stack is None:
                continue
            logical_id = stack.logical_id_of(value)
            if logical_id is not None:
                return Located(stack, logical_id)
        return None

    # --- policies ---------------------------------------------------------------------------------------------

    def identity_policies(self, role: Located) -> dict[str, Document]:
        """Every identity policy of a role: inline, attached customer-managed and AWS managed."""
        stack, role_ref = role.stack, role.stack.get_att(role.logical_id, "Ref")
        policies: dict[str, Document] = {}
        for index, inline in enumerate(role.prop("Policies", []) or []):
            policies[f"{role.logical_id} inline {inline.get('PolicyName', index)}"] = inline["PolicyDocument"]
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for logical_id, resource in stack.resources_of_type(kind).items():
                attached = _strings(stack.resolve(resource.get("Properties", {}).get("Roles", [])))
                if role_ref in attached:
                    policies[logical_id] = stack.resolve(resource["Properties"]["PolicyDocument"])
        for arn in _strings(role.prop("ManagedPolicyArns", [])):
            local = self.find(arn, near=stack)
            if local is not None and local.type == "AWS::IAM::ManagedPolicy":
                policies[local.logical_id] = local.prop("PolicyDocument")
            else:
                policies[arn] = AWS_MANAGED_POLICIES.get(arn, {"Statement": []})
        return policies

    def trust_policy(self, role: Located) -> Document:
        document: Document = role.prop("AssumeRolePolicyDocument", {"Statement": []})
        return document

    def role_of(self, arn: str, near: Stack | None = None) -> Located | None:
        found = self.find(arn, near)
        return found if found is not None and found.type == "AWS::IAM::Role" else None

    def _attached(
        self, policy_type: str, target_property: str, value: str, near: Stack, document: str = "PolicyDocument"
    ) -> Document | None:
        statements: list[Any] = []
        for _logical_id, resource in near.resources_of_type(policy_type).items():
            targets = _strings(near.resolve(resource["Properties"][target_property]))
            if value in targets:
                statements += _statements(near.resolve(resource["Properties"][document]))
        return {"Statement": statements} if statements else None

    def topic_policy(self, topic: Located) -> Document | None:
        return self._attached("AWS::SNS::TopicPolicy", "Topics", topic.arn(), topic.stack)

    def queue_policy(self, queue: Located) -> Document | None:
        url = topic_or_queue_ref(queue)
        return self._attached("AWS::SQS::QueuePolicy", "Queues", url, queue.stack)

    def bucket_policy(self, bucket: Located) -> Document | None:
        name = str(bucket.stack.get_att(bucket.logical_id, "Ref"))
        statements: list[Any] = []
        for resource in bucket.stack.resources_of_type("AWS::S3::BucketPolicy").values():
            if bucket.stack.resolve(resource["Properties"]["Bucket"]) == name:
                statements += _statements(bucket.stack.resolve(resource["Properties"]["PolicyDocument"]))
        return {"Statement": statements} if statements else None

    def secret_policy(self, secret: Located) -> Document | None:
        return self._attached(
            "AWS::SecretsManager::ResourcePolicy", "SecretId", secret.arn(), secret.stack, document="ResourcePolicy"
        )

    def key_policy(self, key: Located) -> Document:
        document: Document = key.prop("KeyPolicy", {"Statement": []})
        return document

    def function_policy(self, function_arn: str, near: Stack) -> Document | None:
        """A function's resource policy: the AWS::Lambda::Permission resources that name it (qualified or not)
        as the statements Lambda makes of them."""
        statements = []
        for logical_id, resource in near.resources_of_type("AWS::Lambda::Permission").items():
            props = near.resolve(resource["Properties"])
            named = str(props["FunctionName"])
            if function_arn not in (named, f"{named}") and not function_arn.endswith(f":function:{named}"):
                continue
            statement: dict[str, Any] = {
                "Sid": logical_id,
                "Effect": "Allow",
                "Action": props["Action"],
                "Resource": function_arn,
                "Principal": _permission_principal(str(props["Principal"])),
            }
            conditions: dict[str, dict[str, str]] = {}
            if "SourceArn" in props:
                conditions["ArnLike"] = {"aws:SourceArn": props["SourceArn"]}
            if "SourceAccount" in props:
                conditions["StringEquals"] = {"aws:SourceAccount": props["SourceAccount"]}
            if conditions:
                statement["Condition"] = conditions
            statements.append(statement)
        return {"Statement": statements} if statements else None

    def function_of(self, value: str, near: Stack) -> Located | None:
        """The function an ARN, a qualified ARN, a name or a `name:qualifier` invokes, looked up in `near`
        first (names repeat across the regions of one stack), then in every stack."""
        if value.startswith("arn:"):
            parts = value.split(":")
            candidates = [":".join(parts[:7]), value]
        else:
            candidates = [value, value.split(":", 1)[0]]
        for stack in [near, *self.stacks]:
            for candidate in candidates:
                found = self.find(candidate, near=stack) if stack is near else None
                if found is None:
                    logical_id = stack.logical_id_of(candidate)
                    found = Located(stack, logical_id) if logical_id else None
                if found is None:
                    continue
                if found.type == "AWS::Lambda::Function":
                    return found
                if found.type in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
                    return self.function_of(str(found.prop("FunctionName")), near=found.stack)
        return None


def topic_or_queue_ref(resource: Located) -> str:
    return str(resource.stack.get_att(resource.logical_id, "Ref"))


def _statements(document: Mapping[str, Any]) -> list[Any]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _permission_principal(principal: str) -> dict[str, str]:
    if principal.endswith(".amazonaws.com"):
        return {"Service": principal}
    return {"AWS": principal}
