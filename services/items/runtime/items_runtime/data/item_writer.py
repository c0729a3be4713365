"""Imported items written with DynamoDB's batch writes: 25 puts a request, unprocessed items (what a
table out of capacity hands back) and throttled requests retried with exponential backoff and full
jitter, until every item is written or the attempts run out. Writing an item again writes the same
item (its id comes from the job and the line), so a retried or redelivered batch duplicates nothing."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import StorageUnavailableError
from ..models import Item
from .items import RETRYABLE_CODES, error_code, item_record

BATCH_ITEMS = 25  # BatchWriteItem's limit
MAX_ATTEMPTS = 10
BASE_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 5.0


def write_units(record: dict[str, dict[str, str]]) -> int:
    """Write capacity units DynamoDB charges for putting this item: 1 per KB of item size (attribute
    names plus values; a number takes about one byte per two digits), rounded up. The list index
    projects every attribute, so it charges the same again on its own capacity."""
    size = 0
    for name, value in record.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            size += math.ceil(len(value["N"].lstrip("-").replace(".", "")) / 2) + 1
    return max(1, math.ceil(size / 1024))


class DynamoDbItemWriter:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._client = client
        self._table = table_name
        self._sleep = sleep
        self._jitter = jitter
        self._max_attempts = max_attempts

    def write(self, items: Sequence[Item]) -> None:
        """Write up to 25 items; raises StorageUnavailableError when some are still unwritten after
        every attempt (the chunk is retried later; what was written is written again, identically)."""
        if len(items) > BATCH_ITEMS:
            raise ValueError(f"a batch holds at most {BATCH_ITEMS} items, not {len(items)}")
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item_record(item)}} for item in items]
        for attempt in range(self._max_attempts):
            if not requests:
                return
            if attempt:
                # Full jitter: concurrent chunk workers that were throttled together do not retry together.
                self._sleep(self._jitter() * min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt))
            try:
                response = self._client.batch_write_item(RequestItems={self._table: requests})
            except ClientError as error:
                if error_code(error) not in RETRYABLE_CODES:
                    raise
                continue
            except BotoCoreError:
                continue
            requests = list(response.get("UnprocessedItems", {}).get(self._table, []))
        if requests:
            raise StorageUnavailableError(
                f"{len(requests)} of {len(items)} items still unprocessed after {self._max_attempts} attempts"
            )
