"""The secret the items function reads through Powertools parameters: the key that signs list cursors."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

PAGINATION_KEY_FIELD = "pagination_key"


class ItemsSecrets(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, environment: str, key: kms.IKey, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.pagination = secretsmanager.Secret(
            self,
            "PaginationKey",
            description=f"HMAC key that signs the items API's list cursors ({environment})",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",  # noqa: S106 - a JSON template; the value is generated
                generate_string_key=PAGINATION_KEY_FIELD,
                exclude_punctuation=True,
                password_length=64,
            ),
            removal_policy=removal_policy,
        )
