"""Collects what the audit bundle reports from cdk.out: the validation report (every cdk-nag finding,
acknowledged or open), the stacks of the cloud assembly, the rule catalogue, cfn-lint's results, and
who ran it when (commit, pipeline execution, tool versions)."""

import json
import os
import subprocess
from collections import Counter
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from compliance.gate.acknowledgments import ACKNOWLEDGMENTS
from compliance.gate.severity import MODE_METADATA_KEY, ORIGINAL_SEVERITY_KEY
from compliance.impact.assembly import impact_against_baseline
from compliance.report.catalogue import Rule, rule_catalogue
from compliance.report.cfn_lint import LintFinding, run_cfn_lint
from compliance.report.model import Audit, Finding, StackInfo, SummaryRow, rules_of
from config.versions import pinned_cli_version

REPO_ROOT = Path(__file__).resolve().parents[2]


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_stacks(cdk_out: Path) -> list[StackInfo]:
    """Every stack of the cloud assembly, nested stage assemblies included."""
    stacks: list[StackInfo] = []

    def visit(directory: Path, environment: str) -> None:
        for artifact_id, artifact in _read_json(directory / "manifest.json")["artifacts"].items():
            if artifact["type"] == "cdk:cloud-assembly":
                stage = artifact_id.removeprefix("assembly-").split("-", 1)[1]  # assembly-Pipeline-<stage>
                visit(directory / artifact["properties"]["directoryName"], stage.split("-", 1)[0])
            elif artifact["type"] == "aws:cloudformation:stack":
                properties = artifact["properties"]
                stacks.append(
                    StackInfo(
                        construct_path=artifact.get("displayName", artifact_id),
                        stack_name=properties.get("stackName", artifact_id),
                        environment=environment,
                        region=artifact["environment"].rsplit("/", 1)[-1],
                        template=str((directory / properties["templateFile"]).relative_to(cdk_out)),
                    )
                )

    visit(cdk_out, "pipeline")
    return sorted(stacks, key=lambda s: s.sort_key)


def stack_of(construct_path: str, stacks: list[StackInfo]) -> StackInfo:
    candidates = [
        s for s in stacks if construct_path == s.construct_path or construct_path.startswith(s.construct_path + "/")
    ]
    if not candidates:
        raise LookupError(f"no stack holds {construct_path}")
    return max(candidates, key=lambda s: len(s.construct_path))


def _registry_details() -> dict[tuple[str, str], tuple[str, str]]:
    """(pack, reason) -> (owner, review_by) from the acknowledgment registry."""
    return {(a.pack, a.reason): (a.owner, a.review_by or "") for a in ACKNOWLEDGMENTS}


def read_findings(
    report: dict[str, Any], stacks: list[StackInfo], rules: dict[str, Rule]
) -> tuple[list[Finding], dict[str, str]]:
    details = _registry_details()
    findings, packs = [], {}
    for plugin in report.get("pluginReports", []):
        pack = plugin["pluginName"]
        mode = (plugin.get("metadata") or {}).get(MODE_METADATA_KEY, "gate")
        packs[pack] = mode
        for status, key in (("open", "violations"), ("acknowledged", "suppressedViolations")):
            for violation in plugin.get(key, []):
                finding_id = violation["ruleName"]
                rule_id = finding_id.split("[", 1)[0]
                rule = rules.get(rule_id)
                level = (violation.get("ruleMetadata") or {}).get(ORIGINAL_SEVERITY_KEY) or violation.get("severity")
                reason = violation.get("reason", "")
                owner, review_by = details.get((pack, reason), ("", ""))
                for construct in violation.get("violatingConstructs", []):
                    path = construct["constructPath"]
                    findings.append(
                        Finding(
                            pack=pack,
                            mode=mode,
                            rule_id=rule_id,
                            finding_id=finding_id,
                            level=str(level if level in ("error", "warning") else (rule.level if rule else "error")),
                            status=status,
                            stack=stack_of(path, stacks),
                            construct_path=path,
                            description=violation.get("description", rule.cause if rule else ""),
                            explanation=rule.explanation if rule else "",
                            reason=reason,
                            owner=owner,
                            review_by=review_by,
                        )
                    )
    return sorted(findings, key=lambda f: f.sort_key), packs


def summarize(
    stacks: list[StackInfo], findings: list[Finding], packs: dict[str, str], rules: dict[str, Rule]
) -> list[SummaryRow]:
    rows = []
    pack_rules = {pack: set(rules_of(rules, pack)) for pack in packs}
    for stack in stacks:
        for pack in sorted(packs):
            mine = [f for f in findings if f.stack == stack and f.pack == pack]
            with_findings = {f.rule_id for f in mine}
            statuses = Counter(f.status for f in mine)
            rows.append(
                SummaryRow(
                    stack=stack,
                    pack=pack,
                    mode=packs[pack],
                    compliant_rules=len(pack_rules[pack] - with_findings),
                    acknowledged=statuses["acknowledged"],
                    open=statuses["open"],
                )
            )
    return rows


def _commit() -> str:
    if os.environ.get("CODEBUILD_RESOLVED_SOURCE_VERSION"):
        return os.environ["CODEBUILD_RESOLVED_SOURCE_VERSION"]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _generated_at() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _versions() -> dict[str, str]:
    versions = {name: metadata.version(name) for name in ("aws-cdk-lib", "cdk-nag", "cfn-lint")}
    versions["aws-cdk (CLI)"] = pinned_cli_version()
    return versions


def collect(cdk_out: Path, *, lint: list[LintFinding] | None = None, baseline: Path | None = None) -> Audit:
    """Everything the bundle reports; with ``baseline`` (the directory `make baseline-fetch` fills, absent or
    empty on a first run) the change impact against it too."""
    rules = rule_catalogue()
    stacks = read_stacks(cdk_out)
    findings, packs = read_findings(_read_json(cdk_out / "validation-report.json"), stacks, rules)
    audit = Audit(
        generated_at=_generated_at(),
        commit=_commit(),
        execution=os.environ.get("PIPELINE_EXECUTION_ID", "local"),
        versions=_versions(),
        packs=packs,
        rules=rules,
        stacks=stacks,
        findings=findings,
        lint=run_cfn_lint(cdk_out) if lint is None else lint,
    )
    audit.summary = summarize(stacks, findings, packs, rules)
    if baseline is not None:
        audit.impact = impact_against_baseline(audit.commit, cdk_out, baseline)
    return audit
