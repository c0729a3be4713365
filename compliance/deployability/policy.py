"""An IAM policy evaluator: would AWS allow this request, given every policy AWS evaluates for it?

Semantics follow the AWS IAM docs "Policy evaluation logic", "Cross-account policy evaluation logic",
"IAM JSON policy elements: Condition operators" and "IAM JSON policy elements: Resource", and the AWS KMS doc
"Key policies in AWS KMS". Policies are plain dicts whose values are already strings (see template.py).

Where the evaluator cannot know the answer it errs towards "denied", never towards "allowed":
a condition key the request context does not supply (outside `Null` and `...IfExists`, which test presence),
an operator it does not implement, or a policy variable such as `${aws:username}` makes the statement
UNKNOWN. An unknown Allow does not grant; an unknown Deny counts as matching, and its reason says why.
(AWS itself treats a missing key as false for positive operators and true for negated ones, so an unknown
Deny of a positive operator is stricter than AWS.) Only resource ARNs that have all six colon-separated parts
are matched segment-wise, as IAM does: `*` and `?` stay within the partition, service, region and account
segments but span `:` and `/` in the resource part; any other pattern is globbed over the whole string.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

Document = Mapping[str, Any]
Policies = Mapping[str, Document] | Sequence[Document]
ContextValue = str | list[str] | bool


class Match(Enum):
    """Three-valued match: UNKNOWN means the evaluator cannot tell, and is resolved per Effect."""

    NO = 0
    YES = 1
    UNKNOWN = 2


def _combine(results: Iterable[Match], decisive: Match) -> Match:
    """AND (decisive NO) or OR (decisive YES) of three-valued matches: UNKNOWN beats the non-decisive value."""
    combined = Match.NO if decisive is Match.YES else Match.YES
    for result in results:
        if result is decisive:
            return decisive
        if result is Match.UNKNOWN:
            combined = Match.UNKNOWN
    return combined


@dataclass(frozen=True)
class Principal:
    """The caller: an IAM identity (role, user or account root ARN), an AWS service, or a federated identity.

    A service acts in `account`, on behalf of `source_arn`/`source_account`, which the request context carries as
    aws:SourceArn and aws:SourceAccount."""

    account: str
    arn: str = ""
    service: str = ""
    federated: str = ""
    source_arn: str = ""
    source_account: str = ""

    @classmethod
    def iam(cls, arn: str) -> "Principal":
        return cls(account=arn.split(":")[4], arn=arn)

    @classmethod
    def aws_service(cls, service: str, account: str, source_arn: str = "", source_account: str = "") -> "Principal":
        return cls(account=account, service=service, source_arn=source_arn, source_account=source_account)

    def context(self) -> dict[str, ContextValue]:
        values: dict[str, ContextValue] = {}
        if self.arn:
            values |= {"aws:PrincipalArn": self.arn, "aws:PrincipalAccount": self.account}
        if self.service:
            values |= {"aws:PrincipalServiceName": self.service}
        values["aws:PrincipalIsAWSService"] = bool(self.service)
        if self.source_arn:
            values["aws:SourceArn"] = self.source_arn
        if self.source_account:
            values["aws:SourceAccount"] = self.source_account
        return values


@dataclass(frozen=True)
class Request:
    """One API call. The context defaults aws:SecureTransport to true (SDK calls use TLS) and adds the keys the
    principal implies; `context` overrides both. Condition key names are case-insensitive, as in IAM."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def full_context(self) -> dict[str, list[str]]:
        merged: dict[str, ContextValue] = {"aws:SecureTransport": True, **self.principal.context(), **self.context}
        return {key.lower(): _strings(value) for key, value in merged.items()}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: list[str]

    def __bool__(self) -> bool:
        return self.allowed


def _strings(value: Any) -> list[str]:
    """Policy and context values as IAM compares them: lists of strings, booleans as "true"/"false"."""
    values = value if isinstance(value, list | tuple) else [value]
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in values]


@cache
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` is any run of characters, `?` any single character."""
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return glob(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """Case-sensitive, segment-wise ARN matching: see the module docstring."""
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or pattern_parts[0] != "arn":
        return glob(pattern, arn)
    return len(arn_parts) == 6 and all(glob(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


# --- conditions -------------------------------------------------------------------------------------------------

Comparator = Callable[[str, str], bool]


def _numeric(compare: Callable[[float, float], bool]) -> Comparator:
    def check(policy_value: str, context_value: str) -> bool:
        try:
            return compare(float(context_value), float(policy_value))
        except ValueError:
            return False

    return check


# Each operator: (comparator of one policy value with one context value, negated).
_OPERATORS: dict[str, tuple[Comparator, bool]] = {
    "StringEquals": (lambda p, c: p == c, False),
    "StringNotEquals": (lambda p, c: p == c, True),
    "StringEqualsIgnoreCase": (lambda p, c: p.lower() == c.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, c: p.lower() == c.lower(), True),
    "StringLike": (lambda p, c: glob(p, c), False),
    "StringNotLike": (lambda p, c: glob(p, c), True),
    "ArnEquals": (lambda p, c: arn_matches(p, c), False),
    "ArnLike": (lambda p, c: arn_matches(p, c), False),
    "ArnNotEquals": (lambda p, c: arn_matches(p, c), True),
    "ArnNotLike": (lambda p, c: arn_matches(p, c), True),
    "Bool": (lambda p, c: p.lower() == c.lower(), False),
    "NumericEquals": (_numeric(lambda c, p: c == p), False),
    "NumericNotEquals": (_numeric(lambda c, p: c == p), True),
    "NumericLessThan": (_numeric(lambda c, p: c < p), False),
    "NumericLessThanEquals": (_numeric(lambda c, p: c <= p), False),
    "NumericGreaterThan": (_numeric(lambda c, p: c > p), False),
    "NumericGreaterThanEquals": (_numeric(lambda c, p: c >= p), False),
}


def _parse_operator(operator: str) -> tuple[str, str, bool]:
    """'ForAnyValue:StringLikeIfExists' -> ('ForAnyValue', 'StringLike', True)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    return qualifier, base.removesuffix("IfExists") if if_exists else base, if_exists


def _condition_key(operator: str, key: str, policy_values: list[str], context: Mapping[str, list[str]]) -> Match:
    """One key under one operator. Multiple policy values OR (negated operators: none may match, i.e. AND)."""
    qualifier, base, if_exists = _parse_operator(operator)
    present = key.lower() in context
    if base == "Null" and not qualifier and not if_exists:
        return Match(any((value.lower() == "true") != present for value in policy_values))
    if base not in _OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        return Match.UNKNOWN
    if not present:
        return Match.YES if if_exists else Match.UNKNOWN
    if any("${" in value for value in policy_values):
        return Match.UNKNOWN
    compare, negated = _OPERATORS[base]

    def one(context_value: str) -> bool:
        hit = any(compare(policy_value, context_value) for policy_value in policy_values)
        return hit != negated

    values = context[key.lower()]
    if qualifier == "ForAllValues":
        return Match(all(map(one, values))) if values else Match.UNKNOWN
    if qualifier == "ForAnyValue" or not negated:
        return Match(any(map(one, values)))
    return Match(all(map(one, values)))


def _conditions(block: Mapping[str, Mapping[str, Any]], context: Mapping[str, list[str]]) -> tuple[Match, str]:
    """Operators in a block AND, keys under an operator AND. Returns the result and the first failing part."""
    worst, why = Match.YES, ""
    for operator, keys in block.items():
        for key, values in keys.items():
            result = _condition_key(operator, key, _strings(values), context)
            if result is Match.NO:
                return Match.NO, f"condition {operator} {key} does not hold"
            if result is Match.UNKNOWN and worst is Match.YES:
                worst, why = result, f"condition {operator} {key} cannot be decided (missing key or unsupported)"
    return worst, why


# --- statements ---------------------------------------------------------------------------------------------------


class Via(Enum):
    """How a resource policy named the caller: directly, or through its account (delegating to IAM)."""

    NONE = 0
    DIRECT = 1
    ACCOUNT = 2


def _account_of(value: str) -> str:
    if re.fullmatch(r"\d{12}", value):
        return value
    match = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):root", value)
    return match.group(1) if match else ""


def _principal_via(element: Any, principal: Principal) -> Via:
    if element == "*":
        return Via.DIRECT
    if not isinstance(element, Mapping):
        raise ValueError(f"unsupported Principal element {element!r}")
    for value in _strings(element.get("Service", [])):
        if principal.service and value.lower() == principal.service.lower():
            return Via.DIRECT
    for value in _strings(element.get("Federated", [])):
        if principal.federated and value == principal.federated:
            return Via.DIRECT
    aws = _strings(element.get("AWS", []))
    if "*" in aws or (principal.arn and principal.arn in aws):
        return Via.DIRECT
    if principal.arn and any(_account_of(value) == principal.account for value in aws):
        return Via.ACCOUNT
    return Via.NONE


def _statement_principal(statement: Document, principal: Principal, resource_based: bool) -> Via:
    if "Principal" in statement:
        return _principal_via(statement["Principal"], principal)
    if "NotPrincipal" in statement:
        return Via.NONE if _principal_via(statement["NotPrincipal"], principal) is not Via.NONE else Via.DIRECT
    if resource_based:
        raise ValueError("a resource policy statement must name a Principal or NotPrincipal")
    return Via.DIRECT  # an identity policy: it applies to the identity it is attached to


def _element(statement: Document, name: str, matches: Callable[[str], Match]) -> Match:
    """Action/NotAction or Resource/NotResource; a statement with neither applies to the resource it is on."""
    if name in statement:
        return _combine((matches(pattern) for pattern in _strings(statement[name])), Match.YES)
    if f"Not{name}" in statement:
        result = _combine((matches(pattern) for pattern in _strings(statement[f"Not{name}"])), Match.YES)
        return {Match.YES: Match.NO, Match.NO: Match.YES}.get(result, Match.UNKNOWN)
    return Match.YES if name == "Resource" else Match.NO


def _resource_match(pattern: str, resource: str) -> Match:
    if "${" in pattern:
        return Match.UNKNOWN
    return Match(arn_matches(pattern, resource))


@dataclass
class _Outcome:
    denied: bool = False
    allowed_direct: bool = False
    allowed_via_account: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.allowed_direct or self.allowed_via_account


def _statements(document: Document) -> list[Document]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _named(policies: Policies) -> list[tuple[str, Document]]:
    if isinstance(policies, Mapping):
        return list(policies.items())
    return [(f"policy[{index}]", document) for index, document in enumerate(policies)]


def _evaluate(policies: Policies, request: Request, resource_based: bool = False) -> _Outcome:
    outcome, context = _Outcome(), request.full_context()
    for name, document in _named(policies):
        for index, statement in enumerate(_statements(document)):
            label = f"{name} statement {statement.get('Sid') or index}"
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise ValueError(f"{label}: Effect must be Allow or Deny, not {effect!r}")
            via = _statement_principal(statement, request.principal, resource_based)
            action = _element(statement, "Action", lambda pattern: Match(action_matches(pattern, request.action)))
            if via is Via.NONE or action is Match.NO:
                continue
            resource = _element(statement, "Resource", lambda p: _resource_match(p, request.resource))
            condition, why = _conditions(statement.get("Condition", {}), context)
            result = _combine([action, resource, condition], Match.NO)
            if effect == "Deny" and result is not Match.NO:
                outcome.denied = True
                unsure = why or "policy variable in Resource"
                note = f" (applied conservatively: {unsure})" if result is Match.UNKNOWN else ""
                outcome.reasons.append(f"explicitly denied by {label}{note}")
            elif effect == "Allow" and result is Match.YES:
                outcome.allowed_direct |= via is Via.DIRECT
                outcome.allowed_via_account |= via is Via.ACCOUNT
                delegated = " via the account principal" if via is Via.ACCOUNT else ""
                outcome.reasons.append(f"allowed by {label}{delegated}")
            elif effect == "Allow" and why:
                outcome.reasons.append(f"{label} does not allow: {why}")
    return outcome


def evaluate(policies: Policies, request: Request) -> Decision:
    """One set of policies of one kind: an explicit deny wins, then any allow, else the implicit deny.

    `policies` is a mapping of name to document (names appear in the reasons) or a plain list of documents."""
    outcome = _evaluate(policies, request)
    if outcome.denied:
        return Decision(False, outcome.reasons)
    if outcome.allowed:
        return Decision(True, outcome.reasons)
    return Decision(False, [*outcome.reasons, f"implicitly denied: no statement allows {request.action}"])


def is_allowed(
    request: Request,
    identity_policies: Policies,
    resource_policy: Document | None,
    resource_account: str,
    key_policy: Document | None = None,
) -> Decision:
    """Every policy AWS evaluates for one call: identity policies, the resource policy and, for KMS, the key policy.

    - Any explicit deny, in any of them, denies ("Policy evaluation logic").
    - Same account: allowed when the identity policies allow, or the resource policy names the caller directly.
      A resource policy that names only the account (`arn:aws:iam::<acct>:root` or the account id) delegates to
      IAM, so the identity policies must allow.
    - Cross account: the identity policies AND the resource policy (naming the caller or its account) must allow
      ("Cross-account policy evaluation logic").
    - AWS service principals have no identity policy: only a resource policy naming the service can allow them.
    - KMS ("Key policies in AWS KMS"): IAM policies cannot allow access to a key unless its key policy does. The key
      policy is required: it must name the caller (cross account, the identity policies must then allow as well), or
      name the caller's account root, which enables IAM policies, so the identity policies must allow. KMS rules
      apply when `key_policy` is given or the action is a `kms:` action; the key policy is then `key_policy`, or
      `resource_policy` when only that is given. Passing both is an error.
    """
    kms = key_policy is not None or request.action.lower().startswith("kms:")
    if key_policy is not None and resource_policy is not None:
        raise ValueError("pass the KMS key policy as key_policy or resource_policy, not both")
    document = key_policy if key_policy is not None else resource_policy
    principal = request.principal
    identity = _Outcome() if principal.service else _evaluate(identity_policies, request)
    label = "key policy" if kms else "resource policy"
    resource = _evaluate({label: document}, request, resource_based=True) if document else _Outcome()
    reasons = [*identity.reasons, *resource.reasons]
    if identity.denied or resource.denied:
        return Decision(False, reasons)
    same_account = principal.account == resource_account
    if principal.service:
        allowed, missing = resource.allowed_direct, "no resource policy statement allows the service principal"
    elif kms:
        allowed = (resource.allowed_direct and (same_account or identity.allowed)) or (
            resource.allowed_via_account and identity.allowed
        )
        missing = "the key policy must allow the caller, or its account root together with an identity policy"
    elif same_account:
        allowed, missing = identity.allowed or resource.allowed_direct, "neither identity nor resource policy allows"
    else:
        allowed = identity.allowed and resource.allowed
        missing = "cross-account access needs both an identity policy and a resource policy that allow"
    return Decision(allowed, reasons if allowed else [*reasons, f"denied: {missing}"])
