"""The pipeline's source: the repository's branch through a CodeConnections connection.

Connections created since the CodeStar Connections rename have ``arn:aws:codeconnections:`` ARNs, and
IAM matches an action's service prefix against the resource's: ``codestar-connections:UseConnection``
on such an ARN allows nothing ("Connections rename", AWS Developer Tools console guide). The CDK source
action grants the old prefix whatever the ARN, so the grant is rewritten to the configured ARN's."""

import jsii
from aws_cdk import Aspects, IAspect, Stack, pipelines
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from constructs import IConstruct

SOURCE_ACTION_NAME = "Source"
LEGACY_ACTION = "codestar-connections:UseConnection"


def connection_prefix(connection_arn: str) -> str:
    """The IAM service prefix of a connection ARN: ``codeconnections`` or ``codestar-connections``."""
    return connection_arn.split(":")[2]


def connection_source(repository: str, branch: str, connection_arn: str) -> pipelines.CodePipelineSource:
    return pipelines.CodePipelineSource.connection(
        repository, branch, connection_arn=connection_arn, action_name=SOURCE_ACTION_NAME
    )


@jsii.implements(IAspect)
class _UseConnectionWithTheArnsPrefix:
    """Rewrites the source role's UseConnection statement once every statement is in (aspects run at
    synthesis, after construction), so its position is the one the template will have."""

    def __init__(self, action: str) -> None:
        self._action = action

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, iam.CfnPolicy):
            return
        document = Stack.of(node).resolve(node.policy_document)
        for index, statement in enumerate(document.get("Statement", [])):
            if statement.get("Action") == LEGACY_ACTION:
                node.add_property_override(f"PolicyDocument.Statement.{index}.Action", self._action)


def grant_connection_by_its_prefix(pipeline: codepipeline.Pipeline, connection_arn: str) -> None:
    """Make the source action's role use the connection with the action prefix its ARN carries."""
    prefix = connection_prefix(connection_arn)
    if prefix == "codestar-connections":
        return
    # CodePipeline creates the action's role under <pipeline>/Source/<action scope>/CodePipelineActionRole.
    source_stage = pipeline.node.find_child(SOURCE_ACTION_NAME)
    roles = [
        role
        for scope in source_stage.node.children
        if (role := scope.node.try_find_child("CodePipelineActionRole")) is not None
    ]
    (role,) = roles
    policy = role.node.find_child("DefaultPolicy").node.default_child
    Aspects.of(policy).add(_UseConnectionWithTheArnsPrefix(f"{prefix}:UseConnection"))
