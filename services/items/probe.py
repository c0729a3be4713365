"""The synthetic events the deployment hooks send: GET /health as API Gateway (REST, proxy
integration) would deliver it to the API function, and a one-message SQS batch for the ingest worker.
The pre-traffic hook sends them to the new version, the synthetic traffic to the `live` alias.

They hold no null fields: the stack renders them into the hooks' environment as JSON, which drops
nulls, so what is written here is exactly what the functions receive."""

from typing import Any

HEALTHY_API_RESPONSE = {"statusCode": 200}
HEALTHY_WORKER_RESPONSE: dict[str, Any] = {"batchItemFailures": []}


def health_probe_event() -> dict[str, Any]:
    headers = {"Accept": "application/json", "User-Agent": "codedeploy-pre-traffic-hook"}
    return {
        "resource": "/health",
        "path": "/health",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": {
            "resourcePath": "/health",
            "httpMethod": "GET",
            "path": "/api/health",
            "stage": "api",
            "requestId": "pre-traffic-hook",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "codedeploy-pre-traffic-hook"},
        },
        "isBase64Encoded": False,
    }


def ingest_probe_event() -> dict[str, Any]:
    """What the ingest worker's pre-traffic hook sends: an SQS batch (the shape Lambda's event source
    delivers) of one message that is not an upload. The worker must take it apart, acknowledge it and
    report no failures; nothing is read or written."""
    return {
        "Records": [
            {
                "messageId": "pre-traffic-hook",
                "receiptHandle": "pre-traffic-hook",
                "body": '{"probe":"codedeploy-pre-traffic-hook"}',
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "codedeploy-pre-traffic-hook",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:000000000000:pre-traffic-hook",
                "awsRegion": "eu-west-1",
            }
        ]
    }
