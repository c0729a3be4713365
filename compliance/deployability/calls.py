"""What the deployability checks produce: a Call (one request AWS will evaluate, with every policy it
evaluates for it) or a Problem (a wiring fault that no policy could fix)."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from compliance.deployability.policy import Decision, Document, Request, is_allowed

ALLOWED_BY = re.compile(r"allowed by (.+) statement (\S+)")


@dataclass(frozen=True)
class Call:
    """One request AWS will evaluate, with every policy it evaluates for it."""

    edge: str
    where: str
    request: Request
    identity: Mapping[str, Document]
    resource_policy: Document | None
    resource_account: str
    key_policy: Document | None = None

    def decision(self) -> Decision:
        return is_allowed(self.request, self.identity, self.resource_policy, self.resource_account, self.key_policy)

    def describe(self) -> str:
        who = self.request.principal.arn or self.request.principal.service
        return f"[{self.edge}] {self.where}: {who} {self.request.action} {self.request.resource}"

    def allowing_statements(self) -> list[tuple[str, str]]:
        """(policy, statement) pairs that allowed the call, as the decision names them."""
        found = []
        for reason in self.decision().reasons:
            match = ALLOWED_BY.match(reason)
            if match:
                found.append((match.group(1), match.group(2)))
        return found

    def without(self, *statements: tuple[str, str]) -> "Call":
        """The same call with these (policy, statement) pairs removed, statements named by Sid or index."""

        def drop(name: str, document: Document | None) -> Document | None:
            if document is None:
                return None
            labels = {label for policy, label in statements if policy == name}
            listed = document.get("Statement", [])
            listed = [listed] if isinstance(listed, Mapping) else list(listed)
            kept = [s for index, s in enumerate(listed) if not labels & {s.get("Sid"), str(index)}]
            return {**document, "Statement": kept}

        identity = {name: drop(name, doc) or {} for name, doc in self.identity.items()}
        return replace(
            self,
            identity=identity,
            resource_policy=drop("resource policy", self.resource_policy),
            key_policy=drop("key policy", self.key_policy),
        )


@dataclass(frozen=True)
class Problem:
    edge: str
    where: str
    message: str

    def describe(self) -> str:
        return f"[{self.edge}] {self.where}: {self.message}"


@dataclass
class Findings:
    calls: list[Call] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def denied(self) -> list[tuple[Call, Decision]]:
        return [(call, decision) for call in self.calls if not (decision := call.decision())]

    def edges(self) -> set[str]:
        return {c.edge for c in self.calls} | {p.edge for p in self.problems}
