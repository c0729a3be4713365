"""Lambda entry point of the ingest worker: a batch of SQS messages, each an S3 "Object Created"
event from EventBridge. Each message is handled on its own; one that fails (storage or S3 trouble)
is reported back to SQS for a retry without failing the rest of the batch, and lands in the
dead-letter queue after its last attempt. Messages that are not uploads are acknowledged and logged."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from .data.uploads import upload_from_message
from .logic.importing import ingest
from .observability import logger, metrics, tracer
from .settings import worker_settings
from .wiring import worker as deps

processor = BatchProcessor(event_type=EventType.SQS)
_OUTCOME_METRICS = {"accepted": "UploadAccepted", "rejected": "UploadRejected"}


@tracer.capture_method
def handle_message(record: SQSRecord) -> str:
    settings = worker_settings().ingest
    upload = upload_from_message(record.body, settings.bucket_name, settings.upload_prefix)
    if upload is None:
        logger.warning("ignored a message that is not an upload to the staging bucket", message_id=record.message_id)
        return "ignored"
    outcome, imported = ingest(upload, jobs=deps.jobs(), reader=deps.reader(), settings=settings)
    logger.info("upload handled", ingest_id=upload.job_id, outcome=outcome, imported=imported, size=upload.size)
    if outcome in _OUTCOME_METRICS:
        metrics.add_metric(name=_OUTCOME_METRICS[outcome], unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RecordsImported", unit=MetricUnit.Count, value=imported)
    return outcome


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_message, processor=processor, context=context)
