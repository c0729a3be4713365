"""The one registry of reviewed stateful changes: replacing or removing a table, bucket, user pool, key,
secret, log group or queue in staging or prod fails the Build step unless an entry here names it (the stack
without its environment prefix, the resource's logical id, replaced or removed, the environments), says why
it is safe and who reviewed it. Commit the entry with the change that needs it; once every environment runs
the release, the report lists the entry as unused and it can go.

Example (a new sort key replaces the items table; its items are exported and re-imported first):

    StatefulChangeAcknowledgment(
        stack="items",
        logical_id="DataItemsTable0123ABCD",
        change="replaced",
        environments=("staging", "prod"),
        reason="The new sort key replaces the table; the runbook exports every item before the deployment "
        "and imports them into the new table before traffic shifts to the version that reads it.",
        reviewed_by="jane.doe",
    )
"""

from dataclasses import dataclass
from typing import Literal

from compliance.impact.model import GATED_ENVIRONMENTS
from compliance.reasons import MIN_REASON_WORDS, is_vague


class StatefulAcknowledgmentError(ValueError):
    """An entry of the registry cannot be accepted."""


@dataclass(frozen=True)
class StatefulChangeAcknowledgment:
    stack: str
    logical_id: str
    change: Literal["replaced", "removed"]
    reason: str
    reviewed_by: str
    environments: tuple[str, ...] = GATED_ENVIRONMENTS

    @property
    def describe(self) -> str:
        return f"{self.change} {self.stack}/{self.logical_id} in {', '.join(self.environments)}"


STATEFUL_ACKNOWLEDGMENTS: tuple[StatefulChangeAcknowledgment, ...] = ()


def check(entries: tuple[StatefulChangeAcknowledgment, ...]) -> None:
    for entry in entries:
        where = entry.describe
        if entry.change not in ("replaced", "removed"):
            raise StatefulAcknowledgmentError(f"{where}: change must be 'replaced' or 'removed'")
        if not entry.environments or set(entry.environments) - set(GATED_ENVIRONMENTS):
            raise StatefulAcknowledgmentError(f"{where}: environments must be some of {', '.join(GATED_ENVIRONMENTS)}")
        if is_vague(entry.reason):
            raise StatefulAcknowledgmentError(
                f"{where}: the reason must say in a real sentence (at least {MIN_REASON_WORDS} words) how the data "
                f"is kept or why losing it is acceptable, got {entry.reason!r}"
            )
        if not entry.reviewed_by.strip():
            raise StatefulAcknowledgmentError(f"{where}: reviewed_by must name who reviewed the change")
