"""Private S3 buckets the way every bucket here is built (public access blocked, TLS-only, owner-enforced,
KMS, versioned, lifecycle rules, access logs), and the buckets receiving their access logs."""

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


def access_log_bucket(
    scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
) -> s3.Bucket:
    """A private, TLS-only bucket that receives S3 server access logs (kept a year).

    Server access logs can only be delivered to a bucket encrypted with S3-managed keys."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=True,
        lifecycle_rules=[
            s3.LifecycleRule(expiration=Duration.days(365), noncurrent_version_expiration=Duration.days(30))
        ],
        removal_policy=removal_policy,
    )


def server_access_logs_statement(logs: s3.IBucket, source: s3.IBucket) -> iam.PolicyStatement:
    """Lets the S3 logging service write the source bucket's access logs (what server_access_logs_bucket
    sets up when both buckets are in one construct tree)."""
    return iam.PolicyStatement(
        sid="S3ServerAccessLogsPolicy",
        principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
        actions=["s3:PutObject"],
        resources=[logs.arn_for_objects("*")],
        conditions={
            "ArnLike": {"aws:SourceArn": source.bucket_arn},
            "StringEquals": {"aws:SourceAccount": Stack.of(logs).account},
        },
    )


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    access_logs: s3.IBucket,
    access_logs_prefix: str,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    **settings: Any,
) -> s3.Bucket:
    """A bucket encrypted with a customer key, versioned, TLS-only, public access blocked, owner-enforced,
    access-logged under a prefix; retained on update and delete (but not kept by a failed first create)
    unless told otherwise; `settings` adds lifecycle rules, Object Lock..."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_logs_prefix,
        removal_policy=removal_policy,
        **settings,
    )
