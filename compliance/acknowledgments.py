"""The one registry of acknowledged cdk-nag findings: each names the pack, the exact finding, the
resources it applies to and why it is safe there. Nothing else in the code base acknowledges findings.

Resource paths of application stacks are relative to the stage (``Items/...``) and apply to every
stage of the listed environments; pipeline paths are absolute (``Pipeline/...``).
"""

from dataclasses import dataclass, field
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
    tags: tuple[str, ...] = field(default=())

    @property
    def acknowledged_id(self) -> str:
        return f"{self.pack}::{self.finding}"


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
        reason=(
            "This is the account-level role API Gateway assumes to write execution logs; AWS documents this "
            "managed policy for exactly that role and it grants only CloudWatch Logs actions."
        ),
    ),
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-IAM5[Resource::*]",
        resources=("Items/Function/Role/DefaultPolicy/Resource",),
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
        pack="Serverless",
        finding="Serverless-SQSRedrivePolicy",
        resources=("Items/Function/DeadLetterQueue/Resource",),
        reason=(
            "This queue is itself the dead-letter queue of the items function; a redrive policy on it would "
            "need a second dead-letter queue, and its backlog raises the DeadLetters alarm instead."
        ),
    ),
    # --- items service, outside prod ------------------------------------------------------------
    Acknowledgment(
        pack="AwsSolutions",
        finding="AwsSolutions-APIG3",
        resources=("Items/Api/RestApi/DeploymentStage.api/Resource",),
        environments=("dev",),
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
