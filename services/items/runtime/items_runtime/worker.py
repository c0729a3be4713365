"""Lambda entry point of the ingest worker (phase 1): a batch of SQS messages, each an S3 "Object
Created" event from EventBridge. Each upload is validated as a stream and either rejected or handed
to the importer as chunks on the import queue. A message that fails (S3, the table or the queue in
trouble, time running out) is reported back to SQS for a retry without failing the rest of the
batch; on its last attempt the job is marked FAILED with how to resume it, and the message goes to
the ingest dead-letter queue. Messages that are not uploads are acknowledged and logged."""

import gc

# As in api.py: the collector waits while the modules load, and what they built is then frozen.
gc.disable()

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from .data.uploads import Upload, upload_from_message
from .last_attempt import FailedMessage, give_up_if_last_attempt
from .logic.attempts import Deadline, describe, redrive_hint
from .logic.importing import Limits, ingest
from .observability import logger, metrics, tracer
from .settings import worker_settings
from .wiring import worker as deps

processor = BatchProcessor(event_type=EventType.SQS)
_OUTCOME_METRICS = {"importing": "ImportStarted", "rejected": "UploadRejected"}


@tracer.capture_method
def handle_message(record: SQSRecord, lambda_context: LambdaContext) -> str:
    settings = worker_settings()
    upload = upload_from_message(record.body, settings.ingest.bucket_name, settings.ingest.upload_prefix)
    if upload is None:
        logger.warning("ignored a message that is not an upload to the staging bucket", message_id=record.message_id)
        return "ignored"
    deadline = Deadline(lambda_context.get_remaining_time_in_millis())
    limits = Limits(settings.ingest.max_upload_bytes, settings.ingest.max_records, settings.chunk_records)
    try:
        result = ingest(
            upload,
            jobs=deps.jobs(),
            reader=deps.reader(),
            chunks=deps.chunks(),
            limits=limits,
            out_of_time=deadline.passed,
        )
    except Exception as error:
        _give_up_if_last_attempt(record, upload, error)
        raise
    logger.info(
        "upload handled",
        ingest_id=upload.job_id,
        outcome=result.outcome,
        records=result.records,
        chunks=result.chunks,
        size=upload.size,
    )
    if result.outcome in _OUTCOME_METRICS:
        metrics.add_metric(name=_OUTCOME_METRICS[result.outcome], unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RecordsValidated", unit=MetricUnit.Count, value=result.records)
    return result.outcome


def _give_up_if_last_attempt(record: SQSRecord, upload: Upload, error: Exception) -> None:
    failed = FailedMessage(
        kind="upload",
        job_id=upload.job_id,
        version=upload.version,
        reason=lambda attempts: f"the upload failed {attempts} attempts ({describe(error)}); nothing new was written",
        resume=redrive_hint("ingest", "IngestDeadLetterQueueUrl", "the upload is validated again"),
        log_fields={},
    )
    give_up_if_last_attempt(record, failed, error, source=worker_settings().source, jobs=deps.jobs)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_message, processor=processor, context=context)


gc.freeze()
gc.enable()
