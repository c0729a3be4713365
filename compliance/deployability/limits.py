"""AWS limits that fail a deployment, checked on the synthesized templates.

cfn-lint checks each property against its resource schema (lengths and ranges of literal values); what it
cannot see is checked here: totals across a template (resources, outputs, size), sizes of values built
from references (a Lambda environment, a policy document), and quotas of one service that no schema
states (alarms per deployment group, targets per rule, the aggregate inline policy size of a role).

A reference counts as ``REFERENCE_LENGTH`` characters, the length of a long ARN, since its real value is
known only at deployment; each limit names the AWS quota page it comes from.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from compliance.deployability.template import Stack

REFERENCE_LENGTH = 140


@dataclass(frozen=True)
class Limit:
    what: str
    maximum: int
    source: str


# CloudFormation quotas ("AWS CloudFormation quotas").
RESOURCES = Limit("resources in a template", 500, "CloudFormation quotas")
OUTPUTS = Limit("outputs in a template", 200, "CloudFormation quotas")
PARAMETERS = Limit("parameters in a template", 200, "CloudFormation quotas")
TEMPLATE_BYTES = Limit("template body bytes (from S3)", 1_000_000, "CloudFormation quotas")
EXPORT_NAME = Limit("characters of an export name", 255, "CloudFormation Outputs: Export Name")
# Service quotas no resource schema states.
LAMBDA_ENVIRONMENT = Limit("bytes of a function's environment variables", 4096, "Lambda quotas")
LAMBDA_RESOURCE_POLICY = Limit("bytes of a function's resource-based policy", 20_480, "Lambda quotas")
ALARMS_PER_GROUP = Limit("alarms of a deployment group", 10, "CodeDeploy AlarmConfiguration")
RULE_TARGETS = Limit("targets of a rule", 5, "EventBridge quotas")
ROLE_INLINE_POLICIES = Limit("characters of a role's inline policies together", 10_240, "IAM and STS quotas")
MANAGED_POLICY = Limit("characters of a managed policy", 6_144, "IAM and STS quotas")
TRUST_POLICY = Limit("characters of a role trust policy", 2_048, "IAM and STS quotas (default, adjustable)")
KEY_POLICY = Limit("bytes of a key policy", 32_768, "AWS KMS quotas")
TOPIC_POLICY = Limit("bytes of a topic policy", 30_720, "Amazon SNS quotas")
QUEUE_POLICY = Limit("bytes of a queue policy", 20_480, "Amazon SQS quotas")
BUCKET_POLICY = Limit("bytes of a bucket policy", 20_480, "Amazon S3 bucket policy size")
PIPELINE_ACTIONS_PER_STAGE = Limit("actions in a pipeline stage", 50, "CodePipeline quotas")
API_INTEGRATION_TIMEOUT_MS = Limit("milliseconds of an API Gateway integration timeout", 29_000, "API Gateway quotas")


@dataclass(frozen=True)
class Excess:
    stack: str
    where: str
    limit: Limit
    size: int

    def describe(self) -> str:
        return (
            f"{self.stack} {self.where}: {self.size} {self.limit.what}, "
            f"over the {self.limit.maximum} of {self.limit.source}"
        )


def worst_case_length(value: Any) -> int:
    """Characters of a value once deployed, without whitespace, each reference at its longest."""
    if isinstance(value, Mapping):
        if len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::ImportValue"):
            return REFERENCE_LENGTH
        if len(value) == 1 and next(iter(value)) == "Fn::Join":
            separator, parts = value["Fn::Join"]
            return sum(worst_case_length(p) for p in parts) + len(separator) * max(0, len(parts) - 1)
        if len(value) == 1 and next(iter(value)) == "Fn::Sub":
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return len(text) + text.count("${") * REFERENCE_LENGTH
        return 2 + sum(len(json.dumps(k)) + 1 + worst_case_length(v) for k, v in value.items()) + len(value) - 1
    if isinstance(value, list):
        return 2 + sum(worst_case_length(v) for v in value) + max(0, len(value) - 1)
    if isinstance(value, str):
        return len(json.dumps(value))
    return len(json.dumps(value))


def _over(stack: Stack, where: str, limit: Limit, size: int) -> Iterator[Excess]:
    if size > limit.maximum:
        yield Excess(stack.name, where, limit, size)


def _refs(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def excesses(stack: Stack) -> Iterator[Excess]:
    template = stack.template
    resources: Mapping[str, Mapping[str, Any]] = template.get("Resources", {})
    yield from _over(stack, "template", RESOURCES, len(resources))
    yield from _over(stack, "template", OUTPUTS, len(template.get("Outputs", {})))
    yield from _over(stack, "template", PARAMETERS, len(template.get("Parameters", {})))
    yield from _over(stack, "template", TEMPLATE_BYTES, len(json.dumps(template, indent=1)))
    for name, output in template.get("Outputs", {}).items():
        if "Export" in output:
            yield from _over(stack, f"output {name}", EXPORT_NAME, len(stack.resolve_str(output["Export"]["Name"])))
    inline_by_role: dict[str, int] = {}
    permissions_by_function: dict[str, int] = {}
    for logical_id, resource in resources.items():
        kind, properties = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::Lambda::Function":
            variables = properties.get("Environment", {}).get("Variables", {})
            size = sum(len(k) + worst_case_length(v) - 2 for k, v in variables.items())
            yield from _over(stack, logical_id, LAMBDA_ENVIRONMENT, size)
        elif kind == "AWS::Lambda::Permission":
            function = _refs(properties.get("FunctionName"))
            permissions_by_function[function] = (
                permissions_by_function.get(function, 0) + 300 + worst_case_length(properties)
            )
        elif kind == "AWS::CodeDeploy::DeploymentGroup":
            alarms = properties.get("AlarmConfiguration", {}).get("Alarms", [])
            yield from _over(stack, logical_id, ALARMS_PER_GROUP, len(alarms))
        elif kind == "AWS::Events::Rule":
            yield from _over(stack, logical_id, RULE_TARGETS, len(properties.get("Targets", [])))
        elif kind == "AWS::IAM::Role":
            yield from _over(stack, logical_id, TRUST_POLICY, worst_case_length(properties["AssumeRolePolicyDocument"]))
            for inline in properties.get("Policies", []):
                role = _refs({"Ref": logical_id})
                inline_by_role[role] = inline_by_role.get(role, 0) + worst_case_length(inline["PolicyDocument"])
        elif kind == "AWS::IAM::Policy":
            for role in properties.get("Roles", []):
                key = _refs(role)
                inline_by_role[key] = inline_by_role.get(key, 0) + worst_case_length(properties["PolicyDocument"])
        elif kind == "AWS::IAM::ManagedPolicy":
            yield from _over(stack, logical_id, MANAGED_POLICY, worst_case_length(properties["PolicyDocument"]))
        elif kind == "AWS::KMS::Key":
            yield from _over(stack, logical_id, KEY_POLICY, worst_case_length(properties.get("KeyPolicy", {})))
        elif kind == "AWS::SNS::TopicPolicy":
            yield from _over(stack, logical_id, TOPIC_POLICY, worst_case_length(properties["PolicyDocument"]))
        elif kind == "AWS::SQS::QueuePolicy":
            yield from _over(stack, logical_id, QUEUE_POLICY, worst_case_length(properties["PolicyDocument"]))
        elif kind == "AWS::S3::BucketPolicy":
            yield from _over(stack, logical_id, BUCKET_POLICY, worst_case_length(properties["PolicyDocument"]))
        elif kind == "AWS::CodePipeline::Pipeline":
            for pipeline_stage in properties.get("Stages", []):
                actions = len(pipeline_stage.get("Actions", []))
                yield from _over(stack, f"{logical_id} {pipeline_stage['Name']}", PIPELINE_ACTIONS_PER_STAGE, actions)
        elif kind == "AWS::ApiGateway::Method":
            timeout = properties.get("Integration", {}).get("TimeoutInMillis", 29_000)
            yield from _over(stack, logical_id, API_INTEGRATION_TIMEOUT_MS, int(timeout))
    for role, size in inline_by_role.items():
        yield from _over(stack, f"role {role}", ROLE_INLINE_POLICIES, size)
    for function, size in permissions_by_function.items():
        yield from _over(stack, f"function {function}", LAMBDA_RESOURCE_POLICY, size)
