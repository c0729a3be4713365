"""The benchmark's own logic (never its timings): how the pipeline's critical path is counted."""

from tools.bench.run import Figure, path_of


def _template(stages: list[dict[str, object]]) -> dict[str, object]:
    return {"Resources": {"P": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Stages": stages}}}}


def _action(provider: str, run_order: int = 1) -> dict[str, object]:
    return {"ActionTypeId": {"Provider": provider}, "RunOrder": run_order}


def test_parallel_actions_count_once_and_approvals_not_at_all() -> None:
    template = _template(
        [
            {"Name": "Source", "Actions": [_action("CodeStarSourceConnection")]},
            {"Name": "Assets", "Actions": [_action("CodeBuild")]},
            {
                "Name": "prod",
                "Actions": [
                    _action("Manual", 1),
                    _action("CloudFormation", 2),
                    _action("CloudFormation", 2),
                    _action("CodeBuild", 3),
                    _action("CodeBuild", 3),
                ],
            },
        ]
    )
    sequential, codebuild, assets = path_of(template)
    assert sequential == 4  # source, assets, deploy (two regions at once), smoke tests (at once)
    assert codebuild == 2
    assert assets == 1


def test_a_figure_line_says_whether_its_target_is_met() -> None:
    assert "NOT met" in Figure("synth", 4.0, "x", "<= 2.0", False).line()
    assert Figure("suite", 50.0, "s", "<= 60", True).line().rstrip().endswith("met")
