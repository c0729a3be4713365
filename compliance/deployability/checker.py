"""The building blocks every edge check uses: calls made by a role or an AWS service, the key-policy side
of using a KMS key, trust policies, publishing to topics and sending to queues, and the lookups from a
resource to its role, key, bucket or function alias."""

from collections.abc import Iterable, Mapping
from typing import Any

from compliance.deployability.calls import Call, Findings, Problem
from compliance.deployability.policy import Document, Principal, Request
from compliance.deployability.template import Stack
from compliance.deployability.world import Located, World


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


class CheckerBase:
    """State and helpers shared by the edge checks: the world, and the calls and problems found."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.findings = Findings()
        self.wiring: set[str] = set()

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

    def _queue_key_calls(self, edge: str, where: object, queue: Located, actions: Iterable[str], **caller: Any) -> None:
        """The key side of using an encrypted queue (SQS calls KMS for the caller: kms:ViaService sqs)."""
        key_ref = queue.prop("KmsMasterKeyId")
        if key_ref:
            context = self._via("sqs", queue.stack.region)
            self._key_calls(edge, where, str(key_ref), queue.stack, actions, context=context, **caller)

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

    def _count_wiring(self, edge: str) -> None:
        """Record that a wiring-only edge (no policy involved) was found and is sound."""
        self.wiring.add(edge)

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
        self._queue_key_calls(
            edge,
            where,
            queue,
            ("kms:GenerateDataKey", "kms:Decrypt"),
            service=service,
            service_account=near.account,
            source_arn=source_arn,
        )

    def _send_as_role(self, edge: str, where: Located, role: Located, queue_arn: str) -> None:
        queue = self.world.find(queue_arn, near=where.stack)
        if queue is None or queue.type != "AWS::SQS::Queue":
            self._problem(edge, where, f"no check for a destination {queue_arn}")
            return
        self._role_call(
            edge, where, role, "sqs:SendMessage", queue.arn(), resource_policy=self.world.queue_policy(queue)
        )
        self._queue_key_calls(edge, where, queue, ("kms:GenerateDataKey", "kms:Decrypt"), role=role)

    def _bucket_named(self, name: str) -> Located | None:
        for bucket in self.world.resources("AWS::S3::Bucket"):
            if bucket.stack.get_att(bucket.logical_id, "Ref") == name:
                return bucket
        return None

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
