"""Termination protection for the stacks that ask for it, applied by the pipeline itself.

CDK Pipelines' CloudFormation deploy action cannot set a stack's termination protection (the action
has no such setting; aws-cdk issues 17871 and 30405), so a stack deployed by the pipeline would stay
unprotected whatever ``termination_protection`` says. This step runs after the stage's deployment, in
the pipeline account, assumes the stage account's CDK bootstrap deploy role (which may call
``cloudformation:UpdateTerminationProtection`` and trusts the pipeline account once bootstrapped with
``--trust``) and switches protection on for each such stack."""

from aws_cdk import DefaultStackSynthesizer, Duration, Stack, Stage, pipelines
from aws_cdk import aws_iam as iam

PROFILE = "stage-deploy-role"


def protected_stacks(stage: Stage) -> list[Stack]:
    return [c for c in stage.node.children if isinstance(c, Stack) and c.termination_protection]


def deploy_role_arn(account: str, region: str) -> str:
    """The CDK bootstrap deploy role of an account and region (default qualifier)."""
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return f"arn:aws:iam::{account}:role/cdk-{qualifier}-deploy-role-{account}-{region}"


def termination_protection_step(
    step_id: str, stage: Stage, source: pipelines.IFileSetProducer
) -> pipelines.CodeBuildStep | None:
    """The step that protects the stage's stacks, or None when none of them asks for protection."""
    stacks = protected_stacks(stage)
    if not stacks:
        return None
    account, region = stage.account, stage.region
    role_arn = deploy_role_arn(str(account), str(region))
    commands = [
        # The AWS CLI assumes the role from CodeBuild's own credentials.
        f"aws configure set profile.{PROFILE}.role_arn {role_arn}",
        f"aws configure set profile.{PROFILE}.credential_source EcsContainer",
    ]
    for stack in stacks:
        where = f"--stack-name {stack.stack_name} --region {region} --profile {PROFILE}"
        commands += [
            f"aws cloudformation update-termination-protection --enable-termination-protection {where}",
            # Fail the step unless CloudFormation now reports the stack as protected.
            f'test "$(aws cloudformation describe-stacks {where} '
            f"--query 'Stacks[0].EnableTerminationProtection' --output text)\" = True",
        ]
    return pipelines.CodeBuildStep(
        step_id,
        input=source,
        commands=commands,
        role_policy_statements=[iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role_arn])],
        timeout=Duration.minutes(5),
    )
