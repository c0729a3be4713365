"""Where each run's audit bundle is kept: versioned, KMS-encrypted, TLS-only, access-logged, and
write-once for the configured retention (S3 Object Lock, governance mode).

Beside the bundles, under ``baselines/<stage>/``, the templates of the release last deployed to each stage
(and, under ``baselines/pipeline/``, the pipeline's own): a stage's smoke tests write them once they pass,
the Build step reads them to compute the next release's change impact. Each write is a new version, kept
as long as the evidence, so the baselines' history is evidence too."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from services.platform.buckets import private_bucket

EVIDENCE_PREFIX = "evidence/"
BASELINES_PREFIX = "baselines/"


class EvidenceStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the compliance evidence of every pipeline run",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.bucket = private_bucket(
            self,
            "Bucket",
            key=self.key,
            access_logs=access_logs,
            access_logs_prefix="evidence/",
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.governance(Duration.days(retention_days)),
        )

    def writer_statements(self) -> list[iam.PolicyStatement]:
        """What the build needs to add a bundle: put objects under evidence/ and encrypt them. Nothing
        may read it, overwrite-delete or change retention."""
        return [
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects(f"{EVIDENCE_PREFIX}*")]
            ),
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Encrypt"], resources=[self.key.key_arn]),
        ]

    def baseline_reader_statements(self) -> list[iam.PolicyStatement]:
        """What the Build step needs to fetch every stage's baseline: list and read baselines/, decrypt."""
        return [
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{BASELINES_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects(f"{BASELINES_PREFIX}*")]
            ),
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.key.key_arn]),
        ]

    def baseline_writer_statements(self, keys: list[str]) -> list[iam.PolicyStatement]:
        """What a stage's smoke tests need to record its baseline: put exactly these objects (keys relative
        to baselines/), nothing else."""
        return [
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{BASELINES_PREFIX}{key}") for key in keys],
            ),
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Encrypt"], resources=[self.key.key_arn]),
        ]
