"""Lambda entry point of the importer (phase 2): SQS messages from the import queue, each one chunk
of an accepted upload. The chunk's items are written in paced batch writes within the import's share
of the table's write capacity, the chunk is counted once, and the job finishes with its last chunk.
A chunk that fails is retried by SQS; on its last attempt the job is marked FAILED (what is imported,
how to resume) and the message goes to the import dead-letter queue, whose redrive resumes it.
Messages that are not chunks are acknowledged and logged."""

import gc

# As in api.py: the collector waits while the modules load, and what they built is then frozen.
gc.disable()

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from .data.chunk_queue import ChunkTask, chunk_task_from_message
from .last_attempt import FailedMessage, give_up_if_last_attempt
from .logic.attempts import Deadline, describe, redrive_hint
from .logic.importing import import_chunk
from .logic.pacing import WriteBudget, import_rate
from .observability import logger, metrics, tracer
from .settings import importer_settings
from .wiring import importer as deps

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def handle_message(record: SQSRecord, lambda_context: LambdaContext) -> str:
    task = chunk_task_from_message(record.body)
    if task is None:
        logger.warning("ignored a message that is not an import chunk", message_id=record.message_id)
        return "ignored"
    settings = importer_settings()
    deadline = Deadline(lambda_context.get_remaining_time_in_millis())
    rate = import_rate(deps.get("capacity"), share=settings.write_share, concurrency=settings.max_concurrency)
    try:
        result = import_chunk(
            task,
            bucket=settings.bucket_name,
            jobs=deps.get("jobs"),
            reader=deps.get("reader"),
            writer=deps.get("writer"),
            chunks=deps.get("chunks"),
            budget=WriteBudget(rate),
            out_of_time=deadline.passed_after,
            sleep=time.sleep,
        )
    except Exception as error:
        metrics.add_metric(name="ChunkFailed", unit=MetricUnit.Count, value=1)
        _give_up_if_last_attempt(record, task, error)
        raise
    logger.info(
        "chunk handled",
        ingest_id=task.job_id,
        chunk=task.index,
        chunks=task.chunks,
        outcome=result.outcome,
        written=result.written,
        finished=result.finished,
        units_per_second=rate,
    )
    metrics.add_metric(name="RecordsImported", unit=MetricUnit.Count, value=result.written)
    if result.outcome == "imported":
        metrics.add_metric(name="ChunkImported", unit=MetricUnit.Count, value=1)
    if result.finished:
        metrics.add_metric(name="UploadAccepted", unit=MetricUnit.Count, value=1)
    return result.outcome


def _give_up_if_last_attempt(record: SQSRecord, task: ChunkTask, error: Exception) -> None:
    where = f"chunk {task.index + 1} of {task.chunks} (from line {task.line})"
    failed = FailedMessage(
        kind="chunk",
        job_id=task.job_id,
        version=task.version,
        reason=lambda attempts: (
            f"{where} failed {attempts} attempts ({describe(error)}); the chunks counted in chunks_done are "
            "imported, items of the others may be in part"
        ),
        resume=redrive_hint("import", "ImportDeadLetterQueueUrl", "the import goes on with that chunk"),
        log_fields={"chunk": task.index},
    )
    give_up_if_last_attempt(record, failed, error, source=importer_settings().source, jobs=lambda: deps.get("jobs"))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_message, processor=processor, context=context)


gc.freeze()
gc.enable()
