"""The findings summary counts open and acknowledged findings per pack and rule."""

from compliance.summary import count_findings, render_markdown, rule_of

REPORT = {
    "pluginReports": [
        {
            "pluginName": "AwsSolutions",
            "violations": [
                {
                    "ruleName": "AwsSolutions-IAM5[Action::s3:GetObject*]",
                    "severity": "info",
                    "ruleMetadata": {"originalSeverity": "error"},
                    "violatingConstructs": [{"constructPath": "Pipeline/A"}, {"constructPath": "Pipeline/B"}],
                }
            ],
            "suppressedViolations": [
                {
                    "ruleName": "AwsSolutions-SMG4",
                    "severity": "error",
                    "violatingConstructs": [{"constructPath": "Pipeline/dev/Items/Secret/Resource"}],
                    "reason": "a reason",
                }
            ],
        },
        {"pluginName": "Serverless", "violations": []},
    ]
}


def test_rule_of_strips_the_finding() -> None:
    assert rule_of("AwsSolutions-IAM5[Action::s3:*]") == "AwsSolutions-IAM5"


def test_counts_resources_per_rule_severity_and_status() -> None:
    counts = count_findings(REPORT)
    assert counts["AwsSolutions"][("AwsSolutions-IAM5", "error", "open")] == 2
    assert counts["AwsSolutions"][("AwsSolutions-SMG4", "error", "acknowledged")] == 1
    assert not counts["Serverless"]


def test_markdown_lists_every_rule_with_both_counts() -> None:
    markdown = render_markdown(count_findings(REPORT))
    assert "| AwsSolutions | AwsSolutions-IAM5 | error | 2 | 0 |" in markdown
    assert "| AwsSolutions | AwsSolutions-SMG4 | error | 0 | 1 |" in markdown
    assert "| Serverless | (none) | | 0 | 0 |" in markdown
