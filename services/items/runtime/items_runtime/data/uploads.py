"""What the worker receives: S3 "Object Created" events from EventBridge, delivered through SQS, and
the uploaded objects they point to."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
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


# Blocks of this size keep a streamed read's memory small and its request count low.
BLOCK_BYTES = 1 << 20


class S3UploadReader:
    def __init__(self, client: Any) -> None:
        self._client = client

    def open(
        self, bucket: str, key: str, version: str, *, start: int = 0, end: int | None = None
    ) -> Iterator[bytes] | None:
        """The bytes [start, end) of one version of an object as a stream of blocks (all of it without
        `end`); None when that version is gone."""
        if end is not None and end <= start:
            return iter(())  # an empty range is not a satisfiable byte range
        request: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start or end is not None:
            request["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        if not version.startswith("etag:"):
            request["VersionId"] = version
        try:
            response = self._client.get_object(**request)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            if code in _GONE:
                return None
            if code == "InvalidRange":  # an empty object
                return iter(())
            raise
        blocks: Iterator[bytes] = response["Body"].iter_chunks(chunk_size=BLOCK_BYTES)
        return blocks
