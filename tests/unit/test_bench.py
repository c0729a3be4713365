"""The benchmark's own logic (never its timings): how the pipeline's critical path is counted, how the
import's write rate is read from its batch writes, and the files the import figures use."""

import json
from pathlib import Path

from tools.bench import lead_time
from tools.bench.importing import jsonl_record, write_csv, write_jsonl, write_rates
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


def test_a_figure_is_the_median_of_its_samples_and_says_whether_its_target_is_met() -> None:
    synth = Figure("synth", [4.1, 3.9, 4.0, 9.0, 3.8], "x", "<= 2.0", 2.0)
    assert (synth.value, synth.met) == (4.0, False)
    assert "NOT met" in synth.line()
    assert "median of 5, min 3.80, max 9.00" in synth.line()
    suite = Figure("suite", [50.0, 58.0, 61.0], "s", "<= 60", 60.0)
    assert (suite.value, suite.met) == (58.0, True)
    assert " met " in suite.line()


def test_a_reference_figure_meets_nothing() -> None:
    reference = Figure("peer / limit", [1.7, 1.6], "x", "reference", None)
    assert reference.met is None
    assert reference.as_json()["met"] is None
    assert "reference" in reference.line()


def test_a_strict_bound_is_not_met_by_reaching_it_and_a_failed_condition_fails_the_figure() -> None:
    assert Figure("ours / peer", [1.0], "x", "< 1.0", 1.0, strict=True).met is False
    assert Figure("ours / peer", [0.9], "x", "< 1.0", 1.0, strict=True).met is True
    assert Figure("asset", [60.0], "KiB", "<= 1024, .py only", 1024, holds=False).met is False


def test_a_figure_reports_its_spread_in_results_json() -> None:
    document = Figure("cold start", [300.0, 330.0, 270.0], "ms", "<= 400", 400).as_json()
    assert (document["median"], document["min"], document["max"], document["repetitions"]) == (300.0, 270.0, 330.0, 3)
    assert document["spread_percent"] == 20.0


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


def test_the_import_write_rate_is_read_over_the_span_and_in_the_busiest_window() -> None:
    # Two importers, 25 items a batch: one every 0.25 s each, the second half a period later.
    writes = [(t * 0.25, 25) for t in range(9)] + [(t * 0.25 + 0.125, 25) for t in range(8)]
    overall, peak = write_rates(writes)
    assert overall == 16 * 25 / 2.0
    assert peak == 8 * 25


def test_a_burst_shows_in_the_busiest_window_and_not_in_the_overall_rate() -> None:
    writes = [(0.0, 25), (5.0, 25), (5.1, 25), (5.2, 25), (5.3, 25), (10.0, 25)]
    overall, peak = write_rates(writes)
    assert (overall, peak) == (12.5, 100)


def test_the_bench_files_hold_valid_records(tmp_path: Path) -> None:
    assert write_jsonl(tmp_path / "a.jsonl", records=2000) == 2000
    lines = (tmp_path / "a.jsonl").read_bytes().splitlines()
    assert len(lines) == 2000
    assert json.loads(lines[1999]) == json.loads(jsonl_record(1999))
    write_csv(tmp_path / "a.csv", 100)
    assert (tmp_path / "a.csv").read_bytes().startswith(b"name,description,quantity\r\n")
