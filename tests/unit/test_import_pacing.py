"""Fair to the API: how an import paces its writes to its share of the table's write capacity."""

import pytest

from items_runtime.logic.pacing import WriteBudget, import_rate
from tests.unit.fakes import FixedCapacity


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def spend_paced(budget: WriteBudget, clock: Clock, batches: list[float]) -> list[tuple[float, float]]:
    """Spend each batch as soon as the budget allows; (time, units) of each write."""
    writes = []
    for units in batches:
        clock.now += budget.delay(units)
        budget.spend(units)
        writes.append((clock.now, units))
    return writes


def test_a_budget_lets_no_more_than_its_rate_through_in_any_window() -> None:
    clock = Clock()
    budget = WriteBudget(10.0, clock=clock)
    writes = spend_paced(budget, clock, [25, 25, 3, 40, 25, 1, 25] * 5)
    for n, (start, _) in enumerate(writes):
        for end, _ in writes[n:]:
            spent = sum(units for at, units in writes if start <= at <= end)
            assert spent <= 10.0 * (end - start) + 40, (start, end)  # the rate, plus the write at the start
    # Starting empty, the writes so far never outrun the rate.
    assert all(sum(u for at, u in writes if at <= end) <= 10.0 * end for end, _ in writes)


def test_a_budget_saves_up_no_more_than_the_next_write_needs() -> None:
    clock = Clock()
    budget = WriteBudget(10.0, clock=clock)
    budget.delay(0)
    clock.now = 3600.0  # idle, or one very slow write
    assert budget.delay(50) == 0.0
    budget.spend(50)
    # Nothing was left over for a burst: the next write waits its full share.
    assert budget.delay(10) == pytest.approx(1.0)


def test_the_importers_together_stay_within_the_share_of_the_capacity() -> None:
    # 40 % of 500 units a second, shared by at most 8 importers at once.
    assert import_rate(FixedCapacity(500.0), share=0.4, concurrency=8) == pytest.approx(25.0)


def test_an_on_demand_table_is_not_paced() -> None:
    rate = import_rate(FixedCapacity(None), share=0.5, concurrency=2)
    assert rate is None
    assert WriteBudget(rate).delay(10_000) == 0.0
