"""The one registry of acknowledged cdk-nag findings: each names the pack, the exact finding, the
resources it applies to and why it is safe there. Nothing else in the code base acknowledges findings.

Resource paths of application stacks are relative to the stage (``Items/...``) and apply to every
stage of the listed environments; pipeline paths are absolute (``Pipeline/...``).
"""

from dataclasses import dataclass
from typing import Literal

ALL_ENVIRONMENTS = ("dev", "staging", "prod")
NON_PROD = ("dev", "staging")


@dataclass(frozen=True)
class Acknowledgment:
    pack: str
    finding: str
    resources: tuple[str, ...]
    reason: str
    scope: Literal["stage", "pipeline"] = "stage"
    environments: tuple[str, ...] = ALL_ENVIRONMENTS
    owner: str = "platform-team"
    review_by: str | None = None
    # A finding that exists only under some configuration names the condition (compliance/registry.py
    # CONDITIONS), so changing that configuration does not leave a stale entry behind.
    only_if: str = ""


ACKNOWLEDGMENTS: tuple[Acknowledgment, ...] = (
    # --- items service (every stage) -------------------------------------------------------------
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-APIG4",
        resources=("Items/Api/RestApi/Default/health/GET/Resource",),
        reason=(
            "GET /health is the liveness probe the smoke tests and load balancers call without credentials; "
            "it returns a constant body, reads no data and is rate-limited by the stage throttle and WAF."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-COG4",
        resources=("Items/Api/RestApi/Default/health/GET/Resource",),
        reason=(
            "GET /health deliberately has no Cognito authorizer so that probes work without a user; every "
            "/items method does use the Cognito user pool authorizer."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        resources=("Items/Api/RestApi/CloudWatchRole/Resource",),
        only_if="manages_account_settings",
        reason=(
            "This is the account-level role API Gateway assumes to write execution logs; AWS documents this "
            "managed policy for exactly that role and it grants only CloudWatch Logs actions."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-IAM5[Resource::*]",
        resources=(
            "Items/Function/Role/DefaultPolicy/Resource",
            "Items/Ingest/Worker/Role/DefaultPolicy/Resource",
            "Items/Ingest/Importer/Role/DefaultPolicy/Resource",
            "Items/DeploymentHooks/PreTrafficHook/Role/DefaultPolicy/Resource",
            "Items/DeploymentHooks/SyntheticTraffic/Role/DefaultPolicy/Resource",
        ),
        reason=(
            "The only statement on '*' is xray:PutTraceSegments and xray:PutTelemetryRecords, which do not "
            "support resource-level permissions; every data statement of this role names its table, index, "
            "queue, secret or key."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-SMG4",
        resources=("Items/Secrets/PaginationKey/Resource",),
        reason=(
            "The secret is a random HMAC key that signs list cursors valid for one browsing session; rotating it "
            "only invalidates open cursors, so it is rotated on demand (put-secret-value) rather than by a "
            "rotation function."
        ),
        review_by="2027-05-31",
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-SMG4",
        resources=("Items/SmokeTestIdentity/ApiKeyValue/Resource", "Items/SmokeTestIdentity/Secret/Resource"),
        reason=(
            "These secrets hold the post-deploy tests' API key and copies of their Cognito app client's "
            "credentials; no rotation function can rotate an API Gateway key value or a Cognito client secret, "
            "which change by replacing the key or the client, and CloudFormation then rewrites the identity."
        ),
        review_by="2027-05-31",
    ),
    Acknowledgment(
        pack="Serverless",
        finding="Serverless-SQSRedrivePolicy",
        resources=("Items/Function/DeadLetterQueue/Resource",),
        reason=(
            "This queue is itself the dead-letter queue of the items function; a redrive policy on it would "
            "need a second dead-letter queue, and its backlog raises the DeadLetters alarm instead."
        ),
    ),
    Acknowledgment(
        pack="Serverless",
        finding="Serverless-SQSRedrivePolicy",
        resources=(
            "Items/Ingest/DeadLetterQueue/Resource",
            "Items/Ingest/Worker/DeadLetterQueue/Resource",
            "Items/Ingest/ImportDeadLetterQueue/Resource",
            "Items/Ingest/Importer/DeadLetterQueue/Resource",
        ),
        reason=(
            "These queues are themselves dead-letter queues: of the ingest queue and the upload rule (events "
            "that failed every attempt), of the import queue (chunks that failed every attempt), and of the "
            "worker's and the importer's asynchronous invocations; the first two raise the IngestDeadLetters "
            "and ImportDeadLetters alarms and are redriven to resume their jobs, and a redrive policy on them "
            "would need yet another queue."
        ),
    ),
    Acknowledgment(
        pack="Serverless",
        finding="Serverless-LambdaEventSourceMappingDestination",
        resources=(
            "Items/Ingest/Worker/Live/FromQueue/Resource",
            "Items/Ingest/Importer/Live/FromImportQueue/Resource",
        ),
        reason=(
            "Lambda supports on-failure destinations only for stream and Kafka event sources; for these SQS "
            "sources the queues' redrive policies move a message that failed its last receive (3 for uploads, "
            "5 for import chunks) to the ingest or import dead-letter queue, which raises the IngestDeadLetters "
            "or ImportDeadLetters alarm, and the function marks the message's job FAILED on that last attempt."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-IAM5[Resource::<IngestStagingBucket7CC090F9.Arn>/uploads/*]",
        resources=(
            "Items/Function/Role/DefaultPolicy/Resource",
            "Items/Ingest/Worker/Role/DefaultPolicy/Resource",
            "Items/Ingest/Importer/Role/DefaultPolicy/Resource",
        ),
        reason=(
            "Upload object keys are generated per request (uploads/<id>), so the API may only put, and the "
            "worker and the importer may only read, objects under the uploads/ prefix of the one staging "
            "bucket; nothing else."
        ),
    ),
    Acknowledgment(
        pack="Serverless",
        finding="Serverless-SQSRedrivePolicy",
        resources=(
            "Items/DeploymentHooks/PreTrafficHook/DeadLetterQueue/Resource",
            "Items/DeploymentHooks/PostTrafficHook/DeadLetterQueue/Resource",
            "Items/DeploymentHooks/SyntheticTraffic/DeadLetterQueue/Resource",
        ),
        reason=(
            "These queues are themselves the dead-letter queues of the deployment hooks and the synthetic "
            "traffic function; a hook that fails every retry also fails its deployment, which rolls back and "
            "notifies the operations topic."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-IAM5[Resource::*]",
        resources=("Items/DeploymentHooks/PostTrafficHook/Role/DefaultPolicy/Resource",),
        reason=(
            "The post-traffic hook reads alarm states with cloudwatch:DescribeAlarms, which supports no "
            "resource-level permission, and writes X-Ray segments, which do not either; it changes nothing."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
        resources=(
            "Items/Delivery/DeploymentGroup/ServiceRole/Resource",
            "Items/IngestDelivery/DeploymentGroup/ServiceRole/Resource",
            "Items/ImportDelivery/DeploymentGroup/ServiceRole/Resource",
        ),
        reason=(
            "CodeDeploy's Lambda deployments assume this role; AWS maintains the Limited policy as the minimum "
            "CodeDeploy needs to shift aliases and read alarms, and CDK adds invoke rights on exactly this "
            "deployment group's hook aliases."
        ),
    ),
    *(
        Acknowledgment(
            pack="AwsSolutions",
            finding=f"AwsSolutions-IAM5[Resource::<DeploymentHooks{hook}.Arn>:*]",
            resources=(
                "Items/Delivery/DeploymentGroup/ServiceRole/DefaultPolicy/Resource",
                "Items/IngestDelivery/DeploymentGroup/ServiceRole/DefaultPolicy/Resource",
                "Items/ImportDelivery/DeploymentGroup/ServiceRole/DefaultPolicy/Resource",
            ),
            reason=(
                "CodeDeploy invokes the stack's shared hook function by name; CDK's invoke grant adds the "
                "function's qualifiers (:*) to its ARN, which covers only versions and aliases of that one "
                "hook function and nothing else."
            ),
        )
        for hook in ("PreTrafficHookFunction49D39BDB", "PostTrafficHookFunctionC24566F6")
    ),
    # --- items service, outside prod ------------------------------------------------------------
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-APIG3",
        resources=("Items/Api/RestApi/DeploymentStage.api/Resource",),
        environments=("dev",),
        only_if="waf_disabled",
        reason=(
            "Dev runs without a WAF web ACL to save its fixed monthly cost; dev holds only test data and is "
            "still behind Cognito, API keys and stage throttling. Staging and prod have the web ACL."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-COG2",
        resources=("Items/Auth/UserPool/Resource",),
        environments=NON_PROD,
        reason=(
            "Dev and staging user pools hold test users created by the team and make MFA optional so automated "
            "tests can sign in; the prod pool requires MFA."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-COG8",
        resources=("Items/Auth/UserPool/Resource",),
        environments=NON_PROD,
        reason=(
            "Threat protection (Plus plan) is billed per monthly active user; dev and staging have only test "
            "users, so they use the Essentials plan while the prod pool is on Plus with full enforcement."
        ),
    ),
)

# --- the pipeline stack: roles CDK Pipelines generates (selectors: compliance/registry.py) ---------
_ARTIFACT_READERS = (
    "role:pipeline",
    "role:source-action",
    "role:synth",
    "role:self-mutation",
    "role:assets",
    "role:smoke-tests",
    "role:protect-stacks",
)
_ARTIFACT_WRITERS = ("role:pipeline", "role:source-action", "role:synth")
_KMS_USERS = (
    "role:pipeline",
    "role:source-action",
    "role:synth",
    "role:self-mutation",
    "role:smoke-tests",
    "role:protect-stacks",
)
_CODEBUILD_PROJECTS = ("role:synth", "role:self-mutation", "role:smoke-tests", "role:protect-stacks")

_READ_REASON = (
    "CDK Pipelines gives its roles read access to the pipeline's own artifact bucket through grantRead, whose "
    "action groups cover the versioned-object reads CodePipeline and CodeBuild make; the statement names only "
    "that bucket, which is private, TLS-only and encrypted with the pipeline's key."
)
_WRITE_REASON = (
    "CodePipeline, the source action and the synth step write artifacts into the pipeline's own bucket "
    "through grantReadWrite, which adds multipart aborts and deletes of overwritten versions; the statement "
    "names only that bucket."
)
_KMS_REASON = (
    "S3 encrypts and decrypts the pipeline's artifacts with the pipeline's customer key on the caller's "
    "behalf, which needs the GenerateDataKey and ReEncrypt action families; the statement names only the "
    "pipeline's own keys."
)

ACKNOWLEDGMENTS += tuple(
    Acknowledgment(
        pack="AwsSolutions",
        finding=finding,
        resources=resources,
        reason=reason,
        scope="pipeline",
        only_if=condition[0] if condition else "",
    )
    for finding, resources, reason, *condition in (
        ("AwsSolutions-IAM5[Action::s3:GetObject*]", _ARTIFACT_READERS, _READ_REASON),
        ("AwsSolutions-IAM5[Action::s3:GetBucket*]", _ARTIFACT_READERS, _READ_REASON),
        ("AwsSolutions-IAM5[Action::s3:List*]", _ARTIFACT_READERS, _READ_REASON),
        (
            "AwsSolutions-IAM5[Resource::<{artifact_bucket}.Arn>/*]",
            _ARTIFACT_READERS,
            "CodePipeline names artifact objects at run time (one prefix per execution and artifact), so the "
            "object ARN of the pipeline's own bucket must end in a wildcard; the bucket holds only this "
            "pipeline's build artifacts.",
        ),
        ("AwsSolutions-IAM5[Action::s3:DeleteObject*]", _ARTIFACT_WRITERS, _WRITE_REASON),
        ("AwsSolutions-IAM5[Action::s3:Abort*]", _ARTIFACT_WRITERS, _WRITE_REASON),
        ("AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", _KMS_USERS, _KMS_REASON),
        ("AwsSolutions-IAM5[Action::kms:ReEncrypt*]", _KMS_USERS, _KMS_REASON),
        (
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            ("role:approval-action",),
            "The manual approval action publishes the approval request to the approvals topic, which is "
            "encrypted with the notifications key; SNS needs GenerateDataKey on that key only.",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/<{project}>:*]",
            _CODEBUILD_PROJECTS,
            "CodeBuild writes every build to a new log stream of the project's own log group, named after "
            "the build id at run time, so the log-group ARN ends in a stream wildcard for that one group.",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:aws:codebuild:{region}:{account}:report-group/<{project}>-*]",
            _CODEBUILD_PROJECTS,
            "CodeBuild's default project policy lets a project create report groups named after itself; "
            "the wildcard covers only groups prefixed with this project's own name.",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/*]",
            ("role:assets",),
            "One role serves every asset-publishing CodeBuild project of the pipeline, whose project names "
            "CDK generates; it may write only CodeBuild log groups of this account and region.",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:aws:codebuild:{region}:{account}:report-group/*]",
            ("role:assets",),
            "One role serves every asset-publishing CodeBuild project of the pipeline, whose project names "
            "CDK generates; it may use CodeBuild report groups of this account and region only.",
        ),
        (
            "AwsSolutions-IAM5[Resource::*]",
            ("role:assets",),
            "The asset role starts and watches its own CodeBuild builds (StartBuild, BatchGetBuilds, "
            "StopBuild) for projects CDK creates in the same stack; these calls are scoped by the pipeline.",
        ),
        (
            "AwsSolutions-IAM5[Resource::*]",
            ("Approvers/Policy/Resource",),
            "Approvers need codepipeline:ListPipelines, which supports no resource-level permission, to find the "
            "pipeline in the console; it reveals pipeline names only, and approving stays limited to one action.",
        ),
        (
            "AwsSolutions-IAM5[Resource::*]",
            ("role:self-mutation",),
            "Self-mutation reads stack status (cloudformation:DescribeStacks) and lists the bootstrap "
            "bucket (s3:ListBucket) while diffing the pipeline; neither action writes anything.",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:*:iam::{account}:role/*]",
            ("role:self-mutation",),
            "Self-mutation assumes the CDK bootstrap roles of the pipeline account, whose names carry the "
            "bootstrap qualifier; the statement is conditioned on the aws-cdk:bootstrap-role tag so no other "
            "role can be assumed.",
        ),
        (
            "AwsSolutions-IAM5[Resource::<{evidence_bucket}.Arn>/evidence/*]",
            ("role:synth",),
            "The synth step uploads each run's audit bundle under evidence/<commit>/<execution>/, names known only "
            "at run time; it may only put objects there, and Object Lock keeps every uploaded version.",
        ),
        (
            "AwsSolutions-IAM5[Resource::<{evidence_bucket}.Arn>/baselines/*]",
            ("role:synth",),
            "The synth step reads the templates last deployed to each stage for the change impact; their file "
            "names come from the release that recorded them, so it may read, not write, anything under baselines/.",
        ),
        (
            "AwsSolutions-IAM5[Resource::*]",
            ("role:pipeline",),
            "The replication bucket of each other region is encrypted with a key CDK knows only by alias, "
            "which IAM cannot name as a resource; the statement grants only KMS data-key actions.",
            "cross_account_cross_region",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:aws:secretsmanager:{stage_region}:{stage_account}:secret:"
            "items-{stage_environment}/post-deploy-test-identity-*]",
            ("role:smoke-tests",),
            "The smoke tests read the identity their stage created for them, a secret whose name ends in its "
            "stack's unique id and the suffix Secrets Manager adds; the prefix names that one secret of that "
            "stage's account and region, and the secret's own policy admits only this role.",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:aws:kms:{stage_region}:{stage_account}:key/*]",
            ("role:smoke-tests",),
            "The stage's key has an id the pipeline stack cannot know; the statement allows only kms:Decrypt, "
            "only through Secrets Manager and only for the stage's identity secret (encryption context), and "
            "the key's policy admits only this role for it.",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:aws:s3:::{replication_bucket}/*]",
            ("role:pipeline",),
            "CodePipeline copies each run's artifacts into the replication bucket of every region that "
            "deploys; object names are chosen at run time and the bucket holds only this pipeline's artifacts.",
        ),
    )
)
