"""What the post-deploy journey is made of: who calls the API (the test identity the stage created, or a
token given by hand), sessions of that caller, waiting for what takes time, and the ledger of everything
a test created, which is deleted at the end even when a step fails. Standard library only; boto3 only to
read the identity's secret."""

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

# Every item the journey creates carries this in its name, with the run's id.
MARKER = "e2e-journey"
# Bounded waits: an upload goes through S3, EventBridge, SQS and the worker; the list reads an index
# DynamoDB updates a moment after the write.
INGEST_WAIT_SECONDS = 180.0
LIST_WAIT_SECONDS = 30.0
# The clean-up waits this long more for an upload the test left unfinished.
CLEANUP_UPLOAD_WAIT_SECONDS = 60.0
# Right after a stage's first deployment its token endpoint, app client and API key may need a moment.
IDENTITY_READY_SECONDS = 120.0
# Polls start fast (the local API answers at once) and back off to a pace AWS does not mind.
FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 2.0
# How far the clean-up looks through the list (newest first) for what an upload imported.
SWEEP_PAGES = 5
T = TypeVar("T")


@dataclass(frozen=True, repr=False)
class Session:
    """The headers one session of the caller sends. API Gateway caches GET answers per token, so reads
    that must see a write go through a new session."""

    headers: Mapping[str, str]

    def __repr__(self) -> str:  # never print credentials into a test report
        return "Session(<credentials>)"


class Identity(Protocol):
    def session(self) -> Session: ...

    @property
    def has_api_key(self) -> bool: ...


@dataclass(frozen=True)
class GivenToken:
    """A token given by hand (a person's access token, or the local API's token), and maybe an API key."""

    token: str = field(repr=False)
    api_key: str = field(default="", repr=False)

    def session(self) -> Session:
        return Session(_headers(self.token, self.api_key))

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)


@dataclass(frozen=True)
class ClientCredentials:
    """The stage's test identity: a Cognito app client that gets an access token with the items scopes
    from the user pool's token endpoint (client-credentials grant), and the usage plan's API key."""

    client_id: str
    client_secret: str = field(repr=False)
    token_url: str
    scope: str
    api_key: str = field(repr=False)

    @classmethod
    def from_secret(cls, secret_arn: str) -> "ClientCredentials":
        import boto3  # only here: the local run needs no AWS SDK

        region = secret_arn.split(":")[3]
        value = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=secret_arn)
        fields = json.loads(value["SecretString"])
        return cls(**{name: fields[name] for name in ("client_id", "client_secret", "token_url", "scope", "api_key")})

    def session(self) -> Session:
        """A new access token from the token endpoint (client-credentials grant, client authenticated with
        HTTP Basic); a new domain may take a moment to resolve."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        request = urllib.request.Request(
            self.token_url,
            data=urllib.parse.urlencode({"grant_type": "client_credentials", "scope": self.scope}).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
        )
        deadline = time.monotonic() + IDENTITY_READY_SECONDS
        while True:
            try:
                with urllib.request.urlopen(request, timeout=15) as response:
                    token = json.loads(response.read())["access_token"]
                return Session(_headers(token, self.api_key))
            except urllib.error.HTTPError:
                raise
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(MAX_POLL_SECONDS)

    @property
    def has_api_key(self) -> bool:
        return True


def _headers(token: str, api_key: str) -> dict[str, str]:
    return {"Authorization": token, **({"X-Api-Key": api_key} if api_key else {})}


def identity_from(environ: Mapping[str, str] = os.environ) -> Identity | None:
    """The pipeline passes the identity's secret (IDENTITY_SECRET_ARN, from the stage's outputs); by hand
    or against the local API, a token (API_TOKEN) and, where the stage requires one, an API key (API_KEY)."""
    if environ.get("IDENTITY_SECRET_ARN"):
        return ClientCredentials.from_secret(environ["IDENTITY_SECRET_ARN"])
    if environ.get("API_TOKEN"):
        return GivenToken(environ["API_TOKEN"], environ.get("API_KEY", ""))
    return None


def eventually(observe: Callable[[], T], done: Callable[[T], bool], *, within: float, what: str) -> T:
    """Observe until `done` holds, at most `within` seconds; fail with the last observation."""
    deadline, pause = time.monotonic() + within, FIRST_POLL_SECONDS
    while True:
        seen = observe()
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s; last seen {seen!r}")
        time.sleep(pause)
        pause = min(pause * 2, MAX_POLL_SECONDS)


class Caller(Protocol):
    def __call__(
        self, method: str, path: str, body: Any = None, *, session: Session, headers: dict[str, str] | None = None
    ) -> Any: ...


class Ledger:
    """What one test created, and the clean-up that deletes it: the items it created, and whatever its
    uploads imported (found by the run's marker in their names, once each upload has finished)."""

    def __init__(self, request: Caller, identity: Identity, run: str, label: str) -> None:
        self._request, self._identity = request, identity
        self.prefix = f"{MARKER} {run} {label}"
        self.item_ids: list[str] = []
        self.upload_ids: list[str] = []

    def name(self, suffix: str) -> str:
        return f"{self.prefix} {suffix}"

    def created(self, item_id: str) -> None:
        self.item_ids.append(item_id)

    def deleted(self, item_id: str) -> None:
        """The test deleted it itself (a second DELETE would only add a 404 to the stage's metrics)."""
        self.item_ids.remove(item_id)

    def uploading(self, ingest_id: str) -> None:
        """Call before sending an upload's file: from then on its items may be imported, whatever follows."""
        self.upload_ids.append(ingest_id)

    def marked_items(self, session: Session) -> list[dict[str, Any]]:
        """This test's items among the newest ones (read with a new session each time: lists are cached)."""
        found, token = [], None
        for _ in range(SWEEP_PAGES):
            query = "?limit=100" + (f"&next_token={urllib.parse.quote(token)}" if token else "")
            page = self._request("GET", f"/items{query}", session=session).json()
            found += [item for item in page["items"] if item["name"].startswith(f"{self.prefix} ")]
            token = page.get("next_token")
            if not token:
                break
        return found

    def clean_up(self) -> list[str]:
        """Delete everything; returns what could not be deleted or found (empty when all is gone)."""
        problems: list[str] = []
        ids = list(self.item_ids)
        imported = sum(self._finished_imports(problems))
        if imported:
            items = eventually(
                lambda: self.marked_items(self._identity.session()),
                lambda seen: len(seen) >= imported,
                within=LIST_WAIT_SECONDS,
                what=f"the {imported} imported items in the list",
            )
            ids += [item["id"] for item in items]
        if ids:
            session = self._identity.session()
            for item_id in dict.fromkeys(ids):
                status = self._request("DELETE", f"/items/{item_id}", session=session).status
                if status not in (204, 404):
                    problems.append(f"DELETE /items/{item_id} answered {status}")
        return problems

    def _finished_imports(self, problems: list[str]) -> list[int]:
        """How many items each upload imported, once it has finished (an import may land after a failed step)."""
        counts = []
        session = self._identity.session()  # upload statuses are never cached
        for ingest_id in self.upload_ids:
            try:
                job = eventually(
                    lambda i=ingest_id: self._request("GET", f"/ingest/{i}", session=session).json(),
                    lambda seen: seen.get("status") not in ("PENDING", "VALIDATING"),
                    within=CLEANUP_UPLOAD_WAIT_SECONDS,
                    what=f"upload {ingest_id} to finish",
                )
            except AssertionError as error:
                problems.append(f"{error}: items named {self.prefix!r} may still be imported")
                continue
            counts.append(int(job.get("imported") or 0))
        return counts


def wait_until_accepted(request: Caller, identity: Identity) -> None:
    """Until the API takes the identity (a first deployment's app client and API key need a moment)."""
    eventually(
        lambda: request("GET", "/items?limit=1", session=identity.session()),
        lambda seen: seen.status not in (401, 403),
        within=IDENTITY_READY_SECONDS,
        what="the API to accept the test identity",
    )
