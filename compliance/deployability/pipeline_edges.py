"""Edges of the pipeline: its role and every action's role, the source connection, build projects (logs,
report groups, artifacts, the evidence bucket, the change-impact baselines, roles they assume, the stage
resources their actions name through stack outputs), deploy roles reading the artifacts across accounts and
regions, CloudFormation resolving a template's dynamic references, the approval's and the notification
rules' topics, and the rules of the stages' conditions (the alarms a bake watches, read through the role the
rule names)."""

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from compliance.deployability.checker import CheckerBase
from compliance.deployability.template import Stack
from compliance.deployability.world import Located

# The stage conditions of a CodePipeline V2 stage declaration.
STAGE_CONDITIONS = ("BeforeEntry", "OnSuccess", "OnFailure")
# Where each stage records the templates the next release's change impact compares with.
BASELINES_PREFIX = "baselines/"
# A CodePipeline variable: `#{<namespace>.<name>}`, where a deploy action's namespace holds its stack's outputs.
PIPELINE_VARIABLE = re.compile(r"#\{([^.}]+)\.([^}]+)\}")
# `{{resolve:secretsmanager:<name or ARN>:SecretString:...}}`; an ARN holds six colons of its own.
DYNAMIC_SECRET_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:((?:arn:[^:]*:[^:]*:[^:]*:[^:]*:secret:)?[^:}]+)")


class PipelineEdges(CheckerBase):
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
                self._stage_conditions(pipeline, pipeline_role, stage)
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

    def _stage_conditions(self, pipeline: Located, pipeline_role: Located, stage: Mapping[str, Any]) -> None:
        rolls_back = False
        for kind in STAGE_CONDITIONS:
            declaration = stage.get(kind) or {}
            rolls_back |= declaration.get("Result") == "ROLLBACK"
            for condition in declaration.get("Conditions") or []:
                rolls_back |= condition.get("Result") == "ROLLBACK"
                for rule in condition.get("Rules") or []:
                    self._stage_rule(pipeline, pipeline_role, f"{pipeline} {stage['Name']} {kind}/{rule['Name']}", rule)
        if rolls_back and pipeline.prop("ExecutionMode") == "PARALLEL":
            self._problem(
                "stage -> rollback", pipeline, f"stage {stage['Name']} rolls back, which PARALLEL mode refuses"
            )

    def _stage_rule(self, pipeline: Located, pipeline_role: Located, where: str, rule: Mapping[str, Any]) -> None:
        provider = rule["RuleTypeId"]["Provider"]
        configuration = rule.get("Configuration") or {}
        if provider == "DeploymentWindow":
            if not configuration.get("Cron"):
                self._problem("rule -> deployment window", where, "a DeploymentWindow rule needs its Cron")
            else:
                self._count_wiring("rule -> deployment window")
            return
        if provider != "CloudWatchAlarm":
            self._problem("pipeline -> ?", where, f"no check for a {provider} rule")
            return
        role = pipeline_role
        if rule.get("RoleArn"):
            assumed = self._assume("pipeline -> rule role", where, pipeline_role, str(rule["RoleArn"]), pipeline.stack)
            if assumed is None:
                return
            role = assumed
        region = str(rule.get("Region") or pipeline.stack.region)
        name = str(configuration.get("AlarmName", ""))
        alarms = [
            alarm
            for kind in ("AWS::CloudWatch::CompositeAlarm", "AWS::CloudWatch::Alarm")
            for alarm in self.world.resources(kind)
            if (alarm.stack.account, alarm.stack.region) == (role.stack.account, region)
            and alarm.stack.get_att(alarm.logical_id, "Ref") == name
        ]
        if not alarms:
            self._problem(
                "rule -> alarm",
                where,
                f"no alarm {name!r} in account {role.stack.account} {region}, which its role reads",
            )
            return
        if not str(configuration.get("WaitTime", "0")).isdigit():
            self._problem("rule -> alarm", where, f"WaitTime {configuration.get('WaitTime')!r} is not minutes")
        for action in ("cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"):
            self._role_call("rule -> alarm", where, role, action, alarms[0].arn(), resource_account=role.stack.account)

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
            self._outputs_read_by_build(pipeline, where, project, configuration)
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
        elif execution_role:
            self._dynamic_references(where, deployed[0], str(execution_role))

    def _dynamic_references(self, where: str, stack: Stack, execution_role_arn: str) -> None:
        """CloudFormation reads every secret a template's dynamic references name, as the stack's execution
        role, while it creates or updates the resource holding the reference."""
        edge = "CloudFormation -> dynamic reference"
        text = json.dumps([stack.resolve(r.get("Properties", {})) for r in stack.resources.values()])
        references = sorted(set(DYNAMIC_SECRET_REFERENCE.findall(text)))
        if not references:
            return
        role = self.world.role_of(execution_role_arn, near=stack)
        if role is None:
            self._problem(edge, where, f"execution role {execution_role_arn} is not in the templates")
            return
        for reference in references:
            secret = next(
                (
                    found
                    for found in self.world.resources("AWS::SecretsManager::Secret")
                    if found.stack is stack and reference in (found.arn(), found.prop("Name"))
                ),
                None,
            )
            if secret is None:
                self._problem(edge, where, f"{stack.name} resolves secret {reference}, which is not in its template")
                continue
            self._read_secret(edge, where, role, secret)

    def _outputs_read_by_build(
        self, pipeline: Located, where: str, project: Located, configuration: Mapping[str, Any]
    ) -> None:
        """A build action's variables that carry a stage's stack outputs: each output that names a resource is
        a call the build makes to it (a URL names none)."""
        edge = "build -> stage secret"
        variables = json.loads(str(configuration.get("EnvironmentVariables") or "[]"))
        role = self.world.role_of(str(project.prop("ServiceRole")), near=project.stack)
        for variable in variables:
            for namespace, output in PIPELINE_VARIABLE.findall(str(variable.get("value", ""))):
                stack = self._stack_of_namespace(pipeline, namespace)
                if stack is None:
                    continue  # not a deploy action's variables (e.g. codepipeline.PipelineExecutionId)
                value = stack.resolve_str(stack.template.get("Outputs", {})[output]["Value"])
                target = self.world.find(value, near=stack)
                if target is None or role is None:
                    continue  # a value that names no resource (a URL); a missing role is reported with its project
                if target.type != "AWS::SecretsManager::Secret":
                    self._problem(edge, where, f"no check for a build reading {target.type} {value}")
                    continue
                self._read_secret(edge, where, role, target)

    def _stack_of_namespace(self, pipeline: Located, namespace: str) -> Stack | None:
        for stage in pipeline.prop("Stages"):
            for action in stage["Actions"]:
                if action.get("Namespace") == namespace and action["ActionTypeId"]["Provider"] == "CloudFormation":
                    region = action.get("Region", pipeline.stack.region)
                    name = action["Configuration"]["StackName"]
                    return next((s for s in self.world.stacks if s.name == name and s.region == region), None)
        return None

    def _read_secret(self, edge: str, where: str, role: Located, secret: Located) -> None:
        """GetSecretValue (identity and the secret's policy) and the decryption Secrets Manager asks KMS for,
        with the secret's ARN as encryption context (key policy)."""
        self._role_call(
            edge,
            where,
            role,
            "secretsmanager:GetSecretValue",
            secret.arn(),
            resource_policy=self.world.secret_policy(secret),
            resource_account=secret.stack.account,
        )
        key_ref = str(secret.prop("KmsKeyId") or "alias/aws/secretsmanager")
        if key_ref.endswith("alias/aws/secretsmanager") and secret.stack.account != role.stack.account:
            self._problem(
                edge, where, "a secret read from another account needs a customer key, whose policy admits the reader"
            )
        context = {**self._via("secretsmanager", secret.stack.region), "kms:EncryptionContext:SecretARN": secret.arn()}
        self._key_calls(edge, where, key_ref, secret.stack, ("kms:Decrypt",), role=role, context=context)

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
            if "BASELINE_BUCKET" in variables:
                self._baselines(project, role, str(variables["BASELINE_BUCKET"]), variables.get("BASELINE_STAGES"))
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

    def _baseline_files(self, stage: str) -> list[str]:
        """What `make baseline-record` uploads for a stage: its manifest, every template, release.json."""
        directory = "" if stage == "pipeline" else f"assembly-Pipeline-{stage}"
        templates = [s.template_file for s in self.world.stacks if s.assembly_directory == directory]
        if not templates:
            return []
        return ["manifest.json", "release.json", *sorted(templates)]

    def _baselines(self, project: Located, role: Located, bucket_name: str, stages: object) -> None:
        """The Build step lists and reads every stage's baseline; a smoke-test step writes its stages' files."""
        bucket = self._bucket_named(bucket_name)
        edge = "build -> baselines" if stages is None else "smoke tests -> baselines"
        if bucket is None:
            self._problem(edge, project, f"baseline bucket {bucket_name} is not in the templates")
            return
        policy, key_ref = (
            self.world.bucket_policy(bucket),
            next(
                (
                    rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
                    for rule in (bucket.prop("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration", [])
                ),
                None,
            ),
        )
        via = self._via("s3", bucket.stack.region)
        if stages is None:
            context = {"s3:prefix": BASELINES_PREFIX}
            self._role_call(edge, project, role, "s3:ListBucket", bucket.arn(), resource_policy=policy, context=context)
            stages_recorded = sorted(
                {s.assembly_directory.removeprefix("assembly-Pipeline-") or "pipeline" for s in self.world.stacks}
            )
            for stage in stages_recorded:
                for name in self._baseline_files(stage):
                    self._role_call(
                        edge,
                        project,
                        role,
                        "s3:GetObject",
                        f"{bucket.arn()}/{BASELINES_PREFIX}{stage}/{name}",
                        resource_policy=policy,
                    )
            if key_ref:
                self._key_calls(edge, project, str(key_ref), bucket.stack, ("kms:Decrypt",), role=role, context=via)
            return
        for stage in str(stages).split():
            files = self._baseline_files(stage)
            if not files:
                self._problem(edge, project, f"records stage {stage!r}, which the cloud assembly does not hold")
            for name in files:
                self._role_call(
                    edge,
                    project,
                    role,
                    "s3:PutObject",
                    f"{bucket.arn()}/{BASELINES_PREFIX}{stage}/{name}",
                    resource_policy=policy,
                )
        if key_ref:
            self._key_calls(edge, project, str(key_ref), bucket.stack, ("kms:GenerateDataKey",), role=role, context=via)

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
