"""The import queue: one message per chunk of an accepted upload, sent by the worker once the whole
file is valid, consumed by the importer (and sent again by it, from where it stopped, when a chunk
takes longer than one invocation may run)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import StorageUnavailableError

MESSAGE_KIND: Literal["ingest-chunk"] = "ingest-chunk"
SEND_BATCH = 10  # SendMessageBatch's limit
SEND_ATTEMPTS = 5


class ChunkTask(BaseModel):
    """Import the records of bytes [start, end) of one upload version, which begin on line `line`;
    the chunk holds `records` records in all (a continuation starts later in the same chunk)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: Literal["ingest-chunk"] = MESSAGE_KIND
    job_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    version: str = Field(min_length=1)
    key: str = Field(min_length=1)
    format: Literal["jsonl", "csv"]
    columns: tuple[str, ...] = ()
    index: int = Field(ge=0)
    chunks: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    line: int = Field(ge=1)
    records: int = Field(ge=1)
    done: int = Field(default=0, ge=0)  # records of the chunk before `start` (a continuation)
    owner: str
    imported_at: str

    def resumed_at(self, *, start: int, line: int, done: int) -> ChunkTask:
        return self.model_copy(update={"start": start, "line": line, "done": done})


def chunk_task_from_message(body: str) -> ChunkTask | None:
    """The chunk a message body describes, or None when it is anything else."""
    try:
        return ChunkTask.model_validate_json(body)
    except ValidationError:
        return None


class SqsChunkQueue:
    def __init__(self, client: Any, queue_url: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._url = queue_url
        self._sleep = sleep

    def send(self, tasks: Iterable[ChunkTask]) -> int:
        """Send every task (10 a request, retrying the entries SQS could not take); returns how many."""
        batch: list[ChunkTask] = []
        sent = 0
        for task in tasks:
            batch.append(task)
            if len(batch) == SEND_BATCH:
                sent += self._send_batch(batch)
                batch = []
        if batch:
            sent += self._send_batch(batch)
        return sent

    def _send_batch(self, tasks: Sequence[ChunkTask]) -> int:
        entries = {str(n): task.model_dump_json() for n, task in enumerate(tasks)}
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                self._sleep(0.1 * 2**attempt)
            response = self._client.send_message_batch(
                QueueUrl=self._url, Entries=[{"Id": k, "MessageBody": v} for k, v in entries.items()]
            )
            failed = response.get("Failed", [])
            permanent = [f for f in failed if f.get("SenderFault")]
            if permanent:
                raise ValueError(f"the import queue refused a chunk message: {json.dumps(permanent)[:500]}")
            entries = {f["Id"]: entries[f["Id"]] for f in failed}
            if not entries:
                return len(tasks)
        raise StorageUnavailableError(f"{len(entries)} chunk messages could not be sent to the import queue")
