"""Fair to the API: an import may use at most a configured share of the table's write capacity.

Each importer invocation paces its writes with a token bucket refilled at its part of that share,
share x provisioned capacity / the import queue's maximum concurrency, so all of them together stay
within the share whatever the number of chunks, and the rest of the capacity stays free for
`POST /items` and the other writes of the API. An item costs its write units on the table and the same
again on the list index, each out of its own capacity, so the pace follows the smaller of the two.
The bucket starts empty and holds no more than the next write needs, so the bound holds over every
window (give or take that one batch), not only on average."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class WriteCapacity(Protocol):
    def units_per_second(self) -> float | None: ...


@dataclass
class WriteBudget:
    """Write units this invocation may spend, refilled at `rate` a second (None: unpaced). What is not
    spent does not pile up beyond the write waiting for it: a slow write is not followed by a burst."""

    rate: float | None
    clock: Callable[[], float] = time.monotonic
    _tokens: float = 0.0
    _at: float | None = field(default=None, repr=False)

    def _refill(self, cap: float) -> None:
        now = self.clock()
        if self._at is not None and self.rate:
            self._tokens = min(max(cap, self._tokens), self._tokens + (now - self._at) * self.rate)
        self._at = now

    def delay(self, units: float) -> float:
        """Seconds to wait before `units` may be spent."""
        if not self.rate:
            return 0.0
        self._refill(units)
        return max(0.0, (units - self._tokens) / self.rate)

    def spend(self, units: float) -> None:
        if not self.rate:
            return
        self._refill(units)
        self._tokens -= units


def import_rate(capacity: WriteCapacity, *, share: float, concurrency: int) -> float | None:
    """This invocation's part of the import's share of the table's write capacity (units a second)."""
    units = capacity.units_per_second()
    if units is None:
        return None
    return share * units / concurrency
