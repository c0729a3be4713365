"""The post-deploy tests read their identity from the secret the stage creates: with a real boto3 client
against the emulated Secrets Manager, the secret holding the fields the synthesized template gives it."""

import json
import re

import pytest

from tests.e2e.journey import ClientCredentials, identity_from
from tests.synth_fixtures import Synthesized, resource_with_prefix
from tools.emulator import client, client_environment


def test_the_post_deploy_tests_read_the_identity_the_stage_stores(
    synthesized: Synthesized, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = synthesized.stage_template("dev")
    secret = resource_with_prefix(template, "AWS::SecretsManager::Secret", "SmokeTestIdentitySecret")
    parts = secret["Properties"]["SecretString"]["Fn::Join"][1]
    fields = re.findall(r'"(\w+)":"', "".join(p for p in parts if isinstance(p, str)))
    value = {name: f"{name}-of-the-dev-stage" for name in fields}
    created = client("secretsmanager", moto_endpoint).create_secret(
        Name="items-dev/post-deploy-test-identity-0", SecretString=json.dumps(value)
    )
    for name, setting in client_environment(moto_endpoint).items():
        monkeypatch.setenv(name, setting)

    assert identity_from({"IDENTITY_SECRET_ARN": created["ARN"]}) == ClientCredentials(**value)
