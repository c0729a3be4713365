"""The pipeline stack: source, synth, self-mutation, assets, dev -> staging -> (approval) -> prod."""

from aws_cdk import RemovalPolicy, Stack, Tags, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config.schema import AppConfig, EnvironmentConfig
from config.versions import pinned_assets_version, pinned_cli_version
from pipeline.approval import APPROVAL_STAGE_NAME, ApproversPolicy, approval_step
from pipeline.artifact_store import ArtifactStore
from pipeline.baselines import PIPELINE_BASELINE, baseline_files, stage_stacks
from pipeline.evidence import EvidenceStore
from pipeline.notifications import PipelineTopics
from pipeline.smoke_tests import name_the_role, role_policy_path, smoke_test_step
from pipeline.source import SOURCE_ACTION_NAME, connection_source, grant_connection_by_its_prefix
from pipeline.stage_gates import DeploymentWindow, StageGates, WatchedAlarm, apply_stage_gates
from pipeline.synth_step import BUILD_IMAGE, synth_step
from pipeline.termination_protection import termination_protection_step
from services.platform.buckets import access_log_bucket, server_access_logs_statement
from stages.application_stage import PROJECT_TAG, ApplicationStage

# Set by buildspec.yml from cdk.out/compliance/summary.txt and impact.txt; shown in the prod approval comment.
COMPLIANCE_SUMMARY_VARIABLE = "COMPLIANCE_SUMMARY"
IMPACT_SUMMARY_VARIABLE = "IMPACT_SUMMARY"


class PipelineStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: object) -> None:
        pipeline_config = config.pipeline
        super().__init__(
            scope,
            construct_id,
            description=(
                f"Delivery pipeline {pipeline_config.name}: "
                f"{pipeline_config.repository}@{pipeline_config.branch} to dev, staging and prod"
            ),
            termination_protection=True,
            **kwargs,  # type: ignore[arg-type]
        )
        Tags.of(self).add("project", PROJECT_TAG)
        Tags.of(self).add("managed-by", "cdk-pipelines")

        # (account, region) pairs whose account-wide settings a stage already manages.
        self._account_settings_owned: set[tuple[str, str]] = set()
        # Every application stage with its environment's configuration, in pipeline order.
        self.application_stages: list[tuple[ApplicationStage, EnvironmentConfig]] = []
        # Each smoke-test step with the stage whose baseline it records, the first one also the pipeline's.
        self._baseline_recorders: list[tuple[pipelines.CodeBuildStep, str, ApplicationStage]] = []
        # Each stage's smoke-test step and the fixed name of its role.
        self._smoke_tests: list[tuple[pipelines.CodeBuildStep, ApplicationStage, str]] = []
        self._config = config
        store = ArtifactStore(self, "Artifacts")
        topics = PipelineTopics(self, "Notifications", config=pipeline_config)
        self.test_reports = codebuild.ReportGroup(
            self, "TestReports", type=codebuild.ReportGroupType.TEST, removal_policy=RemovalPolicy.DESTROY
        )
        self.smoke_test_reports = codebuild.ReportGroup(
            self, "SmokeTestReports", type=codebuild.ReportGroupType.TEST, removal_policy=RemovalPolicy.DESTROY
        )
        self.compliance_reports = codebuild.ReportGroup(
            self,
            "ComplianceReports",
            type=codebuild.ReportGroupType.TEST,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.evidence = EvidenceStore(
            self,
            "Evidence",
            retention_days=config.compliance.evidence_retention_days,
            access_logs=store.access_logs,
        )

        self.source = connection_source(
            pipeline_config.repository, pipeline_config.branch, pipeline_config.connection_arn
        )
        synth = synth_step(
            self.source,
            report_groups={"tests": self.test_reports, "compliance": self.compliance_reports},
            evidence=self.evidence,
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_config.name,
            pipeline_type=codepipeline.PipelineType.V2,
            synth=synth,
            self_mutation=True,
            publish_assets_in_parallel=False,
            # One deploy action per stack instead of prepare + execute, so each stage's smoke tests fit in
            # the time of the default pipeline's two actions (bench: critical path).
            use_change_sets=False,
            artifact_bucket=store.bucket,
            cross_account_keys=config.has_cross_account_environment,
            # Key rotation applies to the keys CDK Pipelines creates for cross-account deploys only.
            enable_key_rotation=config.has_cross_account_environment,
            cli_version=pinned_cli_version(),
            cdk_assets_cli_version=pinned_assets_version(),
            docker_enabled_for_synth=False,
            docker_enabled_for_self_mutation=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE)
            ),
        )

        commit_id = self.source.source_attribute("CommitId")
        staging_api_url = ""
        for env_config in config.ordered_environments:
            if env_config.is_production:
                # A stage of its own: a rejected promotion fails no deployed stage, so nothing rolls back.
                self.pipeline.add_wave(
                    APPROVAL_STAGE_NAME,
                    pre=[
                        approval_step(
                            config=pipeline_config,
                            commit_id=commit_id,
                            staging_api_url=staging_api_url,
                            compliance_summary=synth.exported_variable(COMPLIANCE_SUMMARY_VARIABLE),
                            impact_summary=synth.exported_variable(IMPACT_SUMMARY_VARIABLE),
                            topic=topics.approvals,
                        )
                    ],
                )
            smoke_tests = self._add_environment(env_config, synth)
            if env_config.name == "staging":
                staging_api_url = smoke_tests[0].exported_variable("API_URL")

        self.pipeline.build_pipeline()
        apply_stage_gates(self.pipeline.pipeline, self._stage_gates(config))
        self._grant_baseline_records()
        for step, _, role_name in self._smoke_tests:
            name_the_role(step, role_name)
        grant_connection_by_its_prefix(self.pipeline.pipeline, pipeline_config.connection_arn)
        self._add_push_trigger(pipeline_config.branch, list(pipeline_config.ignored_paths))
        topics.watch(self.pipeline.pipeline)
        topics.approvals.grant_publish(self.pipeline.pipeline.role)
        self.approvers = ApproversPolicy(self, "Approvers", config=pipeline_config, pipeline_name=pipeline_config.name)
        self.artifact_store = store
        self.replication_buckets = self._log_access_to_replication_buckets()

    def _log_access_to_replication_buckets(self) -> list[s3.IBucket]:
        """Give each cross-region replication bucket CDK Pipelines generates versioning and an access-log
        bucket in its own support stack (server access logs must stay in the bucket's region)."""
        buckets = []
        for region, support in sorted(self.pipeline.pipeline.cross_region_support.items()):
            logs = access_log_bucket(support.stack, "ReplicationAccessLogs")
            bucket = support.replication_bucket
            cfn_bucket = bucket.node.default_child
            cfn_bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
                destination_bucket_name=logs.bucket_name, log_file_prefix=f"replication-{region}/"
            )
            cfn_bucket.versioning_configuration = s3.CfnBucket.VersioningConfigurationProperty(status="Enabled")
            # Its name is fixed: a failed first create must not leave it behind for the retry to trip over.
            cfn_bucket.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
            logs.add_to_resource_policy(server_access_logs_statement(logs, bucket))
            buckets.append(bucket)
        return buckets

    def placeholder_values(self) -> dict[str, str]:
        """What the acknowledgment registry's placeholders stand for in this stack."""
        return {
            "account": self.account,
            "region": self.region,
            "artifact_bucket": self.get_logical_id(self.artifact_store.bucket.node.default_child),
            "evidence_bucket": self.get_logical_id(self.evidence.bucket.node.default_child),
        }

    def role_placeholder_values(self) -> dict[str, dict[str, str]]:
        """Per role policy, what the registry's stage placeholders stand for: each smoke-test role may read
        one stage's identity, in that stage's account and region."""
        return {
            role_policy_path(step): {
                "stage_account": str(stage.account),
                "stage_region": str(stage.region),
                "stage_environment": stage.environment_name,
            }
            for step, stage, _ in self._smoke_tests
        }

    def replication_bucket_names(self) -> list[str]:
        # Seen from this stack, a bucket of another region resolves to its generated physical name.
        return [str(self.resolve(b.bucket_name)) for b in self.replication_buckets]

    def _stage_gates(self, config: AppConfig) -> list[StageGates]:
        """Every deployed environment rolls back on failure; bakes and windows as its configuration says."""
        gates = []
        for env_config in config.ordered_environments:
            settings = env_config.gates
            window = settings.deployment_window
            watched = tuple(
                WatchedAlarm(env_config.account, stage.region, name)
                for stage, env in self.application_stages
                if env is env_config
                for name in stage.release_health_alarm_names
            )
            gates.append(
                StageGates(
                    stage_name=env_config.name,
                    bake_minutes=settings.bake_minutes,
                    watched=watched if settings.bake_minutes else (),
                    window=DeploymentWindow(window.cron, window.time_zone) if window else None,
                )
            )
        return gates

    def _add_environment(
        self, env_config: EnvironmentConfig, synth: pipelines.CodeBuildStep
    ) -> list[pipelines.CodeBuildStep]:
        """One wave per environment: its regions deploy in parallel, each followed by its smoke tests (and,
        where stacks ask for it, the step that switches their termination protection on)."""
        wave = self.pipeline.add_wave(env_config.name)
        smoke_tests = []
        for region in env_config.regions:
            # A single-region environment's stage is named after it, so the pipeline stage reads "dev".
            stage_id = env_config.name if len(env_config.regions) == 1 else f"{env_config.name}-{region}"
            place = (env_config.account, region)
            stage = ApplicationStage(
                self,
                stage_id,
                env_config=env_config,
                region=region,
                smoke_test_role_arn=self._config.smoke_test_role_arn(env_config.name, region),
                manages_account_settings=place not in self._account_settings_owned,
            )
            self._account_settings_owned.add(place)
            self.application_stages.append((stage, env_config))
            # The first environment also records the pipeline's own stacks: self-mutation deployed them.
            recorded = [stage_id, PIPELINE_BASELINE] if not self._baseline_recorders else [stage_id]
            step = smoke_test_step(
                f"SmokeTests-{region}",
                stage,
                source=self.source,
                cloud_assembly=synth,
                report_group=self.smoke_test_reports,
                baseline_bucket_name=self.evidence.bucket.bucket_name,
                recorded_baselines=recorded,
            )
            self._baseline_recorders.append((step, stage_id, stage))
            self._smoke_tests.append((step, stage, self._config.smoke_test_role_name(env_config.name, region)))
            protect = termination_protection_step(f"ProtectStacks-{region}", stage, self.source)
            # Both run once the stage is deployed, side by side.
            wave.add_stage(stage, post=[step, *([protect] if protect else [])])
            smoke_tests.append(step)
        return smoke_tests

    def _grant_baseline_records(self) -> None:
        """Each smoke-test step may write exactly the files of the baselines it records (every stack's
        template, the manifest and release.json), known once the pipeline is built (its support stacks)."""
        pipeline_stacks = [self, *(s.stack for _, s in sorted(self.pipeline.pipeline.cross_region_support.items()))]
        for index, (step, stage_id, stage) in enumerate(self._baseline_recorders):
            keys = [f"{stage_id}/{name}" for name in baseline_files(stage_stacks(stage))]
            if index == 0:
                keys += [f"{PIPELINE_BASELINE}/{name}" for name in baseline_files(pipeline_stacks)]
            for statement in self.evidence.baseline_writer_statements(keys):
                step.project.add_to_role_policy(statement)

    def _add_push_trigger(self, branch: str, ignored_paths: list[str]) -> None:
        """Start on a push to the branch unless every changed file matches an ignored path (V2 trigger)."""
        source_action = next(
            action
            for stage in self.pipeline.pipeline.stages
            for action in stage.actions
            if action.action_properties.action_name == SOURCE_ACTION_NAME
        )
        self.pipeline.pipeline.add_trigger(
            provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
            git_configuration=codepipeline.GitConfiguration(
                source_action=source_action,
                push_filter=[
                    codepipeline.GitPushFilter(
                        branches_includes=[branch],
                        file_paths_includes=["**"],
                        file_paths_excludes=ignored_paths,
                    )
                ],
            ),
        )
