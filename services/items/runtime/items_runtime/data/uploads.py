"""What the worker receives: S3 "Object Created" events from EventBridge, delivered through SQS, and
the uploaded objects they point to."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404"})


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str
    job_id: str
    # Identifies this object among uploads to the same key: the version id (the bucket is versioned).
    version: str
    size: int


def upload_from_message(body: str, bucket_name: str, upload_prefix: str) -> Upload | None:
    """The upload an SQS message body announces (an object of the bucket, under the prefix, named by its
    job id), or None when it is anything else."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        return None
    detail = event.get("detail")
    bucket = detail.get("bucket") if isinstance(detail, dict) else None
    target = detail.get("object") if isinstance(detail, dict) else None
    if not isinstance(bucket, dict) or not isinstance(target, dict) or bucket.get("name") != bucket_name:
        return None
    key, size = target.get("key"), target.get("size")
    if not isinstance(key, str) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return None
    match = re.fullmatch(rf"{re.escape(upload_prefix)}([0-9a-f]{{32}})", key)
    if match is None:
        return None
    version = target.get("version-id") or f"etag:{target.get('etag') or target.get('eTag') or ''}"
    return Upload(bucket=bucket_name, key=key, job_id=match.group(1), version=str(version), size=size)


class S3UploadReader:
    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, upload: Upload, max_bytes: int) -> bytes | None:
        """At most max_bytes + 1 bytes of the upload (enough to tell it is too large); None when the
        object is gone."""
        if upload.size == 0:
            return b""  # a byte range of an empty object is not satisfiable
        request: dict[str, Any] = {"Bucket": upload.bucket, "Key": upload.key, "Range": f"bytes=0-{max_bytes}"}
        if not upload.version.startswith("etag:"):
            request["VersionId"] = upload.version
        try:
            response = self._client.get_object(**request)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in _GONE:
                return None
            raise
        data: bytes = response["Body"].read(max_bytes + 1)
        return data
