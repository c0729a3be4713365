"""Where each run's audit bundle is kept: versioned, KMS-encrypted, TLS-only, access-logged, and
write-once for the configured retention (S3 Object Lock, governance mode)."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from services.platform.buckets import private_bucket

EVIDENCE_PREFIX = "evidence/"


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
        may read, overwrite-delete or change retention."""
        return [
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects(f"{EVIDENCE_PREFIX}*")]
            ),
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Encrypt"], resources=[self.key.key_arn]),
        ]
