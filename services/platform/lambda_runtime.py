"""The Lambda runtime every function here runs (the newest Python aws-cdk-lib offers, on arm64) and the
public Powertools for AWS Lambda (Python) layer, pinned to the version the tests use."""

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# Layer version 37 is the build of aws-lambda-powertools 3.34.0, the release requirements-dev.txt pins
# for the tests. Each layer version's description names its release: check with
# `aws lambda get-layer-version-by-arn --arn <arn>` before bumping both together.
POWERTOOLS_VERSION = "3.34.0"
POWERTOOLS_LAYER_VERSION = 37
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64


def powertools_layer_arn(region: str) -> str:
    runtime = LAMBDA_RUNTIME.name.replace(".", "")
    arch = LAMBDA_ARCHITECTURE.name  # "arm64" or "x86_64", as the layer names spell them
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime}-{arch}:{POWERTOOLS_LAYER_VERSION}"
    )


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    return lambda_.LayerVersion.from_layer_version_arn(
        scope, construct_id, powertools_layer_arn(Stack.of(scope).region)
    )
