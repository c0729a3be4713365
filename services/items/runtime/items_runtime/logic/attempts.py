"""How long an invocation may work on a message, and what a job says when its message has failed its
last attempt (the queue's redrive policy moves it to the dead-letter queue next)."""

from __future__ import annotations

import time
from collections.abc import Callable

# Work stops at this share of the time the invocation had when the message arrived, leaving the rest
# for the last write, the count and a continuation message, and keeping healthy invocations below
# the 80 % duration alarm of progressive delivery.
WORKING_SHARE = 0.7


class Deadline:
    def __init__(self, remaining_ms: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._at = clock() + WORKING_SHARE * remaining_ms / 1000

    def passed(self) -> bool:
        return self._clock() >= self._at

    def passed_after(self, seconds: float) -> bool:
        """Whether waiting `seconds` would take the work past the deadline."""
        return self._clock() + seconds >= self._at


def is_last_attempt(receive_count: int, max_receive_count: int) -> bool:
    return receive_count >= max_receive_count


def describe(error: BaseException) -> str:
    text = str(error).strip().replace("\n", " ")
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


def redrive_hint(queue: str, output: str, what: str) -> str:
    """What the job tells its owner: who resumes it and how (without the account's resource names)."""
    return (
        f"an operator fixes the cause, then redrives the {queue} dead-letter queue (the stack's {output} output) "
        f"into the {queue} queue; {what}"
    )


def redrive_command(dead_letter_queue_arn: str, source_queue_arn: str) -> str:
    """The command an operator runs (it goes to the function's log, not to the job)."""
    return f"aws sqs start-message-move-task --source-arn {dead_letter_queue_arn} --destination-arn {source_queue_arn}"
