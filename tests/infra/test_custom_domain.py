"""With a custom domain in the config, the API is served there (ACM certificate + Route 53 alias)."""

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from config.loading import cdk_json_context, load_config
from services.items.stack import ItemsStack
from stages.application_stage import items_props
from tests.synth_fixtures import only_resource

CERTIFICATE = "arn:aws:acm:eu-west-1:333333333333:certificate/00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    context = cdk_json_context()
    overrides = {
        "environments.prod.regions": '["eu-west-1"]',
        "environments.prod.custom_domain": json.dumps(
            {
                "domain_name": "api.example.com",
                "certificate_arn": CERTIFICATE,
                "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
                "hosted_zone_name": "example.com",
            }
        ),
    }
    config = load_config({**context, **overrides})
    app = cdk.App(context=context)
    stack = ItemsStack(
        app,
        "Items",
        props=items_props(
            config.environments["prod"], smoke_test_role_arn=config.smoke_test_role_arn("prod", "eu-west-1")
        ),
        env=cdk.Environment(account="333333333333", region="eu-west-1"),
    )
    result: dict[str, Any] = assertions.Template.from_stack(stack).to_json()
    return result


def test_domain_uses_the_configured_certificate_and_tls_1_2(template: dict[str, Any]) -> None:
    _, domain = only_resource(template, "AWS::ApiGateway::DomainName")
    properties = domain["Properties"]
    assert properties["DomainName"] == "api.example.com"
    assert properties["RegionalCertificateArn"] == CERTIFICATE
    assert properties["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert properties["SecurityPolicy"] == "TLS_1_2"


def test_domain_maps_to_the_api_stage(template: dict[str, Any]) -> None:
    _, mapping = only_resource(template, "AWS::ApiGateway::BasePathMapping")
    assert "Ref" in mapping["Properties"]["RestApiId"]
    assert "Ref" in mapping["Properties"]["Stage"]


def test_route53_alias_points_at_the_domain(template: dict[str, Any]) -> None:
    _, record = only_resource(template, "AWS::Route53::RecordSet")
    properties = record["Properties"]
    assert properties["Name"] == "api.example.com."
    assert properties["Type"] == "A"
    assert properties["HostedZoneId"] == "Z0123456789ABCDEFGHIJ"
    assert "AliasTarget" in properties


def test_api_url_output_is_the_custom_domain(template: dict[str, Any]) -> None:
    assert template["Outputs"]["ApiUrl"]["Value"] == "https://api.example.com/"
