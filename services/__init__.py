"""One folder per service: CDK constructs beside a ``runtime/`` folder that becomes the Lambda asset."""
