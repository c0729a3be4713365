#!/usr/bin/env python3
"""Entry point: build the CDK app from cdk.json (feature flags + configuration) and synthesize it.

``python app.py``, ``npx cdk synth`` and the tests all go through ``build_app()``, which loads the
``cdk.json`` context itself, so all three produce the same templates.
"""

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from compliance.packs import attach_compliance
from compliance.registry import AcknowledgmentError, AppliedAcknowledgment, stale_acknowledgments
from pipeline.pipeline_stack import PipelineStack
from stages.config import ConfigError, load_config, refuse_uncommitted

REPO_ROOT = Path(__file__).resolve().parent
CDK_JSON = REPO_ROOT / "cdk.json"

# What the CDK CLI passes by default and cdk.json does not switch off: asset metadata (which lets
# `sam local` find a function's code). Set here too so every entry point writes the same templates.
CLI_DEFAULT_CONTEXT = {"aws:cdk:enable-asset-metadata": True}


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` block of cdk.json: feature flags and the embedded default configuration."""
    context = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return dict(context)


def build(
    context: Mapping[str, Any] | None = None, outdir: str | None = None
) -> tuple[cdk.App, list[AppliedAcknowledgment]]:
    """The whole app and the acknowledgments applied to it.

    ``context`` overrides cdk.json context (tests use it); when run by the CDK CLI, the CLI's context
    (cdk.json, cdk.context.json, ``-c``) arrives through the environment and takes precedence, and any
    configuration in it that the committed files do not hold is refused (stages/config.py).
    """
    committed = {**CLI_DEFAULT_CONTEXT, **cdk_json_context(), **(context or {})}
    app = cdk.App(context=committed, outdir=outdir)
    effective = app.node.get_all_context()
    refuse_uncommitted(effective, committed)
    config = load_config(effective, base_dir=REPO_ROOT)
    pipeline = PipelineStack(
        app,
        "Pipeline",
        stack_name=f"{config.pipeline.name}-pipeline",
        config=config,
        env=cdk.Environment(account=config.pipeline.account, region=config.pipeline.region),
    )
    applied = attach_compliance(app, config.compliance, pipeline.acknowledgment_targets())
    return app, applied


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """The pipeline stack, holding one application stage per environment and region, with compliance."""
    return build(context, outdir)[0]


def synthesize(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> Path:
    """Synthesize, then refuse acknowledgments that no longer match a finding. Returns the assembly dir."""
    app, applied = build(context, outdir)
    directory = Path(app.synth().directory)
    report = json.loads((directory / "validation-report.json").read_text(encoding="utf-8"))
    stale = stale_acknowledgments(report, applied)
    if stale:
        raise AcknowledgmentError(
            "acknowledgments that match no finding any more (remove them from compliance/acknowledgments.py):\n  "
            + "\n  ".join(stale)
        )
    return directory


def main() -> int:
    try:
        synthesize(outdir=os.environ.get("CDK_OUTDIR"))
    except (ConfigError, AcknowledgmentError) as error:
        print(f"synth stopped: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # jsii surfaces a failed validation as a RuntimeError
        if "ValidationFailed" not in str(error):
            raise
        print(
            "synth stopped: cdk-nag found unacknowledged findings (report above)",
            file=sys.stderr,
        )
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
