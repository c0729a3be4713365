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

from compliance.gate.packs import attach_compliance
from compliance.gate.registry import (
    AcknowledgmentError,
    AcknowledgmentTargets,
    AppliedAcknowledgment,
    StageTarget,
    stale_acknowledgments,
)
from config.loading import (
    CLI_DEFAULT_CONTEXT,
    REPO_ROOT,
    ConfigError,
    cdk_json_context,
    load_config,
    refuse_uncommitted,
)
from config.schema import AppConfig, EnvironmentConfig
from pipeline.generated_roles import GENERATED_ROLES_UNDER, ROLE_POLICY_PATHS
from pipeline.pipeline_stack import PipelineStack
from stages.application_stage import ApplicationStage


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
    applied = attach_compliance(app, config.compliance, acknowledgment_targets(pipeline, config))
    return app, applied


def _stage_facts(stage: ApplicationStage, env: EnvironmentConfig) -> frozenset[str]:
    facts = set()
    if not env.api.waf_enabled:
        facts.add("waf_disabled")
    if stage.manages_account_settings:
        facts.add("manages_account_settings")
    return frozenset(facts)


def acknowledgment_targets(pipeline: PipelineStack, config: AppConfig) -> AcknowledgmentTargets:
    """What compliance/gate/acknowledgments.py applies to, and the configuration facts its entries depend on."""
    cross_region = bool(pipeline.replication_buckets)
    pipeline_facts = {"cross_region"} if cross_region else set()
    if cross_region and config.has_cross_account_environment:
        pipeline_facts.add("cross_account_cross_region")
    return AcknowledgmentTargets(
        stages=[StageTarget(stage, env.name, _stage_facts(stage, env)) for stage, env in pipeline.application_stages],
        pipeline_stack=pipeline,
        role_policy_paths=ROLE_POLICY_PATHS,
        generated_roles_under=GENERATED_ROLES_UNDER,
        placeholders=pipeline.placeholder_values(),
        resource_placeholders=pipeline.role_placeholder_values(),
        replication_buckets=pipeline.replication_bucket_names(),
        pipeline_facts=frozenset(pipeline_facts),
    )


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


def main(arguments: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if arguments is None else arguments
    if arguments:
        print(
            f"synth stopped: python app.py takes no arguments (got {' '.join(arguments)[:200]!r}); configuration "
            "comes from the committed files (README, Configuration); for a local experiment run "
            "LOCAL_EXPERIMENT=1 npx cdk synth -c key=value",
            file=sys.stderr,
        )
        return 2
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
