"""Permission broadening between two templates of one stack: every identity and resource policy (inline and
managed policies, trust policies, bucket, queue, topic, secret and log resource policies, key policies,
Lambda permissions, managed policies attached) is cut into grants (effect, principal, action, resource,
condition); a grant the new template has and the old one has not allows more, and so does a Deny the new
one dropped.

A statement that moves to another policy of the same principal is no change; adding a condition to a grant
narrows it and is not reported. Values that hold references are compared as written (``<Ref X>``)."""

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from compliance.impact.model import PermissionChange

Template = Mapping[str, Any]
# Properties of identity policies that name who the policy applies to.
_ATTACHMENTS = ("Roles", "Users", "Groups")
_IDENTITY_HOLDERS = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
# The action of the grant that stands for a managed policy attached to a role, user or group.
MANAGED = "everything of managed policy "
THIS_KEY = "(this key)"
_REFERENCE = re.compile(r"<([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?>")


@dataclass(frozen=True)
class Grant:
    effect: str
    principal: str
    action: str
    resource: str
    condition: str  # canonical JSON, "" for none

    @property
    def unconditioned(self) -> tuple[str, str, str, str]:
        return self.effect, self.principal, self.action, self.resource


def render(value: Any) -> str:
    """A template value as a reader sees it: references as <Ref X>, <X.Attr>, joins concatenated."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        (key, inner), *_ = value.items()
        if key == "Ref":
            return f"<{inner}>"
        if key == "Fn::GetAtt":
            return f"<{'.'.join(inner) if isinstance(inner, list) else inner}>"
        if key == "Fn::Join" and isinstance(inner, list) and len(inner) == 2 and isinstance(inner[1], list):
            return str(inner[0]).join(render(part) for part in inner[1])
        if key == "Fn::Sub":
            return render(inner[0] if isinstance(inner, list) else inner)
    return json.dumps(value, sort_keys=True)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _principals(value: Any) -> list[str]:
    if value == "*":
        return ["*"]
    if isinstance(value, Mapping):
        return [f"{kind}:{render(p)}" for kind, names in sorted(value.items()) for p in _listed(names)]
    return [render(p) for p in _listed(value)]


def _statements(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    return [s for s in _listed(document.get("Statement")) if isinstance(s, Mapping)]


def _grants(statement: Mapping[str, Any], principals: list[str]) -> Iterator[Grant]:
    actions = [render(a) for a in _listed(statement.get("Action"))] or [
        f"NOT {render(a)}" for a in _listed(statement.get("NotAction"))
    ]
    resources = [render(r) for r in _listed(statement.get("Resource"))] or [
        f"NOT {render(r)}" for r in _listed(statement.get("NotResource"))
    ]
    condition = json.dumps(statement["Condition"], sort_keys=True) if statement.get("Condition") else ""
    for principal in principals:
        for action in actions or ["(none)"]:
            for resource in resources or ["(the resource the policy is on)"]:
                yield Grant(str(statement.get("Effect", "Allow")), principal, action, resource, condition)


def _documents(resource: Mapping[str, Any]) -> Iterator[tuple[Any, list[str] | None]]:
    """(policy document, its principals when the document has none of its own) of one resource."""
    properties = resource.get("Properties") or {}
    kind = resource.get("Type")
    if kind == "AWS::Lambda::Permission":
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Action": properties.get("Action"),
            "Resource": properties.get("FunctionName"),
        }
        condition = {
            key: {f"aws:{name}": properties[name]}
            for key, name in (("ArnLike", "SourceArn"), ("StringEquals", "SourceAccount"))
            if name in properties
        }
        if condition:
            statement["Condition"] = condition
        yield {"Statement": [statement]}, [render(properties.get("Principal"))]
        return
    attached = [f"attached:{render(t)}" for key in _ATTACHMENTS for t in _listed(properties.get(key))]
    for name, value in properties.items():
        if name in ("Policies",) and kind in _IDENTITY_HOLDERS:
            continue
        if _statements(value) or (isinstance(value, Mapping) and _statements(value.get("PolicyDocument"))):
            document = value.get("PolicyDocument") if isinstance(value, Mapping) and "Statement" not in value else value
            if kind == "AWS::KMS::Key":
                # In a key policy, Resource "*" is the key itself, not every resource.
                document = {
                    "Statement": [
                        {**s, "Resource": THIS_KEY} if s.get("Resource") == "*" else s for s in _statements(document)
                    ]
                }
            yield document, attached or None
    if kind in _IDENTITY_HOLDERS:
        holder = [f"attached:<{resource.get('_logical_id', '')}>"]
        for policy in _listed(properties.get("Policies")):
            if isinstance(policy, Mapping):
                yield policy.get("PolicyDocument"), holder
        for arn in _listed(properties.get("ManagedPolicyArns")):
            statement = {"Effect": "Allow", "Action": f"{MANAGED}{render(arn)}", "Resource": "(what it names)"}
            yield {"Statement": [statement]}, holder


def grants_of(template: Template) -> dict[Grant, str]:
    """Every grant of the template, with the logical id of the resource that holds it."""
    found: dict[Grant, str] = {}
    for logical_id, resource in sorted((template.get("Resources") or {}).items()):
        resource = {**resource, "_logical_id": logical_id}
        for document, principals in _documents(resource):
            for statement in _statements(document):
                own = _principals(statement.get("Principal")) if "Principal" in statement else None
                if own is None and "NotPrincipal" in statement:
                    own = [f"NOT {p}" for p in _principals(statement["NotPrincipal"])]
                for grant in _grants(statement, own or principals or ["(the account)"]):
                    found.setdefault(grant, logical_id)
    return found


def _is_wildcard_principal(grant: Grant) -> bool:
    return grant.principal in ("*", "AWS:*") or grant.principal.startswith("NOT ")


def _is_wildcard(grant: Grant) -> bool:
    return (
        "*" in grant.action
        or "*" in grant.resource
        or _is_wildcard_principal(grant)
        or grant.action.startswith("NOT ")
        or grant.resource.startswith("NOT ")
    )


def _protects_only_what_is_gone(grant: Grant, remaining: Mapping[str, Any]) -> bool:
    """A Deny whose resources all name resources the new template no longer has (their policy went too)."""
    named = _REFERENCE.findall(grant.resource)
    return bool(named) and all(logical_id not in remaining for logical_id in named)


def broadening(old: Template, new: Template) -> dict[str, list[PermissionChange]]:
    """What the new template allows that the old one did not, by the logical id that allows it."""
    before, after = grants_of(old), grants_of(new)
    by_unconditioned: dict[tuple[str, str, str, str], list[Grant]] = defaultdict(list)
    principals, principal_actions = set(), set()
    for grant in before:
        by_unconditioned[grant.unconditioned].append(grant)
        principals.add((grant.effect, grant.principal))
        principal_actions.add((grant.effect, grant.principal, grant.action))
    changes: dict[str, list[PermissionChange]] = defaultdict(list)
    for grant, logical_id in after.items():
        if grant in before:
            continue
        what = f"{grant.principal} may {grant.action} on {grant.resource}"
        if grant.effect != "Allow":
            continue  # a new or changed Deny only narrows
        earlier = by_unconditioned.get(grant.unconditioned, [])
        if earlier:
            if not grant.condition:
                changes[logical_id].append(PermissionChange("condition removed", what))
            elif all(e.condition for e in earlier):
                changes[logical_id].append(PermissionChange("condition changed", f"{what} if {grant.condition}"))
            continue  # a condition added to an unconditioned grant narrows it
        if grant.action.startswith(MANAGED):
            kind = "managed policy attached"
        elif (grant.effect, grant.principal) not in principals and not _is_wildcard_principal(grant):
            kind = "new principal"
        elif _is_wildcard(grant):
            kind = "wildcard"
        elif (grant.effect, grant.principal, grant.action) not in principal_actions:
            kind = "new action"
        else:
            kind = "new resource"
        changes[logical_id].append(PermissionChange(kind, what + (f" if {grant.condition}" if grant.condition else "")))
    remaining = new.get("Resources") or {}
    for grant, logical_id in before.items():
        if grant.effect == "Deny" and grant not in after and not _protects_only_what_is_gone(grant, remaining):
            changes[logical_id].append(
                PermissionChange(
                    "deny removed", f"{grant.principal} no longer denied {grant.action} on {grant.resource}"
                )
            )
    return {k: sorted(v, key=lambda c: (c.kind, c.detail)) for k, v in changes.items()}
