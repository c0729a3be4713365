"""The change-impact report: change-impact.json for tools, change-impact.md for people (and a PR comment), a
section of report.html, and the one line of the prod approval comment."""

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from compliance.impact.model import (
    COUNTED,
    EnvironmentImpact,
    Impact,
    ResourceChange,
    StackImpact,
    StageImpact,
)

APPROVAL_ENVIRONMENT = "prod"
# Beside the line, in the run's audit bundle (cdk.out/compliance/, uploaded to the evidence bucket).
DETAILS = "change-impact.md"


def _change_json(stage: StageImpact, stack: StackImpact, change: ResourceChange) -> dict[str, Any]:
    acknowledged = stage.acknowledgment_of(stack, change)
    return {
        "logicalId": change.logical_id,
        "type": change.resource_type,
        "change": change.change,
        "properties": list(change.properties),
        "replacing": list(change.replacing),
        "stateful": change.stateful,
        "retained": change.retained,
        "permissionBroadening": [{"kind": p.kind, "detail": p.detail} for p in change.permissions],
        "deploymentSettings": list(change.deployment_settings),
        "schemaKnown": change.schema_known,
        "acknowledged": {"reason": acknowledged.reason, "reviewedBy": acknowledged.reviewed_by}
        if acknowledged
        else None,
        "blocking": (stack, change) in stage.blocking(),
    }


def render_json(impact: Impact, generated_at: str) -> str:
    document = {
        "generatedAt": generated_at,
        "commit": impact.commit,
        "passed": impact.passed,
        "environments": [
            {
                "name": env.name,
                "counts": dict(sorted(env.counts().items())),
                "stages": [
                    {
                        "stage": stage.stage,
                        "baseline": None
                        if stage.baseline is None
                        else {
                            "source": stage.baseline.source,
                            "commit": stage.baseline.commit,
                            "execution": stage.baseline.execution,
                            "recordedAt": stage.baseline.recorded_at,
                        },
                        "stacks": [
                            {
                                "stack": stack.stack_name,
                                "status": stack.status,
                                "changes": [_change_json(stage, stack, c) for c in stack.changes],
                            }
                            for stack in stage.stacks
                        ],
                    }
                    for stage in env.stages
                ],
            }
            for env in impact.environments
        ],
        "unusedAcknowledgments": list(impact.unused_acknowledgments),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _counts_text(env: EnvironmentImpact) -> str:
    c = env.counts()
    return (
        f"{c['added']} added, {c['modified']} modified, {c['removed']} removed, {c['replaced']} replaced "
        f"({c['stateful replaced or removed']} stateful replaced or removed), {c['permission broadened']} "
        f"permission broadened, {c['deployment settings']} deployment settings changed"
    )


def _line(c: Mapping[str, int]) -> str:
    return (
        f"{c['added']} added, {c['modified']} modified, {c['removed']} removed, {c['replaced']} replaced "
        f"({c['stateful replaced or removed']} stateful), {c['permission broadened']} permission broadened, "
        f"{c['deployment settings']} deployment settings; details: {DETAILS}\n"
    )


def _no_baseline_line(environment: str) -> str:
    return f"no baseline for {environment} yet (its first release), nothing to compare; details: {DETAILS}\n"


def render_one_line(impact: Impact, environment: str = APPROVAL_ENVIRONMENT) -> str:
    """The line the prod approval comment shows (bounded: counts only)."""
    env = impact.environment(environment)
    if env is None or not env.has_baseline:
        return _no_baseline_line(environment)
    return _line(env.counts())


def longest_impact_line(environment: str = APPROVAL_ENVIRONMENT) -> str:
    """The longest line render_one_line can write (four-digit counts), which the approval comment must fit."""
    counts = dict.fromkeys(
        (*COUNTED, "stateful replaced or removed", "permission broadened", "deployment settings"), 9999
    )
    return max(_line(counts), _no_baseline_line(environment), key=len)


def _what(change: ResourceChange) -> list[str]:
    notes = []
    if change.replacing:
        notes.append(f"replaced because {', '.join(change.replacing)} changed")
    elif change.properties:
        notes.append(f"changes {', '.join(change.properties)}")
    if change.stateful_loss:
        notes.append(
            "stateful: its data stays in the orphaned old resource" if change.retained else "stateful: its data is lost"
        )
    if not change.schema_known and change.change == "modified":
        notes.append("no resource schema: replacement cannot be told")
    notes += [f"permission {p.describe()}" for p in change.permissions]
    notes += [f"deployment setting {s}" for s in change.deployment_settings]
    return notes


def _status(stage: StageImpact, stack: StackImpact, change: ResourceChange) -> str:
    acknowledged = stage.acknowledgment_of(stack, change)
    if acknowledged:
        return f"acknowledged by {acknowledged.reviewed_by}: {acknowledged.reason}"
    if (stack, change) in stage.blocking():
        return "BLOCKING: needs an entry in compliance/impact/acknowledgments.py"
    return ""


def _baseline_text(stage: StageImpact) -> str:
    if stage.baseline is None:
        return "no baseline (nothing recorded yet: the first release to this stage), nothing compared"
    parts = [stage.baseline.source]
    if stage.baseline.commit and not stage.baseline.source.endswith(stage.baseline.commit):
        parts.append(f"commit {stage.baseline.commit}")
    if stage.baseline.execution:
        parts.append(f"execution {stage.baseline.execution}")
    if stage.baseline.recorded_at:
        parts.append(f"recorded {stage.baseline.recorded_at}")
    return ", ".join(parts)


def render_markdown(impact: Impact, generated_at: str) -> str:
    status = "PASSED" if impact.passed else "FAILED (unacknowledged stateful replacement or removal)"
    lines = [
        f"## Change impact {status} — commit `{impact.commit[:12]}`",
        "",
        f"Generated {generated_at}. Each environment's templates are compared with those of its baseline.",
        "",
        "| environment | added | modified | removed | replaced | stateful replaced/removed | permission broadened "
        "| deployment settings |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for env in impact.environments:
        c = env.counts()
        lines.append(
            f"| {env.name} | {c['added']} | {c['modified']} | {c['removed']} | {c['replaced']} "
            f"| {c['stateful replaced or removed']} | {c['permission broadened']} | {c['deployment settings']} |"
        )
    for env in impact.environments:
        lines += ["", f"### {env.name}"]
        for stage in env.stages:
            lines += ["", f"**{stage.stage}** — baseline: {_baseline_text(stage)}."]
            if stage.baseline is not None and not stage.stacks:
                lines.append("No change.")
            for stack in stage.stacks:
                lines += [
                    "",
                    f"`{stack.stack_name}`" + (f" (stack {stack.status})" if stack.status != "changed" else ""),
                ]
                lines += ["", "| change | resource | type | what | status |", "|---|---|---|---|---|"]
                for change in stack.changes:
                    what = "<br>".join(_cell(n) for n in _what(change)) or "—"
                    lines.append(
                        f"| {change.change} | `{change.logical_id}` | {change.resource_type} | {what} "
                        f"| {_cell(_status(stage, stack, change)) or '—'} |"
                    )
    if impact.unused_acknowledgments:
        lines += [
            "",
            "Acknowledgments that matched no change here (remove them once every environment runs the "
            "release): " + "; ".join(impact.unused_acknowledgments) + ".",
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_html_section(impact: Impact) -> str:
    """The change-impact part of report.html."""
    status = "passed" if impact.passed else "failed"
    parts = [
        '<h2 id="change-impact">Change impact</h2>',
        f'<p>Gate: <span class="badge {status}" id="impact-status">{status.upper()}</span> — replacing or removing '
        "a stateful resource in staging or prod needs a reviewed entry in "
        "<code>compliance/impact/acknowledgments.py</code>.</p>",
        "<table><tr><th>environment</th><th>added</th><th>modified</th><th>removed</th><th>replaced</th>"
        "<th>stateful replaced/removed</th><th>permission broadened</th><th>deployment settings</th></tr>",
    ]
    for env in impact.environments:
        c = env.counts()
        parts.append(
            f'<tr><td>{escape(env.name)}</td><td class="n">{c["added"]}</td><td class="n">{c["modified"]}</td>'
            f'<td class="n">{c["removed"]}</td><td class="n">{c["replaced"]}</td>'
            f'<td class="n">{c["stateful replaced or removed"]}</td><td class="n">{c["permission broadened"]}</td>'
            f'<td class="n">{c["deployment settings"]}</td></tr>'
        )
    parts.append("</table>")
    for env in impact.environments:
        for stage in env.stages:
            parts.append(
                f"<h3>{escape(env.name)} — {escape(stage.stage)}</h3>"
                f'<p class="meta">Baseline: {escape(_baseline_text(stage))}</p>'
            )
            rows = [(stack, change) for stack in stage.stacks for change in stack.changes]
            if not rows:
                continue
            parts.append("<table><tr><th>stack</th><th>change</th><th>resource</th><th>what</th><th>status</th></tr>")
            for stack, change in rows:
                badge = "open" if change.stateful_loss or change.permissions else "acknowledged"
                parts.append(
                    f'<tr><td>{escape(stack.stack_name)}</td><td><span class="badge {badge}">'
                    f"{escape(change.change)}</span></td><td><code>{escape(change.logical_id)}</code><br>"
                    f'<span class="meta">{escape(change.resource_type)}</span></td>'
                    f"<td>{'<br>'.join(escape(n) for n in _what(change)) or '—'}</td>"
                    f"<td>{escape(_status(stage, stack, change)) or '—'}</td></tr>"
                )
            parts.append("</table>")
    return "\n".join(parts) + "\n"


def render_gate_failures(impact: Impact) -> list[str]:
    return [
        f"{env.name} ({stage.stage}): {change.change} stateful {change.resource_type} {stack.relative_name}/"
        f"{change.logical_id}" + (" (retained, orphaned)" if change.retained else "")
        for env in impact.environments
        for stage, stack, change in env.blocking()
    ]
