"""The items table's write capacity as provisioned right now (auto scaling moves it between the
configured minimum and maximum), read with DescribeTable and kept for a minute."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .items import call

REFRESH_SECONDS = 60.0


class DynamoDbWriteCapacity:
    def __init__(self, client: Any, table_name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock
        self._read_at: float | None = None
        self._units: float | None = None

    def units_per_second(self) -> float | None:
        """Write capacity units a second the table can take now: the smallest of the table's and its
        indexes' (every item written is written to the list index too, on the index's own capacity);
        None for an on-demand table."""
        now = self._clock()
        if self._read_at is None or now - self._read_at >= REFRESH_SECONDS:
            table = call(self._client, "describe_table", TableName=self._table)["Table"]
            provisioned = [table.get("ProvisionedThroughput", {})] + [
                index.get("ProvisionedThroughput", {}) for index in table.get("GlobalSecondaryIndexes", [])
            ]
            units = [float(p.get("WriteCapacityUnits") or 0) for p in provisioned]
            self._units = min(units) if all(units) else None
            self._read_at = now
        return self._units
