"""Loads ``buildspec.yml`` for the synth step and binds its reports to the pipeline's report groups."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from aws_cdk import aws_codebuild as codebuild

BUILDSPEC_PATH = Path(__file__).resolve().parent.parent / "buildspec.yml"


class BuildSpecError(ValueError):
    """buildspec.yml and the pipeline's report groups disagree."""


def load_buildspec(path: Path = BUILDSPEC_PATH) -> dict[str, Any]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or "phases" not in spec:
        raise BuildSpecError(f"{path} is not a CodeBuild buildspec (no phases)")
    return spec


def synth_build_spec(
    report_groups: Mapping[str, codebuild.IReportGroup], path: Path = BUILDSPEC_PATH
) -> codebuild.BuildSpec:
    """The buildspec with each named report pointed at the ARN of its report group."""
    spec = load_buildspec(path)
    reports = spec.get("reports", {})
    unknown = sorted(set(reports) - set(report_groups))
    missing = sorted(set(report_groups) - set(reports))
    if unknown or missing:
        raise BuildSpecError(
            f"{path.name}: reports {unknown} have no report group; report groups {missing} have no report"
        )
    spec["reports"] = {report_groups[name].report_group_arn: settings for name, settings in reports.items()}
    return codebuild.BuildSpec.from_object(spec)
