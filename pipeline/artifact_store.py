"""The pipeline's own artifact bucket: customer key with rotation, TLS-only, versioned, access-logged."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from services.platform.buckets import access_log_bucket, private_bucket


class ArtifactStore(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the delivery pipeline's artifacts",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.access_logs = access_log_bucket(self, "AccessLogs")
        self.bucket = private_bucket(
            self,
            "Bucket",
            key=self.key,
            access_logs=self.access_logs,
            access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(90),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
