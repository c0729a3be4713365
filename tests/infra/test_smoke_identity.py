"""The identity the post-deploy tests call each stage's API with, who may read it, and what the pipeline's
smoke-test roles may do: in the default layout (dev shares the pipeline's account, staging and prod are
other accounts) and with everything in one account."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.synth_fixtures import Synthesized, read_stacks, resource_with_prefix, resources_of

PIPELINE_ACCOUNT = "111111111111"
# stage id -> (environment, account, region) of the default configuration
STAGES = {
    "dev": ("dev", "111111111111", "eu-west-1"),
    "staging": ("staging", "222222222222", "eu-west-1"),
    "prod-eu-west-1": ("prod", "333333333333", "eu-west-1"),
    "prod-eu-central-1": ("prod", "333333333333", "eu-central-1"),
}
SAME_AND_CROSS_ACCOUNT = ["dev", "staging"]
USER_SCOPE = "aws.cognito.signin.user.admin"


def _role_arn(environment: str, region: str) -> str:
    return f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/serverless-python-delivery-smoke-tests-{environment}-{region}"


def _secret_arns(environment: str, account: str, region: str) -> str:
    return f"arn:aws:secretsmanager:{region}:{account}:secret:items-{environment}/post-deploy-test-identity-*"


def _joined(value: Any) -> str:
    """A template string, references written as <LogicalId> or <LogicalId.Attribute>."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_joined(part) for part in parts)
    return json.dumps(value)


def _client(template: dict[str, Any], name: str) -> dict[str, Any]:
    return resource_with_prefix(template, "AWS::Cognito::UserPoolClient", f"AuthUserPool{name}")["Properties"]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def templates(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {stage_id: synthesized.stage_template(stage_id) for stage_id in STAGES}


@pytest.fixture(scope="module")
def smoke_roles(synthesized: Synthesized) -> dict[str, list[dict[str, Any]]]:
    """The statements of each smoke-test role, by role name."""
    return _smoke_roles(synthesized.pipeline)


def _smoke_roles(pipeline: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    roles = {
        logical_id: resource["Properties"]["RoleName"]
        for logical_id, resource in resources_of(pipeline, "AWS::IAM::Role").items()
        if "SmokeTests" in logical_id
    }
    statements: dict[str, list[dict[str, Any]]] = {name: [] for name in roles.values()}
    for policy in resources_of(pipeline, "AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            if role.get("Ref") in roles:
                statements[roles[role["Ref"]]] += _statements(policy["Properties"]["PolicyDocument"])
    return statements


# --- the identity ------------------------------------------------------------------------------------------


def test_each_stage_has_a_machine_client_that_gets_only_the_items_scopes(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        client = _client(template, "SmokeTestClient")
        assert client["AllowedOAuthFlows"] == ["client_credentials"]
        assert client["AllowedOAuthFlowsUserPoolClient"] is True
        assert client["GenerateSecret"] is True
        assert sorted(_joined(s).split("/")[1] for s in client["AllowedOAuthScopes"]) == ["read", "write"]
        assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"], "no way to sign in as a user"
        assert (client["AccessTokenValidity"], client["TokenValidityUnits"]["AccessToken"]) == (15, "minutes")


def test_the_items_resource_server_defines_a_read_and_a_write_scope(templates: dict[str, dict[str, Any]]) -> None:
    (server,) = resources_of(templates["dev"], "AWS::Cognito::UserPoolResourceServer").values()
    assert server["Properties"]["Identifier"] == "items"
    assert [s["ScopeName"] for s in server["Properties"]["Scopes"]] == ["read", "write"]


def test_the_token_endpoint_domain_is_unique_to_the_environment_and_account(
    templates: dict[str, dict[str, Any]],
) -> None:
    for stage_id, (environment, account, _) in STAGES.items():
        (domain,) = resources_of(templates[stage_id], "AWS::Cognito::UserPoolDomain").values()
        assert domain["Properties"]["Domain"] == f"items-{environment}-{account}"


def test_people_sign_in_through_the_web_client_without_hosted_oauth_flows(
    templates: dict[str, dict[str, Any]],
) -> None:
    client = _client(templates["prod-eu-west-1"], "WebClient")
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is False
    assert "CallbackURLs" not in client, "no sign-in page can send tokens anywhere"


def test_every_method_but_health_takes_an_access_token_with_the_scope_it_needs(
    templates: dict[str, dict[str, Any]],
) -> None:
    for template in templates.values():
        for method in resources_of(template, "AWS::ApiGateway::Method").values():
            properties = method["Properties"]
            verb = properties["HttpMethod"]
            if verb == "OPTIONS" or properties["AuthorizationType"] == "NONE":
                continue
            scope, *others = [_joined(s) for s in properties["AuthorizationScopes"]]
            needed = "read" if verb == "GET" else "write"
            assert re.fullmatch(rf"<AuthUserPoolResourceServer\w+>/{needed}", scope), (verb, scope)
            assert others == [USER_SCOPE], "and any signed-in person of the pool"


def test_the_identity_has_its_own_api_key_of_the_usage_plan_from_a_generated_value(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["staging"]
    key_id, key = next(
        (k, v) for k, v in resources_of(template, "AWS::ApiGateway::ApiKey").items() if "SmokeTestIdentity" in k
    )
    value = _joined(key["Properties"]["Value"])
    assert re.fullmatch(
        r"\{\{resolve:secretsmanager:<SmokeTestIdentityApiKeyValue\w+>:SecretString:api_key::\}\}", value
    )
    generator = resource_with_prefix(template, "AWS::SecretsManager::Secret", "SmokeTestIdentityApiKeyValue")
    assert generator["Properties"]["GenerateSecretString"]["PasswordLength"] >= 20  # API Gateway's minimum
    plan_keys = [k["Properties"] for k in resources_of(template, "AWS::ApiGateway::UsagePlanKey").values()]
    assert {"KeyId": {"Ref": key_id}, "KeyType": "API_KEY"}.items() <= next(
        k for k in plan_keys if k["KeyId"] == {"Ref": key_id}
    ).items()


def test_the_identity_secret_holds_the_client_credentials_the_token_endpoint_the_scopes_and_the_api_key(
    templates: dict[str, dict[str, Any]],
) -> None:
    secret = resource_with_prefix(templates["staging"], "AWS::SecretsManager::Secret", "SmokeTestIdentitySecret")
    text = _joined(secret["Properties"]["SecretString"])
    fields = dict(re.findall(r'"(\w+)":"([^"]*)"', text))
    assert set(fields) == {"client_id", "client_secret", "token_url", "scope", "api_key"}
    assert re.fullmatch(r"<AuthUserPoolSmokeTestClient\w+>", fields["client_id"])
    assert re.fullmatch(r"<AuthUserPoolSmokeTestClient\w+\.ClientSecret>", fields["client_secret"])
    assert re.fullmatch(
        r"https://<AuthUserPoolDomain\w+>\.auth\.eu-west-1\.amazoncognito\.com/oauth2/token", fields["token_url"]
    )
    assert re.fullmatch(r"<\w+>/read <\w+>/write", fields["scope"])
    assert fields["api_key"].startswith("{{resolve:secretsmanager:<SmokeTestIdentityApiKeyValue")
    assert "KmsKeyId" in secret["Properties"]


def test_the_identity_secret_name_is_new_for_every_stack(templates: dict[str, dict[str, Any]]) -> None:
    """A deleted stack's secret may keep its name through its recovery window; a new stack's does not clash."""
    secret = resource_with_prefix(templates["dev"], "AWS::SecretsManager::Secret", "SmokeTestIdentitySecret")
    name = secret["Properties"]["Name"]["Fn::Join"][1]
    assert name[0] == "items-dev/post-deploy-test-identity-"
    assert name[1] == {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}


@pytest.mark.parametrize("stage_id", SAME_AND_CROSS_ACCOUNT)
def test_only_the_stages_smoke_test_role_is_granted_the_identity_secret(
    templates: dict[str, dict[str, Any]], stage_id: str
) -> None:
    environment, _, region = STAGES[stage_id]
    (policy,) = resources_of(templates[stage_id], "AWS::SecretsManager::ResourcePolicy").values()
    (statement,) = _statements(policy["Properties"]["ResourcePolicy"])
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PIPELINE_ACCOUNT}:root"}
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": _role_arn(environment, region)}}


@pytest.mark.parametrize("stage_id", SAME_AND_CROSS_ACCOUNT)
def test_the_key_lets_that_role_decrypt_only_the_identity_and_only_through_secrets_manager(
    templates: dict[str, dict[str, Any]], stage_id: str
) -> None:
    environment, account, region = STAGES[stage_id]
    (key,) = resources_of(templates[stage_id], "AWS::KMS::Key").values()
    granted = [
        s
        for s in _statements(key["Properties"]["KeyPolicy"])
        if f"arn:aws:iam::{PIPELINE_ACCOUNT}:root" in json.dumps(s)
    ]
    if account != PIPELINE_ACCOUNT:
        assert [s["Sid"] for s in granted] == ["PostDeployTestsDecryptTheIdentity"], "the pipeline account: this only"
    statement = next(s for s in granted if s.get("Sid") == "PostDeployTestsDecryptTheIdentity")
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": _role_arn(environment, region)},
        "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:SecretARN": _secret_arns(environment, account, region)},
    }


def test_the_stack_names_the_identity_secret_in_an_output(templates: dict[str, dict[str, Any]]) -> None:
    output = templates["dev"]["Outputs"]["SmokeTestIdentitySecretArn"]
    assert output["Value"]["Ref"].startswith("SmokeTestIdentitySecret")


# --- the pipeline's smoke-test roles --------------------------------------------------------------------------


def test_each_smoke_test_role_has_the_fixed_name_its_stage_grants(smoke_roles: dict[str, list[dict[str, Any]]]) -> None:
    assert sorted(smoke_roles) == sorted(
        _role_arn(environment, region).rsplit("/", 1)[1] for environment, _, region in STAGES.values()
    )


@pytest.mark.parametrize("stage_id", list(STAGES))
def test_a_smoke_test_role_may_read_its_stages_identity_and_nothing_else_of_any_stage(
    smoke_roles: dict[str, list[dict[str, Any]]], stage_id: str
) -> None:
    environment, account, region = STAGES[stage_id]
    statements = smoke_roles[_role_arn(environment, region).rsplit("/", 1)[1]]
    secrets = [s for s in statements if any(a.startswith("secretsmanager:") for a in _as_list(s["Action"]))]
    assert secrets == [
        {
            "Action": "secretsmanager:GetSecretValue",
            "Effect": "Allow",
            "Resource": _secret_arns(environment, account, region),
        }
    ]
    stage_keys = [s for s in statements if f":kms:{region}:{account}:" in json.dumps(s)]
    assert stage_keys == [
        {
            "Action": "kms:Decrypt",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:SecretARN": _secret_arns(environment, account, region)},
            },
            "Effect": "Allow",
            "Resource": f"arn:aws:kms:{region}:{account}:key/*",
        }
    ]
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert not {a for a in actions if a.startswith(("sts:", "cloudformation:", "iam:", "dynamodb:"))}
    # It writes nothing of the stage: only the baseline files it records, in the pipeline's evidence bucket.
    writes = [s for s in statements if any(a.startswith("s3:Put") for a in _as_list(s["Action"]))]
    assert writes
    for statement in writes:
        for resource in _as_list(statement["Resource"]):
            assert "/baselines/" in json.dumps(resource), resource


def test_in_one_account_each_role_still_reads_only_its_own_stages_identity(topology_outdirs: dict[str, Path]) -> None:
    outdir = topology_outdirs["one account"]
    (pipeline,) = [s.template for s in read_stacks(outdir).values() if s.stack_name.endswith("-pipeline")]
    roles = _smoke_roles(pipeline)
    staging = roles["serverless-python-delivery-smoke-tests-staging-eu-west-1"]
    assert [s["Resource"] for s in staging if s["Action"] == "secretsmanager:GetSecretValue"] == [
        _secret_arns("staging", PIPELINE_ACCOUNT, "eu-west-1")
    ]
    (stage,) = read_stacks(outdir / "assembly-Pipeline-staging").values()
    (policy,) = resources_of(stage.template, "AWS::SecretsManager::ResourcePolicy").values()
    (statement,) = _statements(policy["Properties"]["ResourcePolicy"])
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PIPELINE_ACCOUNT}:root"}
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": _role_arn("staging", "eu-west-1")}}
