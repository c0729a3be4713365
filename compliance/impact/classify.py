"""Classifies every resource change between two templates of one stack: added, modified, removed, or
replaced, which CloudFormation does when a create-only property changes (the resource schemas cfn-lint
ships list them: ``createOnlyProperties`` and ``conditionalCreateOnlyProperties``); stateful when the
resource holds data; with the permissions it broadens and the deployment settings it changes."""

import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from compliance.impact.model import ChangeKind, ResourceChange
from compliance.impact.policies import broadening

Template = Mapping[str, Any]

# Types that hold data: replacing or removing one loses it (or orphans it, when retained).
STATEFUL_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::Cognito::UserPool",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
        "AWS::SQS::Queue",
        "AWS::Kinesis::Stream",
        "AWS::EFS::FileSystem",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
    }
)
# What decides how a release goes out: traffic shifting, the alarms that stop it, the pipeline's gates.
# None: every property of the type.
DEPLOYMENT_SETTINGS: dict[str, tuple[str, ...] | None] = {
    "AWS::CodeDeploy::DeploymentGroup": (
        "DeploymentConfigName",
        "AlarmConfiguration",
        "AutoRollbackConfiguration",
        "DeploymentStyle",
    ),
    "AWS::CodeDeploy::DeploymentConfig": None,
    "AWS::Lambda::Alias": ("UpdatePolicy", "RoutingConfig"),
    "AWS::CloudWatch::Alarm": None,
    "AWS::CloudWatch::CompositeAlarm": None,
    "AWS::CodePipeline::Pipeline": ("ExecutionMode",),
}
_STAGE_CONDITIONS = ("BeforeEntry", "OnSuccess", "OnFailure")
# Resource attributes besides Properties whose change is a change of the resource.
_ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy", "Condition")
_RETAINING = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})
# Every commercial region has the same schema for the types here; one region answers for all.
_SCHEMA_REGION = "us-east-1"


@cache
def replacing_properties(resource_type: str) -> tuple[tuple[str, ...], ...] | None:
    """The create-only property paths of a type (each a tuple of keys, "*" for every array item), or None
    when no resource schema describes the type."""
    # Imported when first needed: it indexes every resource schema.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError  # type: ignore[import-untyped]

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(_SCHEMA_REGION, resource_type).schema
    except ResourceNotFoundError:
        return None
    paths = [*schema.get("createOnlyProperties", []), *schema.get("conditionalCreateOnlyProperties", [])]
    return tuple(tuple(p.removeprefix("/properties/").split("/")) for p in paths if p.startswith("/properties/"))


def _values_at(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield value
        return
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(value, list):
        for item in value:
            yield from _values_at(item, rest)
    elif isinstance(value, Mapping) and head in value:
        yield from _values_at(value[head], rest)


def _canonical(values: Iterator[Any]) -> str:
    return json.dumps(list(values), sort_keys=True)


def _changed_properties(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    before, after = old.get("Properties") or {}, new.get("Properties") or {}
    changed = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return changed + [a for a in _ATTRIBUTES if old.get(a) != new.get(a)]


def _deployment_settings(resource_type: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    if resource_type not in DEPLOYMENT_SETTINGS:
        return []
    watched = DEPLOYMENT_SETTINGS[resource_type]
    if old is None or new is None:
        return ["(added)" if old is None else "(removed)"] if watched is None else []
    changed = [p for p in _changed_properties(old, new) if watched is None or p in watched]
    if resource_type == "AWS::CodePipeline::Pipeline":
        before = {s.get("Name"): s for s in (old.get("Properties") or {}).get("Stages", [])}
        for stage in (new.get("Properties") or {}).get("Stages", []):
            earlier = before.get(stage.get("Name"), {})
            changed += [f"Stages[{stage.get('Name')}].{c}" for c in _STAGE_CONDITIONS if stage.get(c) != earlier.get(c)]
    return changed


def compare(old: Template, new: Template) -> list[ResourceChange]:
    """Every resource that differs between two templates of one stack (either may be empty: a stack that
    is new or gone), most consequential first."""
    before, after = old.get("Resources") or {}, new.get("Resources") or {}
    permissions = broadening(old, new)
    changes = []
    for logical_id in sorted(set(before) | set(after)):
        was, now = before.get(logical_id), after.get(logical_id)
        if was == now:
            continue
        resource_type = str((now or was or {}).get("Type"))
        kind: ChangeKind
        replacing: list[str] = []
        properties: list[str] = []
        schema = replacing_properties(resource_type)
        if was is None:
            kind = "added"
        elif now is None:
            kind = "removed"
        else:
            properties = _changed_properties(was, now)
            if was.get("Type") != now.get("Type"):
                kind, replacing = "replaced", ["Type"]
            else:
                replacing = [
                    "/".join(path)
                    for path in schema or ()
                    if _canonical(_values_at(was.get("Properties") or {}, path))
                    != _canonical(_values_at(now.get("Properties") or {}, path))
                ]
                kind = "replaced" if replacing else "modified"
        if kind == "modified" and not properties and logical_id not in permissions:
            continue  # only metadata changed
        retaining = (was or {}).get("DeletionPolicy" if kind == "removed" else "UpdateReplacePolicy")
        changes.append(
            ResourceChange(
                logical_id=logical_id,
                resource_type=resource_type,
                change=kind,
                properties=tuple(properties),
                replacing=tuple(replacing),
                stateful=resource_type in STATEFUL_TYPES,
                retained=kind in ("removed", "replaced") and retaining in _RETAINING,
                permissions=tuple(permissions.get(logical_id, ())),
                deployment_settings=tuple(_deployment_settings(resource_type, was, now)),
                schema_known=schema is not None,
            )
        )
    return sorted(changes, key=lambda c: c.sort_key)
