"""The Cognito user pool whose access tokens the items API accepts: people sign in through the web
client, machines (the post-deploy test identity) get a token from the pool's OAuth token endpoint with
the items resource server's scopes."""

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

RESOURCE_SERVER_ID = "items"
READ = cognito.ResourceServerScope(scope_name="read", scope_description="Read items and the status of uploads")
WRITE = cognito.ResourceServerScope(
    scope_name="write", scope_description="Create, replace and delete items, and start uploads"
)
# Every access token of a person who signed in through the user pool API (SRP, the web client) carries
# this scope and no custom one, so a method that lists it accepts any signed-in user of the pool.
SIGNED_IN_USER_SCOPE = cognito.OAuthScope.COGNITO_ADMIN.scope_name


class ItemsUserPool(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        production: bool,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            mfa=cognito.Mfa.REQUIRED if production else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Prod pays for the Plus plan: threat protection blocks compromised credentials and risky sign-ins.
            feature_plan=cognito.FeaturePlan.PLUS if production else cognito.FeaturePlan.ESSENTIALS,
            standard_threat_protection_mode=(
                cognito.StandardThreatProtectionMode.FULL_FUNCTION if production else None
            ),
            deletion_protection=production,
            removal_policy=removal_policy,
        )
        # People sign in with SRP and call the API with their access token. The domain below opens the
        # pool's hosted OAuth flows, which this client does not use: they stay off, so no sign-in page
        # can send its tokens to a callback URL.
        self.client = self.user_pool.add_client(
            "WebClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            disable_o_auth=True,
        )
        self.resource_server = self.user_pool.add_resource_server(
            "ResourceServer", identifier=RESOURCE_SERVER_ID, scopes=[READ, WRITE]
        )
        self.read_scope = cognito.OAuthScope.resource_server(self.resource_server, READ)
        self.write_scope = cognito.OAuthScope.resource_server(self.resource_server, WRITE)
        # The OAuth token endpoint (client credentials) lives on a domain of the pool. Prefixes are unique
        # per region across AWS, hence the account in it.
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"items-{environment}-{Stack.of(self).account}"),
        )
        self.token_url = f"{self.domain.base_url()}/oauth2/token"
