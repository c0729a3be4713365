"""The identity the post-deploy tests call the API with: a Cognito app client that gets access tokens
with the items scopes through the client-credentials grant, and an API key of the usage plan. What the
tests need to use it (client id and secret, token endpoint, scopes, API key) is one secret in the
stage's account. Its resource policy and the key's policy grant it to one principal: the pipeline's
smoke-test role of this stage, of the pipeline's account (another account, or the same)."""

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, SecretValue, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from services.items.auth import ItemsUserPool

API_KEY_FIELD = "api_key"
# The tests ask for a new token per session; a short life limits what a leaked one is worth.
ACCESS_TOKEN_VALIDITY = Duration.minutes(15)


def identity_secret_prefix(environment: str) -> str:
    """The name of the identity's secret up to its unique suffix."""
    return f"items-{environment}/post-deploy-test-identity"


def identity_secret_arns(account: str, region: str, environment: str) -> str:
    """Every ARN the identity's secret of one stage can have (Secrets Manager adds a suffix to the name)."""
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{identity_secret_prefix(environment)}-*"


def _decrypted_through_secrets_manager(account: str, region: str, environment: str) -> dict[str, dict[str, str]]:
    return {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:SecretARN": identity_secret_arns(account, region, environment)},
    }


def reader_statements(account: str, region: str, environment: str) -> list[iam.PolicyStatement]:
    """What the reader role's own policy needs to read the identity of the stage in this account and
    region: the secret, and its key only as Secrets Manager uses it for that secret (the key's id is
    not known outside the stage's stack)."""
    return [
        iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue"],
            resources=[identity_secret_arns(account, region, environment)],
        ),
        iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=[f"arn:aws:kms:{region}:{account}:key/*"],
            conditions=_decrypted_through_secrets_manager(account, region, environment),
        ),
    ]


class SmokeTestIdentity(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        auth: ItemsUserPool,
        usage_plan: apigw.UsagePlan,
        stage: apigw.Stage,
        key: kms.Key,
        reader_role_arn: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        scopes = [auth.read_scope, auth.write_scope]
        self.client = auth.user_pool.add_client(
            "SmokeTestClient",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(flows=cognito.OAuthFlows(client_credentials=True), scopes=scopes),
            access_token_validity=ACCESS_TOKEN_VALIDITY,
            prevent_user_existence_errors=True,
        )
        # No user sign-in flow at all: the client only ever authenticates itself at the token endpoint.
        client = self.client.node.default_child
        assert isinstance(client, cognito.CfnUserPoolClient)
        client.explicit_auth_flows = ["ALLOW_REFRESH_TOKEN_AUTH"]

        # The API key's value, generated once; only CloudFormation reads it, to set the key and to copy it
        # into the identity below. A key of its own, so that replacing the client never changes the key.
        self.api_key_value = secretsmanager.Secret(
            self,
            "ApiKeyValue",
            description=f"Value of the post-deploy tests' API key of the items API ({environment})",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",  # noqa: S106 - a JSON template; the value is generated
                generate_string_key=API_KEY_FIELD,
                exclude_punctuation=True,
                password_length=40,
            ),
            removal_policy=removal_policy,
        )
        self.api_key = apigw.ApiKey(
            self,
            "ApiKey",
            description=f"post-deploy tests of the items API ({environment})",
            value=self.api_key_value.secret_value_from_json(API_KEY_FIELD).unsafe_unwrap(),
            stages=[stage],
        )
        usage_plan.add_api_key(self.api_key)

        # Unique per stack: a deleted stack's secret may wait out its recovery window under its old name.
        self.secret_name_prefix = identity_secret_prefix(environment)
        unique = Fn.select(2, Fn.split("/", Aws.STACK_ID))
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=f"{self.secret_name_prefix}-{unique}",
            description=f"Client credentials and API key the post-deploy tests call the items API with ({environment})",
            encryption_key=key,
            secret_object_value={
                "client_id": SecretValue.unsafe_plain_text(self.client.user_pool_client_id),
                "client_secret": SecretValue.resource_attribute(client.attr_client_secret),
                "token_url": SecretValue.unsafe_plain_text(auth.token_url),
                "scope": SecretValue.unsafe_plain_text(" ".join(s.scope_name for s in scopes)),
                API_KEY_FIELD: self.api_key_value.secret_value_from_json(API_KEY_FIELD),
            },
            removal_policy=removal_policy,
        )
        self._let_read(stack, environment, key, reader_role_arn)

    def _let_read(self, stack: Stack, environment: str, key: kms.Key, reader_role_arn: str) -> None:
        """The reader role, of the pipeline's account, may read the secret and decrypt it through Secrets
        Manager; it is named by `aws:PrincipalArn` under its account, so the policies stay valid when the
        role is recreated (a role named as principal turns into an id that no new role matches)."""
        reader_account = reader_role_arn.split(":")[4]
        reader = {"ArnEquals": {"aws:PrincipalArn": reader_role_arn}}
        self.secret.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PostDeployTestsReadTheIdentity",
                principals=[iam.AccountPrincipal(reader_account)],
                actions=["secretsmanager:GetSecretValue"],
                resources=["*"],
                conditions=reader,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PostDeployTestsDecryptTheIdentity",
                principals=[iam.AccountPrincipal(reader_account)],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={**reader, **_decrypted_through_secrets_manager(stack.account, stack.region, environment)},
            )
        )
