"""One synthesis of the whole app per test session, shared by every infra test."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions, cx_api

from app import build_app, cdk_json_context
from stages.config import AppConfig, load_config
from tests.conftest import REPO_ROOT


@dataclass
class Synthesized:
    outdir: Path
    assembly: cx_api.CloudAssembly
    config: AppConfig

    def template(self, stack_name: str, assembly: cx_api.CloudAssembly | None = None) -> dict[str, Any]:
        stack = (assembly or self.assembly).get_stack_by_name(stack_name)
        return json.loads(Path(stack.template_full_path).read_text(encoding="utf-8"))

    @property
    def pipeline(self) -> dict[str, Any]:
        return self.template(f"{self.config.pipeline.name}-pipeline")

    def stage_assemblies(self) -> Iterator[tuple[str, cx_api.CloudAssembly]]:
        """(stage id, nested assembly) for every application stage, in pipeline order."""
        for artifact in self.assembly.artifacts:
            if isinstance(artifact, cx_api.NestedCloudAssemblyArtifact):
                yield artifact.hierarchical_id.removeprefix("Pipeline/"), artifact.nested_assembly

    def stage_template(self, stage_id: str, stack_name: str = "items") -> dict[str, Any]:
        for candidate, nested in self.stage_assemblies():
            if candidate == stage_id:
                env = stage_id.split("-", 1)[0]
                return self.template(f"{env}-{stack_name}", nested)
        raise KeyError(stage_id)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(outdir=str(outdir))
    assembly = app.synth()
    return Synthesized(outdir=outdir, assembly=assembly, config=load_config(cdk_json_context(), base_dir=REPO_ROOT))


@pytest.fixture(scope="session")
def pipeline_template(synthesized: Synthesized) -> assertions.Template:
    return assertions.Template.from_json(synthesized.pipeline)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def only_resource(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))
