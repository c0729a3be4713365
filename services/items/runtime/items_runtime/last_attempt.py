"""What the worker and the importer do when a message fails: before its last attempt, log and let SQS
retry it; on its last attempt (the redrive policy moves it to the dead-letter queue next), mark its job
FAILED with why and how to resume, and log the exact redrive command for the operator."""

from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .logic.attempts import describe, is_last_attempt, redrive_command
from .logic.importing import JobStore
from .logic.items import now
from .observability import logger, metrics
from .settings import SourceQueue


@dataclass(frozen=True)
class FailedMessage:
    kind: str  # "upload" or "chunk": what the log says failed
    job_id: str
    version: str
    reason: Callable[[int], str]  # why the job failed, given the attempts made
    resume: str  # how its owner's operator resumes it
    log_fields: dict[str, object]


def give_up_if_last_attempt(
    record: SQSRecord, failed: FailedMessage, error: Exception, *, source: SourceQueue, jobs: Callable[[], JobStore]
) -> None:
    attempt = int(record.attributes.approximate_receive_count or 1)
    fields: dict[str, object] = {"ingest_id": failed.job_id, **failed.log_fields}
    if not is_last_attempt(attempt, source.max_receive_count):
        logger.warning(
            f"{failed.kind} failed, SQS retries it", extra={**fields, "attempt": attempt, "error": describe(error)}
        )
        return
    reason = failed.reason(attempt)
    try:
        marked = jobs().fail(failed.job_id, version=failed.version, reason=reason, resume=failed.resume, now=now())
    except Exception:
        logger.exception("could not mark the job FAILED", extra=fields)
        return
    redrive = redrive_command(source.dead_letter_queue_arn, record.event_source_arn)
    logger.error(
        f"{failed.kind} failed its last attempt",
        extra={**fields, "marked_failed": marked, "reason": reason, "redrive": redrive},
    )
    metrics.add_metric(name="UploadFailed", unit=MetricUnit.Count, value=1)
