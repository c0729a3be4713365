"""SQS queues the way every queue here is built: encrypted with the service's customer key, TLS-only."""

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# Dead-letter queues keep what failed for SQS's longest retention, time enough to look and redrive.
DEAD_LETTER_RETENTION = Duration.days(14)


def encrypted_queue(scope: Construct, construct_id: str, *, key: kms.IKey, **settings: Any) -> sqs.Queue:
    return sqs.Queue(
        scope, construct_id, encryption=sqs.QueueEncryption.KMS, encryption_master_key=key, enforce_ssl=True, **settings
    )


def dead_letter_queue(scope: Construct, construct_id: str, *, key: kms.IKey) -> sqs.Queue:
    return encrypted_queue(scope, construct_id, key=key, retention_period=DEAD_LETTER_RETENTION)
