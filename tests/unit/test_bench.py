"""The benchmark's own logic (never its timings): how the pipeline's critical path is counted."""

from tools.bench import lead_time
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


# --- the lead-time model ---------------------------------------------------------------------------------------


def _deploy(mode: str = "CREATE_UPDATE", run_order: int = 1) -> dict[str, object]:
    return {
        "Name": "items.Deploy",
        "ActionTypeId": {"Provider": "CloudFormation"},
        "RunOrder": run_order,
        "Configuration": {"ActionMode": mode},
    }


def _model(stages: list[dict[str, object]]) -> lead_time.PipelineModel:
    return lead_time.model(
        "test",
        _template(stages),
        shifts={"staging": lead_time.Shift("canary", 10, 5)},
        post_traffic_wait=120,
        build_seconds=200,
        publishes={},
    )


def test_a_canary_and_a_linear_shift_take_the_time_their_strategy_says() -> None:
    hook = lead_time.PRE_TRAFFIC_HOOK.seconds
    assert lead_time.Shift("canary", 10, 5).seconds(120) == hook + 5 * 60 + 120
    assert lead_time.Shift("linear", 10, 1).seconds(120) == hook + 9 * 60 + 120  # 10 %, 20 %, ... 100 % at 9 min
    assert lead_time.Shift("all_at_once").seconds(120) == hook + 120


def test_a_deploy_takes_the_stack_update_plus_its_environments_shift() -> None:
    (step,) = _model([{"Name": "staging", "Actions": [_deploy()]}]).steps
    assert step.seconds == lead_time.STACK_UPDATE.seconds + lead_time.Shift("canary", 10, 5).seconds(120)
    assert step.shift_seconds == lead_time.Shift("canary", 10, 5).seconds(120)


def test_run_orders_add_up_parallel_actions_take_the_longest_and_approvals_nothing() -> None:
    smoke = {"Name": "SmokeTests-eu-west-1", "ActionTypeId": {"Provider": "CodeBuild"}, "RunOrder": 3}
    protect = {"Name": "ProtectStacks-eu-west-1", "ActionTypeId": {"Provider": "CodeBuild"}, "RunOrder": 3}
    stages = [
        {"Name": "prod", "Actions": [_action("Manual", 1), _deploy(run_order=2), _deploy(run_order=2), smoke, protect]}
    ]
    steps = _model(stages).steps
    assert [s.label for s in steps] == ["deploy + shift", "smoke tests"]
    assert steps[1].seconds == lead_time.CODEBUILD_START.seconds + lead_time.SMOKE_TESTS.seconds


def test_a_change_set_is_a_step_of_its_own_before_the_deploy() -> None:
    stages = [{"Name": "dev", "Actions": [_deploy("CHANGE_SET_REPLACE", 1), _deploy("CHANGE_SET_EXECUTE", 2)]}]
    assert [s.label for s in _model(stages).steps] == ["change set", "deploy + shift"]


def test_a_bake_waits_its_alarm_rules_wait_time_after_the_stage_and_a_window_is_marked_not_counted() -> None:
    bake = {
        "Conditions": [
            {"Rules": [{"RuleTypeId": {"Provider": "CloudWatchAlarm"}, "Configuration": {"WaitTime": "30"}}]}
        ]
    }
    window = {"Conditions": [{"Rules": [{"RuleTypeId": {"Provider": "DeploymentWindow"}, "Configuration": {}}]}]}
    model = _model(
        [
            {"Name": "staging", "Actions": [_deploy()], "OnSuccess": bake},
            {"Name": "prod", "Actions": [_deploy()], "BeforeEntry": window},
        ]
    )
    assert [(s.stage, s.kind) for s in model.steps] == [("staging", "deploy"), ("staging", "bake"), ("prod", "deploy")]
    assert model.steps[1].seconds == 30 * 60
    assert model.windows == ("prod",)
    assert model.milestones()["staging"] == model.steps[0].seconds + 30 * 60


def test_the_timeline_draws_a_bar_per_step_and_the_window_where_the_run_waits() -> None:
    window = {"Conditions": [{"Rules": [{"RuleTypeId": {"Provider": "DeploymentWindow"}, "Configuration": {}}]}]}
    model = _model(
        [{"Name": "dev", "Actions": [_deploy()]}, {"Name": "prod", "Actions": [_deploy()], "BeforeEntry": window}]
    )
    svg = lead_time.render_svg([model], "title")
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert svg.count("<title>dev: deploy + shift") == 1
    assert "prod waits for its deployment window here (not counted)" in svg
