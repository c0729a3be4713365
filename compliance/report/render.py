"""Writes the audit bundle: one file per audience, all from the same collected Audit."""

import csv
import io
import json
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from compliance.impact import render as impact_render
from compliance.report.model import Audit, Finding, StackInfo

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
CSV_COLUMNS = (
    "Rule ID",
    "Resource ID",
    "Compliance",
    "Exception Reason",
    "Rule Level",
    "Rule Info",
    "Environment",
    "Stack",
)


def _environment(stack: StackInfo) -> str:
    return stack.environment if stack.environment == "pipeline" else f"{stack.environment} ({stack.region})"


def _compliance(finding: Finding) -> str:
    return "Suppressed" if finding.status == "acknowledged" else "Non-Compliant"


def render_json(audit: Audit) -> str:
    document = {
        "generatedAt": audit.generated_at,
        "commit": audit.commit,
        "pipelineExecution": audit.execution,
        "versions": audit.versions,
        "passed": audit.passed,
        "packs": [
            {"name": pack, "mode": mode, "rules": len(audit.rules_of(pack))}
            for pack, mode in sorted(audit.packs.items())
        ],
        "summary": [
            {
                "environment": row.stack.environment,
                "region": row.stack.region,
                "stack": row.stack.stack_name,
                "pack": row.pack,
                "mode": row.mode,
                "compliantRules": row.compliant_rules,
                "acknowledged": row.acknowledged,
                "open": row.open,
            }
            for row in audit.summary
        ],
        "findings": [
            {
                "pack": f.pack,
                "mode": f.mode,
                "ruleId": f.rule_id,
                "findingId": f.finding_id,
                "level": f.level,
                "status": f.status,
                "environment": f.stack.environment,
                "region": f.stack.region,
                "stack": f.stack.stack_name,
                "template": f.stack.template,
                "resource": f.construct_path,
                "description": f.description,
                "explanation": f.explanation,
                "justification": f.reason,
                "owner": f.owner,
                "reviewBy": f.review_by,
            }
            for f in audit.findings
        ],
        "cfnLint": [
            {
                "rule": f.rule,
                "level": f.level,
                "template": f.template,
                "resource": f.resource,
                "path": f.path,
                "message": f.message,
                "acknowledgedReason": f.acknowledged_reason,
            }
            for f in audit.lint
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render_csv(audit: Audit) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in audit.findings:
        writer.writerow(
            (
                f.finding_id,
                f.construct_path,
                _compliance(f),
                f.reason,
                f.level.capitalize(),
                f.description,
                _environment(f.stack),
                f.stack.stack_name,
            )
        )
    return buffer.getvalue()


def _sarif_level(finding: Finding) -> str:
    return finding.level if finding.mode == "gate" else "note"


def render_sarif(audit: Audit) -> str:
    runs: list[dict[str, Any]] = []
    for pack in sorted(audit.packs):
        findings = [f for f in audit.findings if f.pack == pack]
        rule_ids = sorted({f.rule_id for f in findings})
        rules = []
        for rule_id in rule_ids:
            rule = audit.rules.get(rule_id)
            example = next(f for f in findings if f.rule_id == rule_id)
            rules.append(
                {
                    "id": rule_id,
                    "name": rule_id,
                    "shortDescription": {"text": rule.cause if rule else example.description},
                    "fullDescription": {"text": rule.explanation if rule else example.description},
                    "defaultConfiguration": {"level": rule.level if rule else example.level},
                }
            )
        results = []
        for f in findings:
            result: dict[str, Any] = {
                "ruleId": f.rule_id,
                "ruleIndex": rule_ids.index(f.rule_id),
                "level": _sarif_level(f),
                "message": {"text": f"{f.finding_id}: {f.description}"},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": f.stack.template, "uriBaseId": "CDK_OUT"}},
                        "logicalLocations": [{"fullyQualifiedName": f.construct_path, "kind": "resource"}],
                    }
                ],
                "properties": {
                    "findingId": f.finding_id,
                    "environment": f.stack.environment,
                    "region": f.stack.region,
                    "stack": f.stack.stack_name,
                    "mode": f.mode,
                },
            }
            if f.status == "acknowledged":
                result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": f.reason}]
            results.append(result)
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": f"cdk-nag {pack}",
                        "version": audit.versions["cdk-nag"],
                        "informationUri": "https://github.com/cdklabs/cdk-nag",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {
                    "CDK_OUT": {"description": {"text": "The synthesized cloud assembly (cdk.out)"}}
                },
                "versionControlProvenance": [
                    {"repositoryUri": "https://example.invalid/repository", "revisionId": audit.commit}
                ],
                "results": results,
            }
        )
    lint_rules = sorted({f.rule for f in audit.lint})
    runs.append(
        {
            "tool": {
                "driver": {
                    "name": "cfn-lint",
                    "version": audit.versions["cfn-lint"],
                    "informationUri": "https://github.com/aws-cloudformation/cfn-lint",
                    "rules": [{"id": r, "name": r} for r in lint_rules],
                }
            },
            "originalUriBaseIds": {"CDK_OUT": {"description": {"text": "The synthesized cloud assembly (cdk.out)"}}},
            "results": [
                {
                    "ruleId": f.rule,
                    "ruleIndex": lint_rules.index(f.rule),
                    "level": {"Error": "error", "Warning": "warning"}.get(f.level, "note"),
                    "message": {"text": f.message},
                    "locations": [
                        {
                            "physicalLocation": {"artifactLocation": {"uri": f.template, "uriBaseId": "CDK_OUT"}},
                            "logicalLocations": [{"fullyQualifiedName": f.path, "kind": "resource"}],
                        }
                    ],
                    **(
                        {
                            "suppressions": [
                                {"kind": "external", "status": "accepted", "justification": f.acknowledged_reason}
                            ]
                        }
                        if f.acknowledged_reason
                        else {}
                    ),
                }
                for f in audit.lint
            ],
        }
    )
    for run in runs:
        if not run.get("versionControlProvenance"):
            run.pop("versionControlProvenance", None)
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# CodeBuild keeps at most 500 test cases of a report ("Test report statuses"): one case per rule of each
# pack (about 400) and one per template fits; one per finding and stack would be cut off silently.
CODEBUILD_MAX_TEST_CASES = 500


def render_junit(audit: Audit) -> str:
    """One test suite per pack, one test case per rule: failed while a gating finding of it is open,
    skipped while a report-only one is, passed otherwise; every finding is listed in its case's output
    with its stack, resource and status (and the reason of an acknowledged one)."""
    suites = ET.Element("testsuites", name="compliance")
    totals: Counter[str] = Counter()
    for pack in sorted(audit.packs):
        suite = ET.SubElement(suites, "testsuite", name=pack)
        counts: Counter[str] = Counter()
        for rule_id in audit.rules_of(pack) or sorted({f.rule_id for f in audit.findings if f.pack == pack}):
            findings = [f for f in audit.findings if f.pack == pack and f.rule_id == rule_id]
            case = ET.SubElement(suite, "testcase", classname=pack, name=rule_id)
            counts["tests"] += 1
            open_findings = [f for f in findings if f.status == "open"]
            gating = [f for f in open_findings if f.blocking]
            if gating:
                failure = ET.SubElement(case, "failure", message=gating[0].description, type=gating[0].level)
                failure.text = gating[0].explanation
                counts["failures"] += 1
            elif open_findings:
                ET.SubElement(case, "skipped", message=f"report-only pack: {open_findings[0].description}")
                counts["skipped"] += 1
            if findings:
                ET.SubElement(case, "system-out").text = "\n".join(_junit_line(f) for f in findings)
        _set_counts(suite, counts)
        totals.update(counts)
    lint_suite = ET.SubElement(suites, "testsuite", name="cfn-lint")
    lint_counts: Counter[str] = Counter()
    for template in sorted({s.template for s in audit.stacks}):
        case = ET.SubElement(lint_suite, "testcase", classname="cfn-lint", name=template)
        lint_counts["tests"] += 1
        mine = [f for f in audit.lint if f.template == template]
        blocking = [f for f in mine if f.blocking]
        if blocking:
            ET.SubElement(case, "failure", message=f"{len(blocking)} cfn-lint error(s)").text = "\n".join(
                f"{f.rule} {f.path}: {f.message}" for f in blocking
            )
            lint_counts["failures"] += 1
        others = [f for f in mine if not f.blocking]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"{f.level} {f.rule} {f.path}: {f.message}"
                + (f" (acknowledged: {f.acknowledged_reason})" if f.acknowledged_reason else "")
                for f in others
            )
    _set_counts(lint_suite, lint_counts)
    totals.update(lint_counts)
    if audit.impact is not None:
        totals.update(_junit_impact(suites, audit))
    _set_counts(suites, totals)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _junit_impact(suites: ET.Element, audit: Audit) -> Counter[str]:
    """One case per environment: failed while a stateful replacement or removal there is not acknowledged."""
    assert audit.impact is not None
    suite = ET.SubElement(suites, "testsuite", name="change-impact")
    counts: Counter[str] = Counter()
    for env in audit.impact.environments:
        case = ET.SubElement(suite, "testcase", classname="change-impact", name=env.name)
        counts["tests"] += 1
        blocking = env.blocking()
        if blocking:
            ET.SubElement(
                case, "failure", message=f"{len(blocking)} unacknowledged stateful change(s)"
            ).text = "\n".join(
                f"{change.change} {change.resource_type} {stack.relative_name}/{change.logical_id} in {stage.stage}"
                for stage, stack, change in blocking
            )
            counts["failures"] += 1
        ET.SubElement(case, "system-out").text = impact_render._counts_text(env)
    _set_counts(suite, counts)
    return counts


def _junit_line(finding: Finding) -> str:
    where = f"{_environment(finding.stack)} {finding.stack.stack_name} {finding.construct_path}"
    if finding.status == "acknowledged":
        return f"acknowledged {finding.finding_id} at {where}: {finding.reason}"
    return f"open {finding.finding_id} at {where}"


def _set_counts(element: ET.Element, counts: Counter[str]) -> None:
    for key in ("tests", "failures", "skipped"):
        element.set(key, str(counts[key]))
    element.set("errors", "0")


def render_markdown(audit: Audit) -> str:
    status = "PASSED" if audit.passed else "FAILED"
    lint = audit.lint_counts()
    lines = [
        f"## Compliance {status} — commit `{audit.commit[:12]}`",
        "",
        f"Generated {audit.generated_at}; pipeline execution `{audit.execution}`; "
        + ", ".join(f"{k} {v}" for k, v in sorted(audit.versions.items())),
        "",
        "| pack | mode | open | acknowledged |",
        "|---|---|---:|---:|",
    ]
    for pack, mode in sorted(audit.packs.items()):
        counts = audit.counts(pack)
        lines.append(f"| {pack} | {mode} | {counts['open']} | {counts['acknowledged']} |")
    lines += [
        "",
        "| environment | stack | open (gating) | open (report-only) | acknowledged |",
        "|---|---|---:|---:|---:|",
    ]
    for stack in audit.stacks:
        mine = [f for f in audit.findings if f.stack == stack]
        lines.append(
            f"| {_environment(stack)} | {stack.stack_name} | {sum(f.blocking for f in mine)} "
            f"| {sum(f.status == 'open' and f.mode == 'report' for f in mine)} "
            f"| {sum(f.status == 'acknowledged' for f in mine)} |"
        )
    lines += [
        "",
        f"cfn-lint: {lint['Error']} errors, {lint['Warning']} warnings, {lint['acknowledged']} acknowledged.",
        "",
        "Full report: `cdk.out/compliance/report.html` (every finding with its rule text and justification).",
    ]
    return "\n".join(lines) + "\n"


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}td.n{text-align:right}code{font-size:12px;word-break:break-all}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-size:12px;font-weight:600}
.open{background:#ffebe9;color:#82071e}.acknowledged{background:#ddf4ff;color:#0550ae}.report{background:#fff8c5;color:#633c01}
.passed{background:#dafbe1;color:#116329}.failed{background:#ffebe9;color:#82071e}.meta{color:#57606a}
details summary{cursor:pointer}.totals{display:flex;gap:1rem;flex-wrap:wrap}.total{border:1px solid #d0d7de;
border-radius:.4rem;padding:.5rem 1rem}.total b{display:block;font-size:1.4rem}
"""


def _status_badge(finding: Finding) -> str:
    if finding.status == "acknowledged":
        return '<span class="badge acknowledged">acknowledged</span>'
    if finding.mode == "report":
        return '<span class="badge report">open (report-only)</span>'
    return '<span class="badge open">open</span>'


def render_html(audit: Audit) -> str:
    counts = audit.counts()
    status = "passed" if audit.passed else "failed"
    compliant = sum(row.compliant_rules for row in audit.summary)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Compliance report {escape(audit.commit[:12])}</title><style>{_STYLE}</style></head><body>",
        "<h1>Compliance report</h1>",
        f'<p class="meta">Commit <code>{escape(audit.commit)}</code> · pipeline execution '
        f"<code>{escape(audit.execution)}</code> · generated {escape(audit.generated_at)} · "
        + " · ".join(f"{escape(k)} {escape(v)}" for k, v in sorted(audit.versions.items()))
        + "</p>",
        f'<p>Gate: <span class="badge {status}" id="gate-status">{status.upper()}</span></p>',
        '<div class="totals">',
        f'<div class="total" id="total-compliant"><b>{compliant}</b>compliant rule checks (rules x stacks)</div>',
        f'<div class="total" id="total-acknowledged"><b>{counts["acknowledged"]}</b>acknowledged findings</div>',
        f'<div class="total" id="total-open"><b>{counts["open"]}</b>open findings</div>',
        f'<div class="total" id="total-blocking"><b>{audit.blocking}</b>open in gating packs</div>',
        "</div>",
        "<h2>How to read this report</h2>",
        "<p>Each stack of each environment is checked against the packs below. <b>Gating</b> packs fail the "
        "build on any open finding; <b>report-only</b> packs list findings without failing it. A finding is "
        "<em>acknowledged</em> when the team has recorded, for that exact resource, why it is safe; the "
        "justification is shown next to it. <em>Compliant rules</em> are the pack's rules with no finding on the stack "
        "(including rules that do not apply to any resource in it).</p>",
        "<table><tr><th>pack</th><th>mode</th><th>rules</th><th>open</th><th>acknowledged</th></tr>",
    ]
    for pack, mode in sorted(audit.packs.items()):
        pack_counts = audit.counts(pack)
        rules = len(audit.rules_of(pack))
        parts.append(
            f"<tr><td>{escape(pack)}</td><td>{'gating' if mode == 'gate' else 'report-only'}</td>"
            f'<td class="n">{rules}</td><td class="n">{pack_counts["open"]}</td>'
            f'<td class="n">{pack_counts["acknowledged"]}</td></tr>'
        )
    parts += [
        "</table>",
        "<h2>Summary by environment, stack and pack</h2>",
        "<table><tr><th>environment</th><th>stack</th><th>pack</th><th>compliant rules</th>"
        "<th>acknowledged</th><th>open</th></tr>",
    ]
    for row in audit.summary:
        parts.append(
            f"<tr><td>{escape(_environment(row.stack))}</td><td>{escape(row.stack.stack_name)}</td>"
            f'<td>{escape(row.pack)}</td><td class="n">{row.compliant_rules}</td>'
            f'<td class="n">{row.acknowledged}</td><td class="n">{row.open}</td></tr>'
        )
    parts.append("</table>")
    for stack in audit.stacks:
        findings = [f for f in audit.findings if f.stack == stack]
        parts.append(
            f"<h2>{escape(_environment(stack))} — {escape(stack.stack_name)}</h2>"
            f'<p class="meta">Template <code>{escape(stack.template)}</code> · {len(findings)} finding(s)</p>'
        )
        if not findings:
            continue
        parts.append(
            "<table><tr><th>rule</th><th>resource</th><th>status</th><th>severity</th><th>justification</th></tr>"
        )
        for f in findings:
            justification = escape(f.reason) if f.reason else "—"
            if f.owner:
                justification += f'<br><span class="meta">owner {escape(f.owner)}'
                justification += f", review by {escape(f.review_by)}" if f.review_by else ""
                justification += "</span>"
            parts.append(
                f"<tr><td><details><summary><code>{escape(f.finding_id)}</code></summary>"
                f"<p>{escape(f.description)}</p><p>{escape(f.explanation)}</p></details></td>"
                f"<td><code>{escape(f.construct_path)}</code></td><td>{_status_badge(f)}</td>"
                f"<td>{escape(f.level)}</td><td>{justification}</td></tr>"
            )
        parts.append("</table>")
    parts += [
        "<h2>cfn-lint</h2>",
        "<table><tr><th>template</th><th>rule</th><th>level</th><th>location</th><th>message</th></tr>",
    ]
    for lint in audit.lint:
        level = f"{lint.level} (acknowledged: {lint.acknowledged_reason})" if lint.acknowledged_reason else lint.level
        parts.append(
            f"<tr><td><code>{escape(lint.template)}</code></td><td>{escape(lint.rule)}</td><td>{escape(level)}</td>"
            f"<td><code>{escape(lint.path)}</code></td><td>{escape(lint.message)}</td></tr>"
        )
    if not audit.lint:
        parts.append('<tr><td colspan="5">No cfn-lint findings.</td></tr>')
    parts.append("</table>")
    if audit.impact is not None:
        parts.append(impact_render.render_html_section(audit.impact))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_one_line(audit: Audit) -> str:
    """The line the prod approval comment shows (CodePipeline caps the comment at 500 characters)."""
    counts = audit.counts()
    lint_errors = audit.lint_counts()["Error"]
    return (
        f"gate {'PASSED' if audit.passed else 'FAILED'} "
        f"({audit.blocking} open, {counts['acknowledged']} acknowledged), "
        f"{audit.report_only_open} report-only findings, cfn-lint {lint_errors} errors\n"
    )


RENDERERS = {
    "report.html": render_html,
    "summary.md": render_markdown,
    "findings.csv": render_csv,
    "findings.json": render_json,
    "findings.sarif": render_sarif,
    "junit.xml": render_junit,
    "summary.txt": render_one_line,
}


# Written when the audit holds a change impact (a baseline was looked for).
IMPACT_RENDERERS = {
    "change-impact.json": lambda audit: impact_render.render_json(audit.impact, audit.generated_at),
    "change-impact.md": lambda audit: impact_render.render_markdown(audit.impact, audit.generated_at),
    "impact.txt": lambda audit: impact_render.render_one_line(audit.impact),
}


def write_bundle(audit: Audit, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    renderers: dict[str, Any] = {**RENDERERS, **(IMPACT_RENDERERS if audit.impact is not None else {})}
    for name, render in renderers.items():
        (out_dir / name).write_text(render(audit), encoding="utf-8")
    return out_dir
