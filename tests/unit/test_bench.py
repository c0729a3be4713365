"""The benchmark's own logic (never its timings): how the pipeline's critical path is counted, how the
import's write rate is read from its batch writes, and the files the import figures use."""

import json
from pathlib import Path

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


def test_a_figure_line_says_whether_its_target_is_met() -> None:
    assert "NOT met" in Figure("synth", 4.0, "x", "<= 2.0", False).line()
    assert Figure("suite", 50.0, "s", "<= 60", True).line().rstrip().endswith("met")


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
