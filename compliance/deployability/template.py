"""A CDK cloud assembly's stacks, with CloudFormation intrinsics resolved to plain strings.

Policies can only be evaluated over strings, so every `Ref`/`Fn::GetAtt` of a resource becomes a deterministic
symbolic physical value shaped like the real one (queue URL, topic ARN, function name...) and built from the
resource's explicit name property when it has one, else from its stack name and logical id (as CloudFormation
names resources, so unnamed resources of two stacks stay apart). Values never seen by AWS this way
are recognisable: a resource type or attribute without a known shape resolves to `<Type>:<LogicalId>:<attr>`.
The shapes follow each type's "Return values" in the AWS CloudFormation resource reference.
"""

import base64
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NO_VALUE = object()  # AWS::NoValue: the key or list item disappears


@dataclass(frozen=True)
class _Names:
    """What a resource type's Ref and attributes look like. `name_property` is the property that, when set, names
    the resource physically; without it the name is `<stack>-<logical id>` (lower-cased where AWS requires it)."""

    name_property: str
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    lower_case_default: bool = False


# Format fields: {r} region, {a} account, {n} the name, {id} the logical id, {fn} the resolved FunctionName's function
# name, {path} the IAM Path ("/" by default), {scope} the WAF Scope and {scope_lower} its ARN form.
_TYPES: dict[str, _Names] = {
    "AWS::SQS::Queue": _Names(
        "QueueName",
        "https://sqs.{r}.amazonaws.com/{a}/{n}",
        {"Arn": "arn:aws:sqs:{r}:{a}:{n}", "QueueName": "{n}", "QueueUrl": "https://sqs.{r}.amazonaws.com/{a}/{n}"},
    ),
    "AWS::SNS::Topic": _Names(
        "TopicName", "arn:aws:sns:{r}:{a}:{n}", {"TopicArn": "arn:aws:sns:{r}:{a}:{n}", "TopicName": "{n}"}
    ),
    "AWS::Lambda::Function": _Names("FunctionName", "{n}", {"Arn": "arn:aws:lambda:{r}:{a}:function:{n}"}),
    "AWS::Lambda::Alias": _Names(
        "Name", "arn:aws:lambda:{r}:{a}:function:{fn}:{n}", {"AliasArn": "arn:aws:lambda:{r}:{a}:function:{fn}:{n}"}
    ),
    "AWS::Lambda::Version": _Names(
        "",
        "arn:aws:lambda:{r}:{a}:function:{fn}:{id}",
        {"Version": "{id}", "FunctionArn": "arn:aws:lambda:{r}:{a}:function:{fn}"},
    ),
    "AWS::IAM::Role": _Names("RoleName", "{n}", {"Arn": "arn:aws:iam::{a}:role{path}{n}", "RoleId": "AROA{id}"}),
    "AWS::IAM::User": _Names("UserName", "{n}", {"Arn": "arn:aws:iam::{a}:user{path}{n}"}),
    "AWS::IAM::Group": _Names("GroupName", "{n}", {"Arn": "arn:aws:iam::{a}:group{path}{n}"}),
    "AWS::IAM::ManagedPolicy": _Names(
        "ManagedPolicyName", "arn:aws:iam::{a}:policy{path}{n}", {"PolicyArn": "arn:aws:iam::{a}:policy{path}{n}"}
    ),
    "AWS::IAM::Policy": _Names("PolicyName", "{n}"),
    "AWS::KMS::Key": _Names("", "{id}", {"KeyId": "{id}", "Arn": "arn:aws:kms:{r}:{a}:key/{id}"}),
    "AWS::KMS::Alias": _Names("AliasName", "{n}"),
    "AWS::S3::Bucket": _Names(
        "BucketName",
        "{n}",
        {
            "Arn": "arn:aws:s3:::{n}",
            "DomainName": "{n}.s3.amazonaws.com",
            "RegionalDomainName": "{n}.s3.{r}.amazonaws.com",
            "WebsiteURL": "http://{n}.s3-website-{r}.amazonaws.com",
        },
        lower_case_default=True,
    ),
    "AWS::DynamoDB::Table": _Names(
        "TableName",
        "{n}",
        {"Arn": "arn:aws:dynamodb:{r}:{a}:table/{n}", "StreamArn": "arn:aws:dynamodb:{r}:{a}:table/{n}/stream/{id}"},
    ),
    "AWS::DynamoDB::GlobalTable": _Names(
        "TableName",
        "{n}",
        {"Arn": "arn:aws:dynamodb:{r}:{a}:table/{n}", "StreamArn": "arn:aws:dynamodb:{r}:{a}:table/{n}/stream/{id}"},
    ),
    "AWS::CloudWatch::Alarm": _Names("AlarmName", "{n}", {"Arn": "arn:aws:cloudwatch:{r}:{a}:alarm:{n}"}),
    "AWS::CloudWatch::CompositeAlarm": _Names("AlarmName", "{n}", {"Arn": "arn:aws:cloudwatch:{r}:{a}:alarm:{n}"}),
    "AWS::CloudWatch::Dashboard": _Names("DashboardName", "{n}"),
    "AWS::Events::Rule": _Names("Name", "{n}", {"Arn": "arn:aws:events:{r}:{a}:rule/{n}"}),
    "AWS::Events::EventBus": _Names("Name", "{n}", {"Arn": "arn:aws:events:{r}:{a}:event-bus/{n}", "Name": "{n}"}),
    "AWS::SecretsManager::Secret": _Names(
        "Name",
        "arn:aws:secretsmanager:{r}:{a}:secret:{n}-XXXXXX",
        {"Id": "arn:aws:secretsmanager:{r}:{a}:secret:{n}-XXXXXX"},
    ),
    "AWS::CodeBuild::Project": _Names("Name", "{n}", {"Arn": "arn:aws:codebuild:{r}:{a}:project/{n}"}),
    "AWS::CodeBuild::ReportGroup": _Names(
        "Name", "arn:aws:codebuild:{r}:{a}:report-group/{n}", {"Arn": "arn:aws:codebuild:{r}:{a}:report-group/{n}"}
    ),
    "AWS::CodePipeline::Pipeline": _Names("Name", "{n}"),
    "AWS::CodeDeploy::Application": _Names("ApplicationName", "{n}"),
    "AWS::CodeDeploy::DeploymentGroup": _Names("DeploymentGroupName", "{n}"),
    "AWS::CodeStarNotifications::NotificationRule": _Names(
        "Name",
        "arn:aws:codestar-notifications:{r}:{a}:notificationrule/{id}",
        {"Arn": "arn:aws:codestar-notifications:{r}:{a}:notificationrule/{id}"},
    ),
    "AWS::Logs::LogGroup": _Names("LogGroupName", "{n}", {"Arn": "arn:aws:logs:{r}:{a}:log-group:{n}:*"}),
    "AWS::ApiGateway::RestApi": _Names("", "{id}", {"RootResourceId": "{id}-root", "RestApiId": "{id}"}),
    "AWS::ApiGateway::Stage": _Names("StageName", "{n}"),
    "AWS::ApiGateway::Model": _Names("Name", "{n}"),
    "AWS::WAFv2::WebACL": _Names(
        "Name", "{n}|{id}|{scope}", {"Arn": "arn:aws:wafv2:{r}:{a}:{scope_lower}/webacl/{n}/{id}", "Id": "{id}"}
    ),
    "AWS::Cognito::UserPool": _Names(
        "",
        "{r}_{id}",
        {
            "Arn": "arn:aws:cognito-idp:{r}:{a}:userpool/{r}_{id}",
            "ProviderName": "cognito-idp.{r}.amazonaws.com/{r}_{id}",
            "UserPoolId": "{r}_{id}",
        },
    ),
}


def _function_name(value: str) -> str:
    """A function given by ARN (`arn:aws:lambda:r:a:function:name[:qualifier]`) or by name: its name."""
    parts = value.split(":")
    return parts[6] if value.startswith("arn:") and len(parts) > 6 and parts[5] == "function" else value


class Stack:
    """One CloudFormation stack of a cloud assembly: its template and the account and region it deploys to."""

    def __init__(
        self,
        name: str,
        account: str,
        region: str,
        template: Mapping[str, Any],
        artifact_id: str = "",
        assembly: "Assembly | None" = None,
    ) -> None:
        self.name, self.account, self.region, self.template = name, account, region, template
        self.artifact_id = artifact_id or name
        self.assembly_directory, self.template_file = "", f"{self.artifact_id}.template.json"
        self._assembly = assembly
        self._reverse: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"Stack({self.name!r}, {self.account!r}, {self.region!r})"

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.template.get("Resources", {})
        return resources

    @property
    def logical_ids(self) -> list[str]:
        return list(self.resources)

    def resource(self, logical_id: str) -> Mapping[str, Any]:
        return self.resources[logical_id]

    def resources_of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        return {lid: resource for lid, resource in self.resources.items() if resource.get("Type") == resource_type}

    # --- Ref and GetAtt ---------------------------------------------------------------------------------------

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.name}/symbolic",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        parameter = self.template.get("Parameters", {}).get(name)
        if parameter is not None:
            return self.resolve(parameter["Default"]) if "Default" in parameter else f"Parameter:{name}"
        return self.get_att(name, "Ref")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise ValueError(f"{self.name}: no resource {logical_id!r} to reference")
        resource_type = str(self.resources[logical_id].get("Type"))
        names = _TYPES.get(resource_type)
        shape = None if names is None else names.ref if attribute == "Ref" else names.attributes.get(attribute)
        if names is None or shape is None:
            return f"{resource_type}:{logical_id}:{attribute}"
        return shape.format(**self._fields(logical_id, names))

    def _fields(self, logical_id: str, names: _Names) -> dict[str, str]:
        props = self.resources[logical_id].get("Properties", {})

        def prop(name: str, default: str = "") -> str:
            return self.resolve_str(props[name]) if name in props else default

        # CloudFormation names a resource without an explicit name after its stack and logical id, so
        # names stay unique across the stacks of one account and region.
        generated = f"{self.name}-{logical_id}"
        default_name = generated.lower() if names.lower_case_default else generated
        scope = prop("Scope", "REGIONAL")
        return {
            "r": self.region,
            "a": self.account,
            "id": logical_id,
            "n": prop(names.name_property, default_name) if names.name_property else default_name,
            "fn": _function_name(prop("FunctionName")),
            "path": prop("Path", "/"),
            "scope": scope,
            "scope_lower": "global" if scope == "CLOUDFRONT" else "regional",
        }

    def logical_id_of(self, value: str) -> str | None:
        """The resource whose Ref or known attribute resolves to `value` (exact match), e.g. an alarm action's
        topic ARN back to the topic, so its TopicPolicy and KMS key can be found."""
        if self._reverse is None:
            self._reverse = {}
            for logical_id, resource in self.resources.items():
                names = _TYPES.get(str(resource.get("Type")))
                for attribute in ["Ref", *(names.attributes if names else [])]:
                    self._reverse.setdefault(self.get_att(logical_id, attribute), logical_id)
        return self._reverse.get(value)

    # --- intrinsics -------------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function and pseudo parameter replaced by plain values; a key or list item
        whose value is AWS::NoValue is dropped (a top-level AWS::NoValue resolves to None)."""
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key.startswith("Fn::"):
                function = _INTRINSICS.get(key)
                if function is None:
                    raise ValueError(f"{self.name}: unsupported intrinsic {key}")
                return function(self, argument)
        return {k: item for k, item in ((k, self._resolve(v)) for k, v in value.items()) if item is not _NO_VALUE}

    def resolve_str(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return str(resolved).lower()
        if isinstance(resolved, str | int | float):
            return str(resolved)
        raise ValueError(f"{self.name}: {value!r} does not resolve to a string")

    def condition(self, name: str) -> bool:
        """A template condition, evaluated over resolved values."""
        return self._truth(self.template.get("Conditions", {})[name])

    def _truth(self, expression: Any) -> bool:
        if not isinstance(expression, Mapping) or len(expression) != 1:
            raise ValueError(f"{self.name}: {expression!r} is not a condition")
        ((key, argument),) = expression.items()
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return bool(left == right)
        if key == "Fn::Not":
            return not self._truth(argument[0])
        if key == "Fn::And":
            return all(self._truth(item) for item in argument)
        if key == "Fn::Or":
            return any(self._truth(item) for item in argument)
        raise ValueError(f"{self.name}: unsupported condition function {key}")

    def _import_value(self, name: Any) -> str:
        export = self.resolve_str(name)
        for stack in self._assembly.stacks if self._assembly else []:
            for output in stack.template.get("Outputs", {}).values():
                if "Export" in output and stack.resolve_str(output["Export"]["Name"]) == export:
                    return stack.resolve_str(output["Value"])
        return f"ImportValue:{export}"

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self.resolve_str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.resolve_str({"Ref": name})

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def _get_att(stack: Stack, argument: Any) -> str:
    logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
    return stack.get_att(logical_id, stack.resolve_str(attribute))


def _select(stack: Stack, argument: Any) -> Any:
    index, items = argument
    return stack.resolve(items)[int(stack.resolve(index))]


def _if(stack: Stack, argument: Any) -> Any:
    name, when_true, when_false = argument
    return stack._resolve(when_true if stack.condition(name) else when_false)


def _find_in_map(stack: Stack, argument: Any) -> Any:
    mapping, first, second = (stack.resolve(item) for item in argument)
    return stack.template["Mappings"][mapping][first][second]


_INTRINSICS: dict[str, Callable[[Stack, Any], Any]] = {
    "Fn::GetAtt": _get_att,
    "Fn::Join": lambda stack, arg: arg[0].join(stack.resolve_str(item) for item in stack.resolve(arg[1])),
    "Fn::Sub": lambda stack, arg: stack._sub(arg),
    "Fn::Select": _select,
    "Fn::Split": lambda stack, arg: stack.resolve_str(arg[1]).split(arg[0]),
    "Fn::If": _if,
    "Fn::ImportValue": lambda stack, arg: stack._import_value(arg),
    "Fn::GetAZs": lambda stack, arg: [f"{stack.resolve_str(arg) or stack.region}{zone}" for zone in "abc"],
    "Fn::Base64": lambda stack, arg: base64.b64encode(stack.resolve_str(arg).encode()).decode(),
    "Fn::FindInMap": _find_in_map,
    "Fn::ToJsonString": lambda stack, arg: json.dumps(stack.resolve(arg), separators=(",", ":")),
}


def _environment(value: str) -> tuple[str, str]:
    match = re.fullmatch(r"aws://([^/]+)/(.+)", value)
    if not match:
        raise ValueError(f"unsupported stack environment {value!r}")
    return match.group(1), match.group(2)


class Assembly:
    """The stacks of a cloud assembly directory (cdk.out), nested stage assemblies included."""

    def __init__(self) -> None:
        self.stacks: list[Stack] = []

    @classmethod
    def load(cls, path: Path | str) -> "Assembly":
        assembly = cls()
        assembly._read(Path(path))
        return assembly

    def _read(self, directory: Path, nested: str = "") -> None:
        manifest = json.loads((directory / "manifest.json").read_text())
        for artifact_id, artifact in manifest.get("artifacts", {}).items():
            properties = artifact.get("properties", {})
            if artifact.get("type") == "aws:cloudformation:stack":
                account, region = _environment(artifact["environment"])
                template = json.loads((directory / properties["templateFile"]).read_text())
                name = properties.get("stackName", artifact_id)
                stack = Stack(name, account, region, template, artifact_id, self)
                # Where the stack's template lives: its nested assembly directory ("" at the top) and file.
                stack.assembly_directory, stack.template_file = nested, properties["templateFile"]
                self.stacks.append(stack)
            elif artifact.get("type") == "cdk:cloud-assembly":
                self._read(directory / properties["directoryName"], properties["directoryName"])

    def __iter__(self) -> Iterator[Stack]:
        return iter(self.stacks)

    def stack(self, name: str, region: str | None = None) -> Stack:
        """The stack with this stack name or artifact id (and region: one stack name may deploy to several)."""
        found = [s for s in self.stacks if name in (s.name, s.artifact_id) and region in (None, s.region)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} stacks match {name!r} {region or ''}; stacks: {self.stacks}")
        return found[0]
