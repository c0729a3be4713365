"""What the audit bundle is made of: the stacks, the findings with their status, the summary rows and
the counts every output shows."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from compliance.impact.model import Impact
from compliance.report.catalogue import Rule
from compliance.report.cfn_lint import LintFinding

ENVIRONMENT_ORDER = {"pipeline": 0, "dev": 1, "staging": 2, "prod": 3}


@dataclass(frozen=True)
class StackInfo:
    construct_path: str  # e.g. "Pipeline/dev/Items"
    stack_name: str
    environment: str  # pipeline, dev, staging, prod
    region: str
    template: str  # relative to cdk.out

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return ENVIRONMENT_ORDER.get(self.environment, 9), self.region, self.stack_name


@dataclass(frozen=True)
class Finding:
    pack: str
    mode: str  # gate or report
    rule_id: str
    finding_id: str
    level: str  # error or warning (the pack's)
    status: str  # open or acknowledged
    stack: StackInfo
    construct_path: str
    description: str
    explanation: str
    reason: str = ""
    owner: str = ""
    review_by: str = ""

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (*self.stack.sort_key, self.pack, self.rule_id, self.construct_path, self.finding_id)

    @property
    def blocking(self) -> bool:
        return self.status == "open" and self.mode == "gate"


@dataclass(frozen=True)
class SummaryRow:
    stack: StackInfo
    pack: str
    mode: str
    compliant_rules: int
    acknowledged: int
    open: int


@dataclass
class Audit:
    generated_at: str
    commit: str
    execution: str
    versions: dict[str, str]
    packs: dict[str, str]  # pack -> mode
    rules: dict[str, Rule]
    stacks: list[StackInfo]
    findings: list[Finding]
    lint: list[LintFinding]
    summary: list[SummaryRow] = field(default_factory=list)
    # What the release changes against each stage's baseline; None when no baseline was looked for.
    impact: Impact | None = None

    @property
    def passed(self) -> bool:
        """The compliance gate: no open finding of a gating pack, no cfn-lint error."""
        return not any(f.blocking for f in self.findings) and not any(f.blocking for f in self.lint)

    @property
    def impact_passed(self) -> bool:
        """The change-impact gate: no unacknowledged stateful replacement or removal in staging or prod."""
        return self.impact is None or self.impact.passed

    def counts(self, pack: str | None = None) -> Counter[str]:
        selected = [f for f in self.findings if pack is None or f.pack == pack]
        return Counter(f.status for f in selected)

    @property
    def blocking(self) -> int:
        """Open findings of gating packs: each one fails the gate."""
        return sum(f.blocking for f in self.findings)

    @property
    def report_only_open(self) -> int:
        return sum(f.status == "open" and f.mode == "report" for f in self.findings)

    def lint_counts(self) -> Counter[str]:
        """cfn-lint findings by level (Error, Warning, ...), acknowledged ones counted apart."""
        return Counter("acknowledged" if f.acknowledged_reason else f.level for f in self.lint)

    def rules_of(self, pack: str) -> list[str]:
        return rules_of(self.rules, pack)


def rules_of(rules: dict[str, Rule], pack: str) -> list[str]:
    """The rule ids of one pack, in order."""
    return sorted(rule_id for rule_id, rule in rules.items() if rule.pack == pack)
