"""The Cognito user pool whose tokens the items API accepts."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from config.schema import EnvironmentConfig


class ItemsUserPool(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env_config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            mfa=cognito.Mfa.REQUIRED if env_config.is_production else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Prod pays for the Plus plan: threat protection blocks compromised credentials and risky sign-ins.
            feature_plan=cognito.FeaturePlan.PLUS if env_config.is_production else cognito.FeaturePlan.ESSENTIALS,
            standard_threat_protection_mode=(
                cognito.StandardThreatProtectionMode.FULL_FUNCTION if env_config.is_production else None
            ),
            deletion_protection=env_config.is_production,
            removal_policy=RemovalPolicy.RETAIN if env_config.is_production else RemovalPolicy.DESTROY,
        )
        self.client = self.user_pool.add_client(
            "WebClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
        )
