"""What the pipeline records after a stage's smoke tests pass, for the next release's change impact: the
stage's cloud assembly manifest, every stack's template and release.json (commit and run), under
``baselines/<stage id>/`` of the evidence bucket (`make baseline-record` uploads them, `make baseline-fetch`
fetches them in the Build step). The first environment records the pipeline's own stacks too, under
``baselines/pipeline/``: self-mutation has deployed them by then."""

from collections.abc import Iterable

from aws_cdk import Stack, Stage

PIPELINE_BASELINE = "pipeline"
MANIFEST_FILE = "manifest.json"
RELEASE_FILE = "release.json"


def baseline_files(stacks: Iterable[Stack]) -> list[str]:
    """The files of one recorded baseline: a stack template each, the manifest naming them, the release."""
    return sorted({MANIFEST_FILE, RELEASE_FILE, *(stack.template_file for stack in stacks)})


def stage_stacks(stage: Stage) -> list[Stack]:
    return [child for child in stage.node.children if isinstance(child, Stack)]
