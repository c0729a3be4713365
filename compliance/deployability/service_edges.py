"""Edges inside an application stack: alarm actions, rule targets, buckets (events, access logs), event
source mappings, API integrations and access logs, CodeDeploy and its hooks, each function's own needs
and the queues it sends to, encrypted log groups and WAF logging."""

import json
import re
from collections.abc import Mapping
from typing import Any

from compliance.deployability.checker import CheckerBase, _arn_service, _list
from compliance.deployability.template import Stack
from compliance.deployability.world import Located


class ServiceEdges(CheckerBase):
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
            self._queue_key_calls(edge, mapping, queue, ("kms:Decrypt",), role=role)

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
            # API Gateway logs with the one CloudWatch role of its account and region, which one stack sets.
            settings = [
                account
                for account in self.world.resources("AWS::ApiGateway::Account")
                if (account.stack.account, account.stack.region) == (stage.stack.account, stage.stack.region)
            ]
            if len(settings) != 1:
                self._problem(
                    edge,
                    stage,
                    f"{len(settings)} stacks set API Gateway's CloudWatch role of {stage.stack.account} "
                    f"{stage.stack.region}: exactly one must (the last one deployed would win)",
                )
                continue
            (account,) = settings
            role = self.world.role_of(str(account.prop("CloudWatchRoleArn")), near=account.stack)
            if role is None:
                self._problem(edge, stage, "API Gateway's CloudWatch role is not in the templates")
                continue
            self._trust(edge, role, "apigateway.amazonaws.com")
            group_arn = str(destination).removesuffix(":*")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                self._role_call(edge, stage, role, action, f"{group_arn}:log-stream:example")

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

    def _function_queues(self) -> None:
        """A function given a queue's URL in its environment sends messages to it (the runtime learns the
        queues it sends to from its environment only): its role, the queue's policy and the policy of
        the queue's key must all allow the send."""
        for function in self.world.resources("AWS::Lambda::Function"):
            variables = (function.prop("Environment") or {}).get("Variables", {})
            urls = sorted({str(v) for v in variables.values() if str(v).startswith("https://sqs.")})
            role = self._role_of_function(function) if urls else None
            for url in urls:
                if role is not None:
                    self._send_as_role("function -> queue", function, role, url)

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
