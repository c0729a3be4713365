"""cfn-lint over every synthesized template: errors gate the build, warnings go into the audit report.

A cfn-lint finding is acknowledged only by rule, resource type and message, with a reason, here."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CfnLintAcknowledgment:
    rule: str
    resource_type: str
    message_starts_with: str
    reason: str


CFN_LINT_ACKNOWLEDGMENTS = (
    CfnLintAcknowledgment(
        rule="E3703",
        resource_type="AWS::CodePipeline::Pipeline",
        message_starts_with="Prefer using Fn::Sub over Fn::Join with an empty delimiter",
        reason=(
            "CDK Pipelines builds each cross-account deploy action's RoleArn with Fn::Join over AWS::Partition; "
            "cfn-lint cannot check an ARN format through Fn::Join and asks for Fn::Sub, but the joined value is "
            "the valid ARN of the CDK bootstrap deployment role."
        ),
    ),
)


@dataclass(frozen=True)
class LintFinding:
    rule: str
    level: str  # Error, Warning, Informational
    template: str  # relative to cdk.out
    resource: str  # logical id, or "" for template-level findings
    resource_type: str
    path: str
    message: str
    acknowledged_reason: str = ""

    @property
    def blocking(self) -> bool:
        return self.level == "Error" and not self.acknowledged_reason


def templates_in(cdk_out: Path) -> list[Path]:
    return sorted([*cdk_out.glob("*.template.json"), *cdk_out.glob("assembly-*/*.template.json")])


def _resource_type(template: dict[str, Any], logical_id: str) -> str:
    return str(template.get("Resources", {}).get(logical_id, {}).get("Type", ""))


def _chunks(templates: list[Path], count: int) -> list[list[Path]]:
    """Templates spread over `count` lists of about equal total size (biggest first, to the lightest)."""
    chunks: list[list[Path]] = [[] for _ in range(max(1, min(count, len(templates))))]
    sizes = [0] * len(chunks)
    for template in sorted(templates, key=lambda t: t.stat().st_size, reverse=True):
        lightest = sizes.index(min(sizes))
        chunks[lightest].append(template)
        sizes[lightest] += template.stat().st_size
    return chunks


def run_cfn_lint(cdk_out: Path) -> list[LintFinding]:
    """cfn-lint over every template, one process per CPU (it is single-threaded and takes seconds per
    template of this app)."""
    templates = templates_in(cdk_out)
    if not templates:
        return []
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and our own templates
            [
                sys.executable,
                "-c",
                "import sys; from cfnlint.runner import main; sys.exit(main())",
                "--format",
                "json",
                *map(str, chunk),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for chunk in _chunks(templates, os.cpu_count() or 1)
    ]
    raw: list[dict[str, Any]] = []
    for process in processes:
        stdout, stderr = process.communicate()
        if process.returncode not in (0, 2, 4, 6, 8, 10, 12, 14):  # cfn-lint's bit mask; anything else is a crash
            raise RuntimeError(f"cfn-lint failed ({process.returncode}): {stderr[-2000:]}")
        raw.extend(json.loads(stdout or "[]"))
    return interpret(raw, cdk_out)


def interpret(raw: list[dict[str, Any]], cdk_out: Path) -> list[LintFinding]:
    loaded: dict[str, dict[str, Any]] = {}
    findings = []
    for item in raw:
        filename = Path(item["Filename"])
        template = loaded.setdefault(str(filename), json.loads(filename.read_text(encoding="utf-8")))
        path = [str(p) for p in item["Location"].get("Path") or []]
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else ""
        finding = LintFinding(
            rule=item["Rule"]["Id"],
            level=item["Level"],
            template=str(filename.resolve().relative_to(cdk_out.resolve())),
            resource=resource,
            resource_type=_resource_type(template, resource),
            path="/".join(path),
            message=item["Message"],
        )
        reason = next(
            (
                ack.reason
                for ack in CFN_LINT_ACKNOWLEDGMENTS
                if ack.rule == finding.rule
                and ack.resource_type == finding.resource_type
                and finding.message.startswith(ack.message_starts_with)
            ),
            "",
        )
        findings.append(LintFinding(**{**finding.__dict__, "acknowledged_reason": reason}) if reason else finding)
    return sorted(findings, key=lambda f: (f.template, f.resource, f.rule, f.path, f.message))
