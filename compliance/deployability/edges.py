"""Every call between services that the deployed system relies on, found in the templates themselves,
with every policy AWS evaluates for it.

Each kind of edge is discovered from the resources that create it (an alarm's actions, a rule's
targets, an event source mapping, an API method's integration, an alias's CodeDeploy update policy, a
function's own settings, a log group's key, a pipeline's actions and build projects), so a new alarm
action, target, mapping, integration or hook is checked without anyone listing it. A target of a kind
no rule here knows is reported as a problem, never skipped.

A ``Call`` is one request (caller, action, resource, request context) and the policies AWS evaluates
for it; a ``Problem`` is a wiring fault that no policy could fix (a log group that does not exist, a
queue whose visibility timeout is shorter than its consumer's timeout, an alarm the hook does not know).
"""

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from compliance.deployability.policy import Decision, Document, Principal, Request, is_allowed
from compliance.deployability.template import Stack
from compliance.deployability.world import Located, World

ALLOWED_BY = re.compile(r"allowed by (.+) statement (\S+)")


@dataclass(frozen=True)
class Call:
    """One request AWS will evaluate, with every policy it evaluates for it."""

    edge: str
    where: str
    request: Request
    identity: Mapping[str, Document]
    resource_policy: Document | None
    resource_account: str
    key_policy: Document | None = None

    def decision(self) -> Decision:
        return is_allowed(self.request, self.identity, self.resource_policy, self.resource_account, self.key_policy)

    def describe(self) -> str:
        who = self.request.principal.arn or self.request.principal.service
        return f"[{self.edge}] {self.where}: {who} {self.request.action} {self.request.resource}"

    def allowing_statements(self) -> list[tuple[str, str]]:
        """(policy, statement) pairs that allowed the call, as the decision names them."""
        found = []
        for reason in self.decision().reasons:
            match = ALLOWED_BY.match(reason)
            if match:
                found.append((match.group(1), match.group(2)))
        return found

    def without(self, *statements: tuple[str, str]) -> "Call":
        """The same call with these (policy, statement) pairs removed, statements named by Sid or index."""

        def drop(name: str, document: Document | None) -> Document | None:
            if document is None:
                return None
            labels = {label for policy, label in statements if policy == name}
            listed = document.get("Statement", [])
            listed = [listed] if isinstance(listed, Mapping) else list(listed)
            kept = [s for index, s in enumerate(listed) if not labels & {s.get("Sid"), str(index)}]
            return {**document, "Statement": kept}

        identity = {name: drop(name, doc) or {} for name, doc in self.identity.items()}
        return replace(
            self,
            identity=identity,
            resource_policy=drop("resource policy", self.resource_policy),
            key_policy=drop("key policy", self.key_policy),
        )


@dataclass(frozen=True)
class Problem:
    edge: str
    where: str
    message: str

    def describe(self) -> str:
        return f"[{self.edge}] {self.where}: {self.message}"


@dataclass
class Findings:
    calls: list[Call] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def denied(self) -> list[tuple[Call, Decision]]:
        return [(call, decision) for call in self.calls if not (decision := call.decision())]

    def edges(self) -> set[str]:
        return {c.edge for c in self.calls} | {p.edge for p in self.problems}


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _arn_service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if arn.startswith("arn:") and len(parts) > 2 else ""


def _default_topic_policy(topic: Located) -> Document:
    """SNS's default topic policy, which a topic without an AWS::SNS::TopicPolicy keeps: the owner's
    account (and services acting for it) may publish."""
    return {
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic.arn(),
                "Condition": {"StringEquals": {"aws:SourceAccount": topic.stack.account}},
            }
        ]
    }


class Checker:
    """Discovers the edges of one world and builds the calls and problems for each."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.findings = Findings()
        self.wiring: set[str] = set()

    def run(self) -> Findings:
        for discover in (
            self._alarm_actions,
            self._event_rule_targets,
            self._bucket_edges,
            self._event_source_mappings,
            self._api_integrations,
            self._api_access_logs,
            self._codedeploy,
            self._functions,
            self._encrypted_log_groups,
            self._waf_logging,
            self._pipelines,
            self._build_projects,
            self._notification_rules,
        ):
            discover()
        return self.findings

    # --- building calls ---------------------------------------------------------------------------------------

    def _problem(self, edge: str, where: object, message: str) -> None:
        self.findings.problems.append(Problem(edge, str(where), message))

    def _role_call(
        self,
        edge: str,
        where: object,
        role: Located,
        action: str,
        resource: str,
        *,
        resource_policy: Document | None = None,
        resource_account: str | None = None,
        key_policy: Document | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        account = resource_account or role.stack.account
        # What AWS puts in every request's context about the resource's owner.
        owner = {
            "aws:ResourceAccount": account,
            **({"s3:ResourceAccount": account} if action.startswith("s3:") else {}),
        }
        request = Request(Principal.iam(role.arn()), action, resource, {**owner, **dict(context or {})})
        self.findings.calls.append(
            Call(
                edge,
                str(where),
                request,
                self.world.identity_policies(role),
                resource_policy,
                resource_account or role.stack.account,
                key_policy,
            )
        )

    def _service_call(
        self,
        edge: str,
        where: object,
        service: str,
        account: str,
        action: str,
        resource: str,
        policy: Document | None,
        *,
        source_arn: str = "",
        key_policy: Document | None = None,
        resource_account: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        principal = Principal.aws_service(service, account, source_arn=source_arn, source_account=account)
        self.findings.calls.append(
            Call(
                edge,
                str(where),
                Request(principal, action, resource, dict(context or {})),
                {},
                None if key_policy is not None else policy,
                resource_account or account,
                key_policy,
            )
        )

    def _key(self, key_ref: str, near: Stack) -> Located | None:
        """The key a KmsMasterKeyId / KmsKeyId / KMSMasterKeyID names: key id, key ARN or alias."""
        if ":alias/" in key_ref or key_ref.startswith("alias/"):
            alias_name = key_ref[key_ref.index("alias/") :]
            for stack in self.world.all_stacks():
                for _logical_id, resource in stack.resources_of_type("AWS::KMS::Alias").items():
                    if stack.resolve(resource["Properties"]["AliasName"]) == alias_name:
                        return self.world.find(stack.resolve_str(resource["Properties"]["TargetKeyId"]), near=stack)
            return None
        return self.world.find(key_ref, near=near)

    def _key_calls(
        self,
        edge: str,
        where: object,
        key_ref: str,
        near: Stack,
        actions: Iterable[str],
        *,
        role: Located | None = None,
        service: str = "",
        service_account: str = "",
        source_arn: str = "",
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """The key-policy side (and, for a role, the identity side) of using a resource's KMS key."""
        if key_ref.startswith("alias/aws/") or ":alias/aws/" in key_ref:
            if service:
                self._problem(edge, where, f"{service} cannot use the AWS managed key {key_ref} (its policy is fixed)")
            return
        key = self._key(key_ref, near)
        if key is None:
            self._problem(edge, where, f"no KMS key {key_ref} in the templates")
            return
        for action in actions:
            if role is not None:
                self._role_call(
                    edge,
                    where,
                    role,
                    action,
                    key.arn(),
                    key_policy=self.world.key_policy(key),
                    resource_account=key.stack.account,
                    context=context,
                )
            else:
                self._service_call(
                    edge,
                    where,
                    service,
                    service_account,
                    action,
                    key.arn(),
                    None,
                    source_arn=source_arn,
                    key_policy=self.world.key_policy(key),
                    resource_account=key.stack.account,
                    context=context,
                )

    def _via(self, service: str, region: str) -> dict[str, str]:
        return {"kms:ViaService": f"{service}.{region}.amazonaws.com"}

    def _role_of_function(self, function: Located) -> Located | None:
        role = self.world.role_of(str(function.prop("Role")), near=function.stack)
        if role is None:
            self._problem("function -> role", function, f"its role {function.prop('Role')} is not in the templates")
        return role

    def _trust(self, edge: str, role: Located, service: str) -> None:
        """The role's trust policy lets the service assume it."""
        self._service_call(
            edge,
            role,
            service,
            role.stack.account,
            "sts:AssumeRole",
            role.arn(),
            self.world.trust_policy(role),
        )

    # --- alarms, rules, buckets, queues -----------------------------------------------------------------------

    def _publish_to_topic(
        self,
        edge: str,
        where: object,
        topic_arn: str,
        near: Stack,
        *,
        service: str = "",
        role: Located | None = None,
        source_arn: str = "",
    ) -> None:
        topic = self.world.find(topic_arn, near=near)
        if topic is None or topic.type != "AWS::SNS::Topic":
            self._problem(edge, where, f"target {topic_arn} is not a topic of the templates")
            return
        policy = self.world.topic_policy(topic) or _default_topic_policy(topic)
        if role is not None:
            self._role_call(edge, where, role, "sns:Publish", topic.arn(), resource_policy=policy)
        else:
            self._service_call(
                edge, where, service, near.account, "sns:Publish", topic.arn(), policy, source_arn=source_arn
            )
        key_ref = topic.prop("KmsMasterKeyId")
        if key_ref:
            via = {**self._via("sns", topic.stack.region)}
            actions = ("kms:GenerateDataKey", "kms:Decrypt")
            if role is not None:
                self._key_calls(edge, where, str(key_ref), topic.stack, actions, role=role, context=via)
            else:
                self._key_calls(
                    edge,
                    where,
                    str(key_ref),
                    topic.stack,
                    actions,
                    service=service,
                    service_account=near.account,
                    source_arn=source_arn,
                    context=via,
                )

    def _alarm_actions(self) -> None:
        for alarm in self.world.resources("AWS::CloudWatch::Alarm"):
            actions = [
                *_list(alarm.prop("AlarmActions")),
                *_list(alarm.prop("OKActions")),
                *_list(alarm.prop("InsufficientDataActions")),
            ]
            for action in actions:
                if _arn_service(str(action)) == "sns":
                    self._publish_to_topic(
                        "alarm -> topic",
                        alarm,
                        str(action),
                        alarm.stack,
                        service="cloudwatch.amazonaws.com",
                        source_arn=alarm.arn(),
                    )
                else:
                    self._problem("alarm -> ?", alarm, f"no check for an alarm action on {action}")

    def _send_to_queue(
        self, edge: str, where: object, queue_arn: str, near: Stack, *, service: str, source_arn: str
    ) -> None:
        queue = self.world.find(queue_arn, near=near)
        if queue is None or queue.type != "AWS::SQS::Queue":
            self._problem(edge, where, f"target {queue_arn} is not a queue of the templates")
            return
        self._service_call(
            edge,
            where,
            service,
            near.account,
            "sqs:SendMessage",
            queue.arn(),
            self.world.queue_policy(queue),
            source_arn=source_arn,
        )
        key_ref = queue.prop("KmsMasterKeyId")
        if key_ref:
            self._key_calls(
                edge,
                where,
                str(key_ref),
                queue.stack,
                ("kms:GenerateDataKey", "kms:Decrypt"),
                service=service,
                service_account=near.account,
                source_arn=source_arn,
                context=self._via("sqs", queue.stack.region),
            )

    def _event_rule_targets(self) -> None:
        for rule in self.world.resources("AWS::Events::Rule"):
            for target in _list(rule.prop("Targets")):
                destinations = [("rule -> target", str(target["Arn"]))]
                dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
                if dead_letter:
                    destinations.append(("rule -> dead-letter queue", str(dead_letter)))
                for edge, arn in destinations:
                    if _arn_service(arn) == "sqs":
                        self._send_to_queue(
                            edge, rule, arn, rule.stack, service="events.amazonaws.com", source_arn=rule.arn()
                        )
                    else:
                        self._problem(edge, rule, f"no check for a rule target {arn}")

    def _bucket_edges(self) -> None:
        rules = list(self.world.resources("AWS::Events::Rule"))
        for bucket in self.world.resources("AWS::S3::Bucket"):
            name = str(bucket.stack.get_att(bucket.logical_id, "Ref"))
            logging = bucket.prop("LoggingConfiguration")
            if logging:
                self._access_logs(bucket, logging)
            notifications = bucket.prop("NotificationConfiguration") or {}
            sends_events = notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true")
            watched = [
                r
                for r in rules
                if r.stack is bucket.stack and name in json.dumps((r.prop("EventPattern") or {}).get("detail", {}))
            ]
            if sends_events and not watched:
                self._problem("bucket -> EventBridge", bucket, "sends events to EventBridge but no rule watches it")
            if watched and not sends_events:
                self._problem(
                    "bucket -> EventBridge", bucket, "rules watch its events but it does not send them to EventBridge"
                )
            if sends_events and watched:
                # S3 delivers to the default event bus without any permission (S3 user guide, "Using EventBridge").
                self._count_wiring("bucket -> EventBridge")

    def _count_wiring(self, edge: str) -> None:
        """Record that a wiring-only edge (no policy involved) was found and is sound."""
        self.wiring.add(edge)

    def _access_logs(self, bucket: Located, logging: Mapping[str, Any]) -> None:
        edge = "bucket -> access-log bucket"
        destination = self.world.find(str(logging["DestinationBucketName"]), near=bucket.stack)
        if destination is None or destination.type != "AWS::S3::Bucket":
            self._problem(edge, bucket, f"access-log bucket {logging['DestinationBucketName']} is not in the templates")
            return
        if destination.stack.region != bucket.stack.region:
            self._problem(edge, bucket, "server access logs must go to a bucket of the same region")
        encryption = json.dumps(destination.prop("BucketEncryption") or {})
        if "aws:kms" in encryption:
            self._problem(edge, bucket, "the access-log bucket must use S3-managed keys (SSE-S3)")
        prefix = str(logging.get("LogFilePrefix", ""))
        self._service_call(
            edge,
            bucket,
            "logging.s3.amazonaws.com",
            bucket.stack.account,
            "s3:PutObject",
            f"{destination.arn()}/{prefix}2026-01-01-00-00-00-EXAMPLE",
            self.world.bucket_policy(destination),
            source_arn=bucket.arn(),
        )

    def _event_source_mappings(self) -> None:
        for mapping in self.world.resources("AWS::Lambda::EventSourceMapping"):
            edge = "event source -> function"
            function_ref = str(mapping.prop("FunctionName"))
            function = self.world.function_of(function_ref, mapping.stack)
            if function is None:
                self._problem(edge, mapping, f"function {function_ref} is not in the templates")
                continue
            if not self._is_alias(function_ref, mapping.stack):
                self._problem(edge, mapping, f"the mapping invokes {function_ref}, not the function's live alias")
            role = self._role_of_function(function)
            source = str(mapping.prop("EventSourceArn"))
            queue = self.world.find(source, near=mapping.stack)
            if _arn_service(source) != "sqs" or queue is None:
                self._problem(edge, mapping, f"no check for an event source {source}")
                continue
            timeout = int(function.prop("Timeout", 3))
            visibility = int(queue.prop("VisibilityTimeout", 30))
            if visibility < timeout:
                self._problem(
                    edge,
                    mapping,
                    f"queue visibility timeout {visibility}s is shorter than the function timeout {timeout}s "
                    "(Lambda refuses the mapping)",
                )
            if role is None:
                continue
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                self._role_call(
                    edge, mapping, role, action, queue.arn(), resource_policy=self.world.queue_policy(queue)
                )
            key_ref = queue.prop("KmsMasterKeyId")
            if key_ref:
                self._key_calls(
                    edge,
                    mapping,
                    str(key_ref),
                    queue.stack,
                    ("kms:Decrypt",),
                    role=role,
                    context=self._via("sqs", queue.stack.region),
                )

    def _is_alias(self, function_ref: str, near: Stack) -> bool:
        """Whether a function reference (ARN, `name:qualifier`) names one of the function's aliases."""
        function = self.world.function_of(function_ref, near)
        if function is None:
            return False
        parts = function_ref.split(":")
        qualifier = (
            parts[7]
            if function_ref.startswith("arn:") and len(parts) > 7
            else (parts[1] if not function_ref.startswith("arn:") and len(parts) == 2 else "")
        )
        return any(
            alias.prop("Name") == qualifier
            and self.world.function_of(str(alias.prop("FunctionName")), alias.stack) == function
            for alias in self.world.resources("AWS::Lambda::Alias")
            if alias.stack is function.stack
        )

    # --- API Gateway ------------------------------------------------------------------------------------------

    def _resource_paths(self, stack: Stack) -> dict[str, str]:
        """Path of every API Gateway resource (and of each API's root) by what its Ref resolves to."""
        resources = stack.resources_of_type("AWS::ApiGateway::Resource")
        paths: dict[str, str] = {}
        for api_id in stack.resources_of_type("AWS::ApiGateway::RestApi"):
            paths[stack.get_att(api_id, "RootResourceId")] = ""

        def path_of(logical_id: str) -> str:
            properties = resources[logical_id]["Properties"]
            parent = stack.resolve_str(properties["ParentId"])
            parent_id = stack.logical_id_of(parent)
            prefix = path_of(parent_id) if parent_id in resources else paths.get(parent, "")
            return f"{prefix}/{stack.resolve_str(properties['PathPart'])}"

        for logical_id in resources:
            paths[stack.get_att(logical_id, "Ref")] = path_of(logical_id)
        return paths

    def _api_integrations(self) -> None:
        edge = "API Gateway -> function"
        for stack in self.world.stacks:
            methods = stack.resources_of_type("AWS::ApiGateway::Method")
            if not methods:
                continue
            paths = self._resource_paths(stack)
            stages = {
                stack.resolve_str(s["Properties"]["RestApiId"]): stack.resolve_str(s["Properties"]["StageName"])
                for s in stack.resources_of_type("AWS::ApiGateway::Stage").values()
            }
            for logical_id, method in methods.items():
                where = Located(stack, logical_id)
                properties = stack.resolve(method["Properties"])
                integration = properties.get("Integration", {})
                if integration.get("Type") not in ("AWS_PROXY", "AWS"):
                    continue
                uri = str(integration.get("Uri", ""))
                match = re.search(r":lambda:path/2015-03-31/functions/(.+)/invocations$", uri)
                if match is None:
                    self._problem(edge, where, f"no check for an integration with {uri}")
                    continue
                target = match.group(1)
                if not self._is_alias(target, stack):
                    self._problem(edge, where, f"the integration invokes {target}, not the function's live alias")
                api_id = str(properties["RestApiId"])
                path = paths.get(str(properties["ResourceId"]), "")
                source = (
                    f"arn:aws:execute-api:{stack.region}:{stack.account}:{api_id}/"
                    f"{stages.get(api_id, 'api')}/{properties['HttpMethod']}{path or '/'}"
                )
                self._service_call(
                    edge,
                    where,
                    "apigateway.amazonaws.com",
                    stack.account,
                    "lambda:InvokeFunction",
                    target,
                    self.world.function_policy(target, stack),
                    source_arn=source,
                )

    def _api_access_logs(self) -> None:
        edge = "API Gateway -> access log group"
        for stage in self.world.resources("AWS::ApiGateway::Stage"):
            destination = (stage.prop("AccessLogSetting") or {}).get("DestinationArn")
            if not destination:
                continue
            accounts = list(stage.stack.resources_of_type("AWS::ApiGateway::Account"))
            if not accounts:
                self._problem(edge, stage, "no AWS::ApiGateway::Account sets the CloudWatch role API Gateway logs with")
                continue
            account = Located(stage.stack, accounts[0])
            role = self.world.role_of(str(account.prop("CloudWatchRoleArn")), near=stage.stack)
            if role is None:
                self._problem(edge, stage, "API Gateway's CloudWatch role is not in the templates")
                continue
            self._trust(edge, role, "apigateway.amazonaws.com")
            group_arn = str(destination).removesuffix(":*")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                self._role_call(edge, stage, role, action, f"{group_arn}:log-stream:example")

    # --- CodeDeploy and the hooks -----------------------------------------------------------------------------

    def _codedeploy(self) -> None:
        edge = "CodeDeploy -> hooks"
        for alias in self.world.resources("AWS::Lambda::Alias"):
            update = alias.resource.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
            if not update:
                continue
            stack = alias.stack
            update = stack.resolve(update)
            group = self.world.find(str(update["DeploymentGroupName"]), near=stack)
            if group is None or group.type != "AWS::CodeDeploy::DeploymentGroup":
                self._problem(edge, alias, f"deployment group {update['DeploymentGroupName']} is not in the templates")
                continue
            group_arn = (
                f"arn:aws:codedeploy:{stack.region}:{stack.account}:deploymentgroup:"
                f"{update['ApplicationName']}/{update['DeploymentGroupName']}"
            )
            role = self.world.role_of(str(group.prop("ServiceRoleArn")), near=stack)
            if role is None:
                self._problem(edge, group, "its service role is not in the templates")
                continue
            self._trust("CodeDeploy -> alias", role, "codedeploy.amazonaws.com")
            alias_arn = alias.arn()
            for action in ("lambda:GetAlias", "lambda:UpdateAlias"):
                self._role_call("CodeDeploy -> alias", group, role, action, alias_arn)
            alarm_names = [str(a["Name"]) for a in (group.prop("AlarmConfiguration") or {}).get("Alarms", [])]
            for name in alarm_names:
                alarm = self.world.find(name, near=stack)
                arn = alarm.arn() if alarm else f"arn:aws:cloudwatch:{stack.region}:{stack.account}:alarm:{name}"
                self._role_call("CodeDeploy -> alarms", group, role, "cloudwatch:DescribeAlarms", arn)
            for trigger in group.prop("TriggerConfigurations") or []:
                self._publish_to_topic("CodeDeploy -> topic", group, str(trigger["TriggerTargetArn"]), stack, role=role)
            hooks = [update.get("BeforeAllowTrafficHook"), update.get("AfterAllowTrafficHook")]
            for hook_name in filter(None, hooks):
                hook = self.world.function_of(str(hook_name), stack)
                if hook is None:
                    self._problem(edge, group, f"hook {hook_name} is not a function of the templates")
                    continue
                self._role_call(edge, group, role, "lambda:InvokeFunction", hook.arn())
                self._hook(hook, group_arn, str(update["DeploymentGroupName"]), alias, alarm_names)

    def _hook(self, hook: Located, group_arn: str, group_name: str, alias: Located, alarm_names: list[str]) -> None:
        edge = "hooks -> CodeDeploy"
        role = self._role_of_function(hook)
        if role is None:
            return
        for action in ("codedeploy:PutLifecycleEventHookExecutionStatus", "codedeploy:GetDeployment"):
            self._role_call(edge, hook, role, action, group_arn)
        variables = (hook.prop("Environment") or {}).get("Variables", {})
        targets = [json.loads(str(v)) for k, v in variables.items() if k.startswith("DEPLOYMENT_TARGET_")]
        (target,) = [t for t in targets if t.get("group") == group_name] or [None]
        if target is None:
            self._problem(edge, hook, f"knows no target for deployment group {group_name}")
            return
        if "version_arn" in target:
            self._pre_traffic(hook, role, target, alias, group_arn)
        if "alarm_names" in target:
            if sorted(target["alarm_names"]) != sorted(alarm_names):
                self._problem(edge, hook, f"checks alarms {target['alarm_names']}, the group watches {alarm_names}")
            for name in target["alarm_names"]:
                alarm = self.world.find(str(name), near=hook.stack)
                arn = alarm.arn() if alarm else str(name)
                self._role_call("hooks -> alarms", hook, role, "cloudwatch:DescribeAlarms", arn)

    def _pre_traffic(
        self, hook: Located, role: Located, target: Mapping[str, Any], alias: Located, group_arn: str
    ) -> None:
        edge = "hooks -> new version"
        function = self.world.function_of(alias.arn(), alias.stack)
        expected_version = f"{function.arn() if function else ''}:{alias.prop('FunctionVersion')}"
        if target["version_arn"] != expected_version:
            self._problem(edge, hook, f"probes {target['version_arn']}, the alias shifts to {expected_version}")
        if target["alias_arn"] != alias.arn():
            self._problem(edge, hook, f"sends traffic to {target['alias_arn']}, not the shifted alias {alias.arn()}")
        self._role_call(edge, hook, role, "lambda:InvokeFunction", str(target["version_arn"]))
        variables = (hook.prop("Environment") or {}).get("Variables", {})
        traffic = self.world.function_of(str(variables.get("TRAFFIC_FUNCTION_NAME", "")), hook.stack)
        if traffic is None:
            self._problem("hooks -> synthetic traffic", hook, "its traffic function is not in the templates")
            return
        self._role_call("hooks -> synthetic traffic", hook, role, "lambda:InvokeFunction", traffic.arn())
        traffic_role = self._role_of_function(traffic)
        if traffic_role is None:
            return
        edge = "synthetic traffic -> alias"
        self._role_call(edge, traffic, traffic_role, "lambda:InvokeFunction", str(target["alias_arn"]))
        self._role_call(edge, traffic, traffic_role, "codedeploy:GetDeployment", group_arn)
        self._role_call(edge, traffic, traffic_role, "lambda:InvokeFunction", traffic.arn())

    # --- functions, log groups, WAF ---------------------------------------------------------------------------

    def _functions(self) -> None:
        invoke_configs = list(self.world.resources("AWS::Lambda::EventInvokeConfig"))
        for function in self.world.resources("AWS::Lambda::Function"):
            role = self._role_of_function(function)
            if role is None:
                continue
            self._trust("function -> role", role, "lambda.amazonaws.com")
            region, account = function.stack.region, function.stack.account
            group = (function.prop("LoggingConfig") or {}).get(
                "LogGroup"
            ) or f"/aws/lambda/{function.stack.get_att(function.logical_id, 'Ref')}"
            group_arn = f"arn:aws:logs:{region}:{account}:log-group:{group}"
            if self.world.find(str(group), near=function.stack) is None and "LoggingConfig" in function.properties:
                self._problem("function -> logs", function, f"its log group {group} is not in the templates")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                self._role_call("function -> logs", function, role, action, f"{group_arn}:log-stream:example")
            key_ref = function.prop("KmsKeyArn")
            if key_ref:
                self._key_calls(
                    "function -> environment key",
                    function,
                    str(key_ref),
                    function.stack,
                    ("kms:Decrypt",),
                    role=role,
                    context=self._via("lambda", region),
                )
            if (function.prop("TracingConfig") or {}).get("Mode") == "Active":
                for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
                    self._role_call("function -> X-Ray", function, role, action, "*")
            destinations = [str((function.prop("DeadLetterConfig") or {}).get("TargetArn", ""))]
            for config in invoke_configs:
                if self.world.function_of(str(config.prop("FunctionName")), config.stack) == function:
                    on = (config.prop("DestinationConfig") or {}).values()
                    destinations += [str(d.get("Destination", "")) for d in on]
            for destination in filter(None, destinations):
                self._send_as_role("function -> failure queue", function, role, destination)

    def _send_as_role(self, edge: str, where: Located, role: Located, queue_arn: str) -> None:
        queue = self.world.find(queue_arn, near=where.stack)
        if queue is None or queue.type != "AWS::SQS::Queue":
            self._problem(edge, where, f"no check for a destination {queue_arn}")
            return
        self._role_call(
            edge, where, role, "sqs:SendMessage", queue.arn(), resource_policy=self.world.queue_policy(queue)
        )
        key_ref = queue.prop("KmsMasterKeyId")
        if key_ref:
            self._key_calls(
                edge,
                where,
                str(key_ref),
                queue.stack,
                ("kms:GenerateDataKey", "kms:Decrypt"),
                role=role,
                context=self._via("sqs", queue.stack.region),
            )

    def _encrypted_log_groups(self) -> None:
        """CloudWatch Logs encrypts a log group with its key as the logs service, for that group only
        (CloudWatch Logs user guide, "Encrypt log data using AWS KMS")."""
        for group in self.world.resources("AWS::Logs::LogGroup"):
            key_ref = group.prop("KmsKeyId")
            if not key_ref:
                continue
            region, account = group.stack.region, group.stack.account
            name = group.stack.get_att(group.logical_id, "Ref")
            context = {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:{name}"}
            self._key_calls(
                "CloudWatch Logs -> log group key",
                group,
                str(key_ref),
                group.stack,
                ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
                service=f"logs.{region}.amazonaws.com",
                service_account=account,
                context=context,
            )

    def _waf_logging(self) -> None:
        edge = "WAF -> log group"
        for logging in self.world.resources("AWS::WAFv2::LoggingConfiguration"):
            for destination in _list(logging.prop("LogDestinationConfigs")):
                name = str(destination).split(":log-group:", 1)[-1].removesuffix(":*")
                if not name.startswith("aws-waf-logs-"):
                    self._problem(edge, logging, f"WAF logs only to log groups named aws-waf-logs-*, not {name}")
                group = self.world.find(name, near=logging.stack)
                if group is None or group.type != "AWS::Logs::LogGroup":
                    self._problem(edge, logging, f"log group {name} is not in the templates")
                else:
                    self._count_wiring(edge)

    # --- the pipeline -----------------------------------------------------------------------------------------

    def _artifact_store(self, pipeline: Located, region: str) -> tuple[Located | None, str]:
        properties = pipeline.prop("ArtifactStores") or [
            {"Region": pipeline.stack.region, "ArtifactStore": pipeline.prop("ArtifactStore")}
        ]
        for entry in properties:
            if entry.get("Region", pipeline.stack.region) == region:
                store = entry["ArtifactStore"]
                bucket = self._bucket_named(str(store["Location"]))
                return bucket, str(store.get("EncryptionKey", {}).get("Id", ""))
        return None, ""

    def _bucket_named(self, name: str) -> Located | None:
        for bucket in self.world.resources("AWS::S3::Bucket"):
            if bucket.stack.get_att(bucket.logical_id, "Ref") == name:
                return bucket
        return None

    def _artifact_access(
        self, edge: str, where: object, role: Located, pipeline: Located, region: str, actions: Iterable[str]
    ) -> None:
        bucket, key_ref = self._artifact_store(pipeline, region)
        if bucket is None:
            self._problem(edge, where, f"the pipeline has no artifact store in {region}")
            return
        for action in actions:
            self._role_call(
                edge,
                where,
                role,
                action,
                f"{bucket.arn()}/{pipeline.stack.get_att(pipeline.logical_id, 'Ref')[:20]}/SourceArti/example.zip",
                resource_policy=self.world.bucket_policy(bucket),
                resource_account=bucket.stack.account,
            )
        if key_ref:
            key_actions = ("kms:Decrypt",) if all(a.startswith("s3:Get") for a in actions) else ("kms:GenerateDataKey",)
            self._key_calls(edge, where, key_ref, bucket.stack, key_actions, role=role, context=self._via("s3", region))

    def _pipelines(self) -> None:
        for pipeline in self.world.resources("AWS::CodePipeline::Pipeline"):
            stack = pipeline.stack
            pipeline_role = self.world.role_of(str(pipeline.prop("RoleArn")), near=stack)
            if pipeline_role is None:
                self._problem("pipeline -> role", pipeline, "its role is not in the templates")
                continue
            self._trust("pipeline -> role", pipeline_role, "codepipeline.amazonaws.com")
            for stage in pipeline.prop("Stages"):
                for action in stage["Actions"]:
                    self._pipeline_action(pipeline, pipeline_role, stage["Name"], action)
            # CodePipeline copies each run's artifacts into the store of every region that has one.
            for entry in pipeline.prop("ArtifactStores") or []:
                if entry["Region"] != stack.region:
                    self._artifact_access(
                        "pipeline -> replication bucket",
                        pipeline,
                        pipeline_role,
                        pipeline,
                        entry["Region"],
                        ("s3:PutObject",),
                    )

    def _assume(self, edge: str, where: object, caller: Located, role_arn: str, near: Stack) -> Located | None:
        role = self.world.role_of(role_arn, near=near)
        if role is None:
            self._problem(edge, where, f"role {role_arn} is not in the templates nor a CDK bootstrap role")
            return None
        tags = {t["Key"]: t["Value"] for t in role.prop("Tags", []) or []}
        context = {f"iam:ResourceTag/{k}": v for k, v in tags.items()}
        self._role_call(
            edge,
            where,
            caller,
            "sts:AssumeRole",
            role.arn(),
            resource_policy=self.world.trust_policy(role),
            resource_account=role.stack.account,
            context=context,
        )
        return role

    def _pipeline_action(
        self, pipeline: Located, pipeline_role: Located, stage: str, action: Mapping[str, Any]
    ) -> None:
        where = f"{pipeline} {stage}/{action['Name']}"
        provider = action["ActionTypeId"]["Provider"]
        configuration = action.get("Configuration", {})
        region = action.get("Region", pipeline.stack.region)
        role = pipeline_role
        if action.get("RoleArn"):
            assumed = self._assume(
                "pipeline -> action role", where, pipeline_role, str(action["RoleArn"]), pipeline.stack
            )
            if assumed is None:
                return
            role = assumed
        if provider == "CodeStarSourceConnection":
            connection = str(configuration["ConnectionArn"])
            prefix = connection.split(":")[2]
            self._role_call("source -> connection", where, role, f"{prefix}:UseConnection", connection)
            self._artifact_access("source -> artifacts", where, role, pipeline, region, ("s3:PutObject",))
        elif provider == "CodeBuild":
            project = self.world.find(str(configuration["ProjectName"]), near=pipeline.stack)
            if project is None:
                self._problem(
                    "action -> build", where, f"project {configuration['ProjectName']} is not in the templates"
                )
                return
            for build_action in ("codebuild:StartBuild", "codebuild:BatchGetBuilds"):
                self._role_call("action -> build", where, role, build_action, project.arn())
        elif provider == "CloudFormation":
            self._deploy_action(where, role, pipeline, region, configuration)
        elif provider == "Manual":
            topic = configuration.get("NotificationArn")
            if topic:
                self._publish_to_topic("approval -> topic", where, str(topic), pipeline.stack, role=role)
        else:
            self._problem("pipeline -> ?", where, f"no check for a {provider} action")

    def _deploy_action(
        self, where: str, role: Located, pipeline: Located, region: str, configuration: Mapping[str, Any]
    ) -> None:
        edge = "deploy role -> artifacts"
        self._artifact_access(edge, where, role, pipeline, region, ("s3:GetObject",))
        stack_name = str(configuration["StackName"])
        stack_arn = f"arn:aws:cloudformation:{region}:{role.stack.account}:stack/{stack_name}/example"
        for action in ("cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DescribeStacks"):
            self._role_call("deploy role -> stack", where, role, action, stack_arn)
        execution_role = configuration.get("RoleArn")
        if execution_role:
            self._role_call("deploy role -> execution role", where, role, "iam:PassRole", str(execution_role))
        deployed = [s for s in self.world.stacks if s.name == stack_name and s.region == region]
        if not deployed or deployed[0].account != role.stack.account:
            self._problem(edge, where, f"deploys {stack_name} in {region} with a role of another account")

    def _build_projects(self) -> None:
        for project in self.world.resources("AWS::CodeBuild::Project"):
            role = self.world.role_of(str(project.prop("ServiceRole")), near=project.stack)
            if role is None:
                self._problem("build -> role", project, "its service role is not in the templates")
                continue
            self._trust("build -> role", role, "codebuild.amazonaws.com")
            region, account = project.stack.region, project.stack.account
            name = project.stack.get_att(project.logical_id, "Ref")
            group_arn = f"arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/{name}"
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                self._role_call("build -> logs", project, role, action, f"{group_arn}:log-stream:example")
            spec = self._buildspec(project)
            for report_group in spec.get("reports") or {}:
                if not str(report_group).startswith("arn:"):
                    continue  # a group named by the project, which CodeBuild creates in its own name
                for action in ("codebuild:CreateReport", "codebuild:UpdateReport", "codebuild:BatchPutTestCases"):
                    self._role_call("build -> report group", project, role, action, str(report_group))
            for pipeline in self.world.resources("AWS::CodePipeline::Pipeline"):
                if pipeline.stack is project.stack:
                    self._artifact_access("build -> artifacts", project, role, pipeline, region, ("s3:GetObject",))
            variables = {
                v["Name"]: v["Value"] for v in (project.prop("Environment") or {}).get("EnvironmentVariables", [])
            }
            if "EVIDENCE_BUCKET" in variables:
                self._evidence(project, role, str(variables["EVIDENCE_BUCKET"]))
            for assumed in re.findall(r"role_arn (arn:aws:iam::\d{12}:role/[^\s\"\\]+)", json.dumps(spec)):
                self._assumed_by_build(project, role, assumed)

    def _buildspec(self, project: Located) -> dict[str, Any]:
        source = project.prop("Source") or {}
        text = source.get("BuildSpec", "")
        try:
            spec = json.loads(text) if str(text).lstrip().startswith("{") else {}
        except ValueError:
            spec = {}
        return spec if isinstance(spec, dict) else {}

    def _evidence(self, project: Located, role: Located, bucket_name: str) -> None:
        edge = "build -> evidence bucket"
        bucket = self._bucket_named(bucket_name)
        if bucket is None:
            self._problem(edge, project, f"evidence bucket {bucket_name} is not in the templates")
            return
        lock = bucket.prop("ObjectLockConfiguration") or {}
        if bucket.prop("ObjectLockEnabled") not in (True, "true") or "DefaultRetention" not in json.dumps(lock):
            self._problem(edge, project, "the evidence bucket has no Object Lock default retention")
        self._role_call(
            edge,
            project,
            role,
            "s3:PutObject",
            f"{bucket.arn()}/evidence/0123456789abcdef0123456789abcdef01234567/execution-id/report.html",
            resource_policy=self.world.bucket_policy(bucket),
        )
        key_ref = next(
            (
                rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
                for rule in (bucket.prop("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration", [])
            ),
            None,
        )
        if key_ref:
            self._key_calls(
                edge,
                project,
                str(key_ref),
                bucket.stack,
                ("kms:GenerateDataKey",),
                role=role,
                context=self._via("s3", bucket.stack.region),
            )

    def _assumed_by_build(self, project: Located, role: Located, role_arn: str) -> None:
        edge = "build -> stage deploy role"
        assumed = self._assume(edge, project, role, role_arn, project.stack)
        if assumed is None:
            return
        region = role_arn.rsplit("-", 3)[-3:]
        region_name = "-".join(region)
        stack_arn = f"arn:aws:cloudformation:{region_name}:{assumed.stack.account}:stack/example/id"
        for action in ("cloudformation:UpdateTerminationProtection", "cloudformation:DescribeStacks"):
            self._role_call(edge, project, assumed, action, stack_arn)

    def _notification_rules(self) -> None:
        edge = "notifications -> topic"
        for rule in self.world.resources("AWS::CodeStarNotifications::NotificationRule"):
            for target in rule.prop("Targets") or []:
                if target.get("TargetType") != "SNS":
                    self._problem(edge, rule, f"no check for a {target.get('TargetType')} target")
                    continue
                self._publish_to_topic(
                    edge,
                    rule,
                    str(target["TargetAddress"]),
                    rule.stack,
                    service="codestar-notifications.amazonaws.com",
                    source_arn=rule.arn(),
                )


def check(world: World) -> tuple[Findings, set[str]]:
    """Every call and problem of the world, and the wiring-only edges found sound."""
    checker = Checker(world)
    return checker.run(), checker.wiring


def iter_denied(findings: Findings) -> Iterator[str]:
    for call, decision in findings.denied():
        yield f"{call.describe()}\n    " + "\n    ".join(decision.reasons)
