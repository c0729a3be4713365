"""A regional WAF web ACL with AWS managed rule groups and a per-IP rate limit."""

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


class RegionalWebAcl(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, name: str, requests_per_5_minutes_per_ip: int) -> None:
        super().__init__(scope, construct_id)
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=len(MANAGED_RULE_GROUPS),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=requests_per_5_minutes_per_ip, aggregate_key_type="IP"
                    )
                ),
                visibility_config=_visibility("RateLimitPerIp"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            rules=rules,
        )

    def log_to(self, log_group: logs.ILogGroup, *, redacted_headers: tuple[str, ...] = ()) -> None:
        """Send the web ACL's request logs to a log group (its name must start with aws-waf-logs-), without
        the values of the redacted headers (credentials have no place in logs)."""
        wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": name})
                for name in redacted_headers
            ]
            or None,
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group.log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )

    def protect(self, construct_id: str, resource_arn: str) -> wafv2.CfnWebACLAssociation:
        return wafv2.CfnWebACLAssociation(
            self, construct_id, resource_arn=resource_arn, web_acl_arn=self.web_acl.attr_arn
        )
