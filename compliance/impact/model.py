"""What a change-impact report is made of: each resource's change, per stack, per stage, per environment."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

ChangeKind = Literal["added", "modified", "removed", "replaced"]
# Environments where replacing or removing a stateful resource needs a committed acknowledgment.
GATED_ENVIRONMENTS = ("staging", "prod")


@dataclass(frozen=True)
class PermissionChange:
    """One way a policy allows more than before."""

    kind: str  # wildcard, new principal, new action, new resource, condition removed, condition changed, ...
    detail: str

    def describe(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    resource_type: str
    change: ChangeKind
    # Properties (and DeletionPolicy, UpdateReplacePolicy, UpdatePolicy) whose value changed.
    properties: tuple[str, ...] = ()
    # The create-only properties (CloudFormation resource schema) whose change replaces the resource.
    replacing: tuple[str, ...] = ()
    stateful: bool = False
    # The old resource outlives the change (DeletionPolicy or UpdateReplacePolicy Retain/Snapshot): its data
    # stays in an orphaned resource, which the stack no longer manages.
    retained: bool = False
    permissions: tuple[PermissionChange, ...] = ()
    deployment_settings: tuple[str, ...] = ()
    # False for types without a resource schema (custom resources): replacement cannot be told.
    schema_known: bool = True

    @property
    def stateful_loss(self) -> bool:
        return self.stateful and self.change in ("replaced", "removed")

    @property
    def sort_key(self) -> tuple[int, str]:
        return (0 if self.stateful_loss else 1 if self.permissions else 2, self.logical_id)


@dataclass(frozen=True)
class StackImpact:
    stack_name: str
    # The stack name without its environment prefix ("items" for "staging-items"): what acknowledgments name.
    relative_name: str
    changes: tuple[ResourceChange, ...]
    status: Literal["changed", "added", "removed"] = "changed"


@dataclass(frozen=True)
class Baseline:
    """Where the templates compared with came from."""

    source: str  # e.g. "release recorded after the smoke tests" or "commit abc123"
    commit: str = ""
    execution: str = ""
    recorded_at: str = ""


@dataclass(frozen=True)
class Acknowledged:
    reason: str
    reviewed_by: str


@dataclass(frozen=True)
class StageImpact:
    stage: str  # the stage id: dev, staging, prod-eu-west-1, ... or pipeline
    environment: str
    baseline: Baseline | None
    stacks: tuple[StackImpact, ...] = ()
    # (stack relative name, logical id, change) -> the acknowledgment that accepts it.
    acknowledged: dict[tuple[str, str, str], Acknowledged] = field(default_factory=dict)

    def changes(self) -> list[tuple[StackImpact, ResourceChange]]:
        return [(stack, change) for stack in self.stacks for change in stack.changes]

    def acknowledgment_of(self, stack: StackImpact, change: ResourceChange) -> Acknowledged | None:
        return self.acknowledged.get((stack.relative_name, change.logical_id, change.change))

    def blocking(self) -> list[tuple[StackImpact, ResourceChange]]:
        """Stateful replacements and removals in a gated environment that no acknowledgment accepts."""
        if self.environment not in GATED_ENVIRONMENTS:
            return []
        return [(s, c) for s, c in self.changes() if c.stateful_loss and self.acknowledgment_of(s, c) is None]


COUNTED = ("added", "modified", "removed", "replaced")


@dataclass(frozen=True)
class EnvironmentImpact:
    name: str
    stages: tuple[StageImpact, ...]

    @property
    def has_baseline(self) -> bool:
        return any(stage.baseline is not None for stage in self.stages)

    def counts(self) -> Counter[str]:
        """Changes of the environment, each resource counted once however many regions it changes in."""
        seen: dict[tuple[str, str], ResourceChange] = {}
        for stage in self.stages:
            for stack, change in stage.changes():
                seen.setdefault((stack.relative_name, change.logical_id), change)
        counts: Counter[str] = Counter({kind: 0 for kind in COUNTED})
        for change in seen.values():
            counts[change.change] += 1
            counts["stateful replaced or removed"] += change.stateful_loss
            counts["permission broadened"] += bool(change.permissions)
            counts["deployment settings"] += bool(change.deployment_settings)
        return counts

    def blocking(self) -> list[tuple[StageImpact, StackImpact, ResourceChange]]:
        return [(stage, s, c) for stage in self.stages for s, c in stage.blocking()]


@dataclass(frozen=True)
class Impact:
    """The change impact of one release in every environment."""

    commit: str
    environments: tuple[EnvironmentImpact, ...]
    # Acknowledgments of the registry that match no change in any stage compared (they may be removed once
    # every environment runs the release).
    unused_acknowledgments: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not any(env.blocking() for env in self.environments)

    def environment(self, name: str) -> EnvironmentImpact | None:
        return next((env for env in self.environments if env.name == name), None)
