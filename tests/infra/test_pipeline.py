"""The pipeline stack: its stages, source, trigger, build, approval, smoke tests and notifications."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from compliance.impact.render import longest_impact_line
from tests.conftest import REPO_ROOT
from tests.synth_fixtures import Synthesized, only_resource, rendered, resource_with_prefix, resources_of

PIPELINE_NAME = "serverless-python-delivery"


@pytest.fixture(scope="module")
def pipeline(synthesized: Synthesized) -> dict[str, Any]:
    _, resource = only_resource(synthesized.pipeline, "AWS::CodePipeline::Pipeline")
    return resource["Properties"]


def _stage(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in pipeline["Stages"] if s["Name"] == name)


def _actions(pipeline: dict[str, Any], stage_name: str, provider: str) -> list[dict[str, Any]]:
    return [a for a in _stage(pipeline, stage_name)["Actions"] if a["ActionTypeId"]["Provider"] == provider]


def _home_artifact_store(pipeline: dict[str, Any]) -> dict[str, Any]:
    return next(s["ArtifactStore"] for s in pipeline["ArtifactStores"] if s["Region"] == "eu-west-1")


def _project(synthesized: Synthesized, action: dict[str, Any]) -> dict[str, Any]:
    logical_id = action["Configuration"]["ProjectName"]["Ref"]
    return synthesized.pipeline["Resources"][logical_id]["Properties"]


def _buildspec(project: dict[str, Any]) -> dict[str, Any]:
    spec = project["Source"]["BuildSpec"]
    if isinstance(spec, dict):  # Fn::Join when the spec holds tokens (report group ARNs)
        spec = "".join(part if isinstance(part, str) else f"<{part['Fn::GetAtt'][0]}>" for part in spec["Fn::Join"][1])
    return json.loads(spec) if spec.lstrip().startswith("{") else {"raw": spec}


def test_stages_run_in_delivery_order(pipeline: dict[str, Any]) -> None:
    names = [stage["Name"] for stage in pipeline["Stages"]]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "dev", "staging", "prod-approval", "prod"]


def test_pipeline_is_type_v2_with_our_name(pipeline: dict[str, Any]) -> None:
    assert pipeline["PipelineType"] == "V2"
    assert pipeline["Name"] == PIPELINE_NAME


def test_source_is_the_connection_on_main(pipeline: dict[str, Any], synthesized: Synthesized) -> None:
    (action,) = _stage(pipeline, "Source")["Actions"]
    assert action["ActionTypeId"] == {
        "Category": "Source",
        "Owner": "AWS",
        "Provider": "CodeStarSourceConnection",
        "Version": "1",
    }
    configuration = action["Configuration"]
    assert configuration["BranchName"] == "main"
    assert configuration["FullRepositoryId"] == "owner/name"
    assert configuration["ConnectionArn"] == synthesized.config.pipeline.connection_arn


def test_push_trigger_filters_branch_and_ignores_docs_only_pushes(pipeline: dict[str, Any]) -> None:
    (trigger,) = pipeline["Triggers"]
    assert trigger["ProviderType"] == "CodeStarSourceConnection"
    git = trigger["GitConfiguration"]
    assert git["SourceActionName"] == "Source"
    (push,) = git["Push"]
    assert push["Branches"] == {"Includes": ["main"]}
    assert push["FilePaths"]["Includes"] == ["**"]
    # `**/*.md` needs a directory, so a root README.md is ignored by `*.md` of its own.
    assert set(push["FilePaths"]["Excludes"]) == {"*.md", "**/*.md", "docs/**"}


def test_self_mutation_runs_before_assets_and_assets_publish_in_one_action(pipeline: dict[str, Any]) -> None:
    (self_mutate,) = _stage(pipeline, "UpdatePipeline")["Actions"]
    assert self_mutate["Name"] == "SelfMutate"
    assert [a["Name"] for a in _stage(pipeline, "Assets")["Actions"]] == ["FileAssets"]


def test_self_mutation_uses_the_pinned_cdk_cli(synthesized: Synthesized, pipeline: dict[str, Any]) -> None:
    (self_mutate,) = _stage(pipeline, "UpdatePipeline")["Actions"]
    spec = json.dumps(_project(synthesized, self_mutate)["Source"]["BuildSpec"])
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert f"aws-cdk@{pinned}" in spec


def test_every_environment_deploys_its_stacks_then_runs_smoke_tests(pipeline: dict[str, Any]) -> None:
    for env in ("dev", "staging", "prod"):
        deploys = _actions(pipeline, env, "CloudFormation")
        smoke = [a for a in _actions(pipeline, env, "CodeBuild") if "SmokeTests" in a["Name"]]
        regions = {"dev": 1, "staging": 1, "prod": 2}[env]
        assert len(smoke) == regions, f"{env}: one smoke-test action per region"
        assert min(a["RunOrder"] for a in smoke) > max(a["RunOrder"] for a in deploys)


def test_prod_regions_deploy_in_parallel_as_one_wave(pipeline: dict[str, Any]) -> None:
    executes = _actions(pipeline, "prod", "CloudFormation")
    assert all(a["Configuration"]["ActionMode"] == "CREATE_UPDATE" for a in executes), "one deploy action per stack"
    assert {a.get("Region", "eu-west-1") for a in executes} == {"eu-west-1", "eu-central-1"}
    assert len({a["RunOrder"] for a in executes}) == 1


def test_manual_approval_is_a_stage_of_its_own_right_before_prod(pipeline: dict[str, Any]) -> None:
    """A rejected promotion then fails no deployed stage, so it rolls nothing back."""
    names = [stage["Name"] for stage in pipeline["Stages"]]
    assert names.index("prod-approval") == names.index("prod") - 1
    assert [a["ActionTypeId"]["Provider"] for a in _stage(pipeline, "prod-approval")["Actions"]] == ["Manual"]
    assert "OnFailure" not in _stage(pipeline, "prod-approval")
    for other in ("dev", "staging", "prod"):
        assert not _actions(pipeline, other, "Manual")


def test_approval_comment_names_the_commit_and_the_staging_url(pipeline: dict[str, Any]) -> None:
    (approval,) = _actions(pipeline, "prod-approval", "Manual")
    configuration = approval["Configuration"]
    comment = configuration["CustomData"]
    assert "#{Source_owner_name_main.CommitId}" in comment or re.search(r"#\{[^}]+\.CommitId\}", comment)
    assert re.search(r"#\{[^}]+\.API_URL\}", comment), comment
    assert re.search(r"Compliance: #\{[^}]+\.COMPLIANCE_SUMMARY\}", comment), comment
    assert re.search(r"#\{[^}]+\.CommitId\}", configuration["ExternalEntityLink"])
    assert "NotificationArn" in configuration


def test_approval_comment_carries_prods_change_impact_line(pipeline: dict[str, Any]) -> None:
    (approval,) = _actions(pipeline, "prod-approval", "Manual")
    assert re.search(r"Impact: #\{Build@Synth\.IMPACT_SUMMARY\}\.", approval["Configuration"]["CustomData"])


def test_approval_comment_fits_codepipeline_limit_once_filled(pipeline: dict[str, Any]) -> None:
    (approval,) = _actions(pipeline, "prod-approval", "Manual")
    filled = re.sub(r"#\{[^}]+\.CommitId\}", "0" * 40, approval["Configuration"]["CustomData"])
    filled = re.sub(r"#\{[^}]+\.API_URL\}", "https://abcdefghij.execute-api.eu-central-1.amazonaws.com/api/", filled)
    longest_summary = "gate PASSED (0 open, 9999 acknowledged), 9999 report-only findings, cfn-lint 0 errors"
    filled = re.sub(r"#\{[^}]+\.COMPLIANCE_SUMMARY\}", longest_summary, filled)
    filled = re.sub(r"#\{[^}]+\.IMPACT_SUMMARY\}", longest_impact_line().strip(), filled)
    assert len(filled) <= 500, filled


def test_staging_smoke_tests_export_the_api_url_for_the_approval(
    synthesized: Synthesized, pipeline: dict[str, Any]
) -> None:
    (smoke,) = [a for a in _actions(pipeline, "staging", "CodeBuild") if "SmokeTests" in a["Name"]]
    assert "Namespace" in smoke
    spec = _buildspec(_project(synthesized, smoke))
    assert spec["env"]["exported-variables"] == ["API_URL"]


def test_smoke_tests_read_the_api_url_and_their_identity_from_the_stage_outputs(
    synthesized: Synthesized, pipeline: dict[str, Any]
) -> None:
    for env in ("dev", "staging", "prod"):
        for smoke in [a for a in _actions(pipeline, env, "CodeBuild") if "SmokeTests" in a["Name"]]:
            variables = {v["name"]: v["value"] for v in json.loads(smoke["Configuration"]["EnvironmentVariables"])}
            assert re.fullmatch(r"#\{[^}]+\.ApiUrl\}", variables["API_URL"]), variables
            assert re.fullmatch(r"#\{[^}]+\.SmokeTestIdentitySecretArn\}", variables["IDENTITY_SECRET_ARN"])
            project = _project(synthesized, smoke)
            environment = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
            assert environment["DEPLOY_ENVIRONMENT"] == env
            spec = _buildspec(_project(synthesized, smoke))
            assert spec["phases"]["install"]["commands"][-1] == "make install-e2e"
            assert spec["phases"]["build"]["commands"] == ["make e2e", "make baseline-record"]


def test_synth_step_runs_buildspec_yml_and_publishes_test_reports(
    synthesized: Synthesized, pipeline: dict[str, Any]
) -> None:
    (synth,) = _actions(pipeline, "Build", "CodeBuild")
    project = _project(synthesized, synth)
    spec_text = json.dumps(project["Source"]["BuildSpec"])
    for command in ("make install", "make lint", "make test", "make synth"):
        assert command in spec_text
    report_groups = resources_of(synthesized.pipeline, "AWS::CodeBuild::ReportGroup")
    test_group = next(k for k in report_groups if k.startswith("TestReports"))
    assert test_group in spec_text, "the buildspec's reports point at the TestReports group"
    assert "junit.xml" in spec_text
    # Only the custom cache of buildspec.yml's paths: a source cache does nothing with a CodePipeline source.
    assert project["Cache"] == {"Modes": ["LOCAL_CUSTOM_CACHE"], "Type": "LOCAL"}
    assert project["Environment"]["PrivilegedMode"] is False


def test_report_groups_hold_test_results(pipeline_template: assertions.Template) -> None:
    pipeline_template.resource_count_is("AWS::CodeBuild::ReportGroup", 3)
    pipeline_template.all_resources_properties("AWS::CodeBuild::ReportGroup", {"Type": "TEST"})


def test_synth_and_smoke_test_roles_may_write_to_the_declared_report_groups(synthesized: Synthesized) -> None:
    writers: dict[str, set[str]] = {}
    for policy_id, policy in resources_of(synthesized.pipeline, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "codebuild:BatchPutTestCases" not in statement["Action"]:
                continue
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for resource in resources:
                if isinstance(resource, dict) and "Fn::GetAtt" in resource:
                    writers.setdefault(resource["Fn::GetAtt"][0][:-8], set()).add(policy_id)  # drop the hash
    assert set(writers) == {"TestReports", "SmokeTestReports", "ComplianceReports"}
    assert all("Synth" in p for p in writers["TestReports"] | writers["ComplianceReports"])
    assert len(writers["SmokeTestReports"]) == 4
    assert all("SmokeTests" in p for p in writers["SmokeTestReports"])


def test_no_codebuild_project_runs_docker(synthesized: Synthesized) -> None:
    for project in resources_of(synthesized.pipeline, "AWS::CodeBuild::Project").values():
        assert project["Properties"]["Environment"].get("PrivilegedMode") is False


def test_artifact_bucket_is_kms_encrypted_with_a_rotating_key(
    synthesized: Synthesized, pipeline: dict[str, Any]
) -> None:
    template = synthesized.pipeline
    bucket_id = _home_artifact_store(pipeline)["Location"]["Ref"]
    bucket = template["Resources"][bucket_id]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    key_id = default["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert template["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    assert _home_artifact_store(pipeline)["EncryptionKey"]["Id"]["Fn::GetAtt"][0] == key_id


def test_artifact_bucket_is_private_versioned_and_access_logged(
    synthesized: Synthesized, pipeline: dict[str, Any]
) -> None:
    bucket_id = _home_artifact_store(pipeline)["Location"]["Ref"]
    bucket = synthesized.pipeline["Resources"][bucket_id]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "DestinationBucketName" in bucket["LoggingConfiguration"]


def test_artifact_bucket_policy_denies_requests_without_tls(synthesized: Synthesized, pipeline: dict[str, Any]) -> None:
    bucket_id = _home_artifact_store(pipeline)["Location"]["Ref"]
    policies = [
        p["Properties"]
        for p in resources_of(synthesized.pipeline, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    (policy,) = policies
    deny_tls = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert deny_tls
    assert deny_tls[0]["Action"] == "s3:*"


def test_cross_region_support_bucket_is_kms_encrypted_for_cross_account_deploys(synthesized: Synthesized) -> None:
    assert synthesized.config.has_cross_account_environment
    support = synthesized.template(f"{PIPELINE_NAME}-pipeline-support-eu-central-1")
    bucket = resource_with_prefix(support, "AWS::S3::Bucket", "CrossRegionCodePipelineReplicationBucket")
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_cross_region_support_bucket_is_versioned_and_access_logged(synthesized: Synthesized) -> None:
    support = synthesized.template(f"{PIPELINE_NAME}-pipeline-support-eu-central-1")
    bucket = resource_with_prefix(support, "AWS::S3::Bucket", "CrossRegionCodePipelineReplicationBucket")
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    logging = bucket["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"]["Ref"].startswith("ReplicationAccessLogs")
    logs = resource_with_prefix(support, "AWS::S3::Bucket", "ReplicationAccessLogs")["Properties"]
    assert logs["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True


def test_notifications_cover_failure_success_and_approval(synthesized: Synthesized) -> None:
    _, rule = only_resource(synthesized.pipeline, "AWS::CodeStarNotifications::NotificationRule")
    properties = rule["Properties"]
    assert set(properties["EventTypeIds"]) == {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-pipeline-execution-succeeded",
        "codepipeline-pipeline-manual-approval-needed",
    }
    (target,) = properties["Targets"]
    assert target["TargetType"] == "SNS"


def test_notification_topics_are_kms_encrypted_and_tls_only(synthesized: Synthesized) -> None:
    topics = resources_of(synthesized.pipeline, "AWS::SNS::Topic")
    assert len(topics) == 2
    for topic in topics.values():
        assert "KmsMasterKeyId" in topic["Properties"]
    for policy in resources_of(synthesized.pipeline, "AWS::SNS::TopicPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_notification_key_lets_codestar_notifications_publish(synthesized: Synthesized) -> None:
    principals = [
        statement.get("Principal", {}).get("Service")
        for key in resources_of(synthesized.pipeline, "AWS::KMS::Key").values()
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
    ]
    assert "codestar-notifications.amazonaws.com" in principals


def test_approvers_may_approve_exactly_the_prod_promotion(synthesized: Synthesized) -> None:
    _, policy = only_resource(synthesized.pipeline, "AWS::IAM::ManagedPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    writes = [s for s in statements if s["Action"] == "codepipeline:PutApprovalResult"]
    assert len(writes) == 1
    resource = json.dumps(writes[0]["Resource"])
    assert f"{PIPELINE_NAME}/prod-approval/PromoteToProd" in resource
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(
            a.startswith(("codepipeline:Get", "codepipeline:List")) or a == "codepipeline:PutApprovalResult"
            for a in actions
        )
        # Only listing pipelines (which has no resource-level permission) is allowed on "*".
        assert statement["Resource"] != "*" or actions == ["codepipeline:ListPipelines"]
    _, group = only_resource(synthesized.pipeline, "AWS::IAM::Group")
    assert group["Properties"]["GroupName"] == "ProdApprovers"
    assert policy["Properties"]["Groups"] == [
        {"Ref": next(iter(resources_of(synthesized.pipeline, "AWS::IAM::Group")))}
    ]


def test_pipeline_stack_is_termination_protected(synthesized: Synthesized) -> None:
    assert synthesized.stacks()[f"{PIPELINE_NAME}-pipeline"].termination_protection is True


def test_synth_exports_the_compliance_summary_for_the_approval(
    synthesized: Synthesized, pipeline: dict[str, Any]
) -> None:
    (synth,) = _actions(pipeline, "Build", "CodeBuild")
    assert "Namespace" in synth
    spec = _buildspec(_project(synthesized, synth))
    assert "COMPLIANCE_SUMMARY" in spec["env"]["exported-variables"]


def test_synth_action_knows_the_pipeline_execution_id(pipeline: dict[str, Any]) -> None:
    (synth,) = _actions(pipeline, "Build", "CodeBuild")
    variables = json.loads(synth["Configuration"]["EnvironmentVariables"])
    assert {
        "name": "PIPELINE_EXECUTION_ID",
        "type": "PLAINTEXT",
        "value": "#{codepipeline.PipelineExecutionId}",
    } in variables


def test_synth_action_keeps_the_config_hash_that_restarts_a_run_after_self_mutation(pipeline: dict[str, Any]) -> None:
    (synth,) = _actions(pipeline, "Build", "CodeBuild")
    names = [v["name"] for v in json.loads(synth["Configuration"]["EnvironmentVariables"])]
    assert "_PROJECT_CONFIG_HASH" in names


def test_source_role_uses_the_connection_with_the_prefix_of_its_arn(synthesized: Synthesized) -> None:
    assert synthesized.config.pipeline.connection_arn.startswith("arn:aws:codeconnections:")
    actions = _connection_actions(synthesized.pipeline)
    assert actions == ["codeconnections:UseConnection"]


def test_a_connection_from_before_the_rename_keeps_the_old_prefix(topology_outdirs: dict[str, Path]) -> None:
    template = json.loads((topology_outdirs["account per environment"] / "Pipeline.template.json").read_text())
    assert _connection_actions(template) == ["codestar-connections:UseConnection"]


def _connection_actions(template: dict[str, Any]) -> list[str]:
    return [
        statement["Action"]
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if str(statement["Action"]).endswith("UseConnection")
    ]


def test_asset_publishing_installs_the_pinned_cdk_assets(synthesized: Synthesized) -> None:
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["cdk-assets"]
    (spec_file,) = synthesized.outdir.glob("buildspec-*-FileAsset.yaml")
    text = spec_file.read_text()
    assert f"cdk-assets@{pinned}" in text
    assert "cdk-assets@latest" not in text


def test_prod_stacks_are_protected_by_the_pipeline_after_each_deploy(
    synthesized: Synthesized, pipeline: dict[str, Any]
) -> None:
    """The deploy action cannot set termination protection, so a step in prod switches it on."""
    protect = [a for a in _actions(pipeline, "prod", "CodeBuild") if "ProtectStacks" in a["Name"]]
    smoke = [a for a in _actions(pipeline, "prod", "CodeBuild") if "SmokeTests" in a["Name"]]
    assert len(protect) == 2
    assert {a["RunOrder"] for a in protect} == {a["RunOrder"] for a in smoke}, "beside the smoke tests"
    for action in protect:
        region = action["Name"].rsplit("ProtectStacks-", 1)[1]
        spec = json.dumps(_project(synthesized, action)["Source"]["BuildSpec"])
        assert f"cdk-hnb659fds-deploy-role-333333333333-{region}" in spec
        assert "update-termination-protection --enable-termination-protection --stack-name prod-items" in spec
        assert "EnableTerminationProtection" in spec, "the step checks the result"
    for earlier in ("dev", "staging"):
        assert not [a for a in _actions(pipeline, earlier, "CodeBuild") if "ProtectStacks" in a["Name"]]


def test_the_protect_step_may_assume_only_the_prod_deploy_roles(synthesized: Synthesized) -> None:
    assumed = [
        json.dumps(statement["Resource"])
        for policy_id, policy in resources_of(synthesized.pipeline, "AWS::IAM::Policy").items()
        if "ProtectStacks" in policy_id
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "sts:AssumeRole"
    ]
    assert sorted(assumed) == sorted(
        f'"arn:aws:iam::333333333333:role/cdk-hnb659fds-deploy-role-333333333333-{r}"'
        for r in ("eu-west-1", "eu-central-1")
    )


def test_synth_project_names_the_evidence_bucket(synthesized: Synthesized, pipeline: dict[str, Any]) -> None:
    (synth,) = _actions(pipeline, "Build", "CodeBuild")
    variables = {v["Name"]: v["Value"] for v in _project(synthesized, synth)["Environment"]["EnvironmentVariables"]}
    assert variables["EVIDENCE_BUCKET"]["Ref"].startswith("EvidenceBucket")


def _evidence_bucket(synthesized: Synthesized) -> dict[str, Any]:
    return resource_with_prefix(synthesized.pipeline, "AWS::S3::Bucket", "EvidenceBucket")


def test_evidence_bucket_is_write_once_for_the_configured_retention(synthesized: Synthesized) -> None:
    bucket = _evidence_bucket(synthesized)
    properties = bucket["Properties"]
    assert properties["ObjectLockEnabled"] is True
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"


def test_evidence_bucket_is_encrypted_private_and_access_logged(synthesized: Synthesized) -> None:
    properties = _evidence_bucket(synthesized)["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert properties["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert properties["LoggingConfiguration"]["LogFilePrefix"] == "evidence/"


def _evidence_statements(synthesized: Synthesized, role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy_id, policy in resources_of(synthesized.pipeline, "AWS::IAM::Policy").items()
        if role in policy_id
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "EvidenceBucket" in json.dumps(statement["Resource"])
    ]


def test_the_synth_role_may_only_add_evidence_and_read_baselines(synthesized: Synthesized) -> None:
    statements = _evidence_statements(synthesized, "Synth")
    assert statements
    writes = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert [json.dumps(s["Resource"]).endswith('"/evidence/*"]]}') for s in writes] == [True]
    reads = [s for s in statements if s["Action"] != "s3:PutObject"]
    assert {s["Action"] for s in reads} == {"s3:GetObject", "s3:ListBucket"}
    (get,) = [s for s in reads if s["Action"] == "s3:GetObject"]
    assert json.dumps(get["Resource"]).endswith('"/baselines/*"]]}')
    (listing,) = [s for s in reads if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["baselines/*"]}}


def test_each_smoke_test_step_records_exactly_its_stages_baseline_files(synthesized: Synthesized) -> None:
    """No wildcard: each step may write its stage's manifest, templates and release.json, the first
    environment's the pipeline's too."""
    for policy_id, policy in resources_of(synthesized.pipeline, "AWS::IAM::Policy").items():
        if "SmokeTests" not in policy_id:
            continue
        keys = sorted(
            rendered(resource).split("/baselines/", 1)[1]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Action"] == "s3:PutObject"
            for resource in (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
        )
        stage = keys[0].split("/", 1)[0]
        assert all("*" not in key for key in keys), keys
        assert {k for k in keys if k.startswith(f"{stage}/")} >= {f"{stage}/manifest.json", f"{stage}/release.json"}
        assert any(k.endswith(".template.json") for k in keys if k.startswith(f"{stage}/"))
        recorded = {k.split("/", 1)[0] for k in keys}
        assert recorded == ({"dev", "pipeline"} if "Pipelinedev" in policy_id else {stage}), policy_id


def test_the_notification_rule_waits_for_the_topic_policy_it_needs(synthesized: Synthesized) -> None:
    """CodeStar Notifications checks it may publish when the rule is created (aws-cdk issue 29484)."""
    rule_id, rule = only_resource(synthesized.pipeline, "AWS::CodeStarNotifications::NotificationRule")
    topic_id = rule["Properties"]["Targets"][0]["TargetAddress"]["Ref"]
    (policy_id,) = [
        k
        for k, v in resources_of(synthesized.pipeline, "AWS::SNS::TopicPolicy").items()
        if {"Ref": topic_id} in v["Properties"]["Topics"]
    ]
    assert policy_id in rule.get("DependsOn", []), rule_id
