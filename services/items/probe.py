"""The synthetic request the pre-traffic hook sends to each new version: GET /health as API Gateway
(REST, proxy integration) would deliver it."""

from typing import Any


def health_probe_event() -> dict[str, Any]:
    headers = {"Accept": "application/json", "User-Agent": "codedeploy-pre-traffic-hook"}
    return {
        "resource": "/health",
        "path": "/health",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/health",
            "httpMethod": "GET",
            "path": "/api/health",
            "stage": "api",
            "requestId": "pre-traffic-hook",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "codedeploy-pre-traffic-hook"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
