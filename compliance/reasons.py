"""What makes a reason acceptable to an auditor, for every registry in compliance/ (cdk-nag acknowledgments,
stateful-change acknowledgments): a real sentence that says why it is safe, not a formula."""

import re

MIN_REASON_WORDS = 12
VAGUE_REASONS = re.compile(
    r"\b(needed by cdk|required by cdk|cdk default|false positive|not applicable|n/?a|todo|tbd)\b", re.IGNORECASE
)


def is_vague(reason: str) -> bool:
    return len(reason.split()) < MIN_REASON_WORDS or VAGUE_REASONS.search(reason) is not None
