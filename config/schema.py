"""The configuration's schema: one validated object for the pipeline, one per environment, and the
values derived from them (removal policy, traffic shift), each computed once. Any invalid value or
impossible combination raises a ValidationError that config/loading.py turns into one message per key.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aws_cdk import RemovalPolicy
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, model_validator

ENVIRONMENT_NAMES: tuple[str, ...] = ("dev", "staging", "prod")

# Values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


def _account_id(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise ValueError(f"{value!r} is not a 12-digit AWS account id")
    return value


def _region(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d", value):
        raise ValueError(f"{value!r} is not an AWS region name such as 'eu-west-1'")
    return value


def _connection_arn(value: str) -> str:
    pattern = r"arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}"
    if not re.fullmatch(pattern, value):
        raise ValueError(
            f"{value!r} is not a CodeConnections connection ARN "
            "(arn:aws:codeconnections:<region>:<account>:connection/<uuid>)"
        )
    return value


def _repository(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
        raise ValueError(f"{value!r} is not a repository in the form 'owner/name'")
    return value


def _branch(value: str) -> str:
    if not value or value.startswith(("/", "-")) or ".." in value or re.search(r"[\s~^:?*\[\\]", value):
        raise ValueError(f"{value!r} is not a valid git branch name")
    return value


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
        raise ValueError(f"{value} is not a CloudWatch Logs retention period (one of {allowed})")
    return value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,62}", value):
        raise ValueError(f"{value!r} must start with a letter and hold only letters, digits and '-' (max 63)")
    return value


def _commit_url_template(value: str) -> str:
    if not value.startswith("https://") or "{commit}" not in value:
        raise ValueError(f"{value!r} must be an https URL containing the placeholder {{commit}}")
    try:
        value.format(repository="owner/name", commit="0" * 40)
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"{value!r} may only use the placeholders {{repository}} and {{commit}}") from None
    return value


def _domain_name(value: str) -> str:
    label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
    if not re.fullmatch(rf"{label}(\.{label})+", value):
        raise ValueError(f"{value!r} is not a lower-case DNS name such as 'api.example.com'")
    return value


def _certificate_arn(value: str) -> str:
    if not re.fullmatch(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}", value):
        raise ValueError(f"{value!r} is not an ACM certificate ARN")
    return value


def _hosted_zone_id(value: str) -> str:
    if not re.fullmatch(r"Z[A-Z0-9]{1,31}", value):
        raise ValueError(f"{value!r} is not a Route 53 hosted zone id such as 'Z0123456789ABCDEFGHIJ'")
    return value


def _origin(value: str) -> str:
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", value):
        raise ValueError(f"{value!r} is not a CORS origin such as 'https://app.example.com' (no path, no '*')")
    return value


# A DeploymentWindow rule's cron: seconds (only "*"), minutes, hours, day of month, month, day of week and
# an optional year, in the fields and characters CodePipeline's rule reference lists.
_NAMES = {
    "month": "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC",
    "day of week": "SUN|MON|TUE|WED|THU|FRI|SAT",
}
_CRON_FIELDS: tuple[tuple[str, int, int, str], ...] = (
    ("minutes", 0, 59, ",-*/"),
    ("hours", 0, 23, ",-*/"),
    ("day of month", 1, 31, ",-*?/LW"),
    ("month", 1, 12, ",-*/"),
    ("day of week", 1, 7, ",-*?/L#"),
    ("year", 1970, 2199, ",-*/"),
)


def _cron_field(name: str, text: str, low: int, high: int, specials: str) -> None:
    names = _NAMES.get(name)
    token = rf"\d+|{names}" if names else r"\d+"
    allowed = "".join(re.escape(c) for c in specials if c not in "*?")
    if not re.fullmatch(rf"(\*|\?|{token}|[{allowed}])([{allowed}]|{token})*", text) or (
        "?" in text and (text != "?" or "?" not in specials)
    ):
        raise ValueError(f"{name} field {text!r} may only hold values and the characters {specials}")
    for number in re.findall(r"\d+", text.split("/", 1)[0].split("#", 1)[0]):
        if not low <= int(number) <= high:
            raise ValueError(f"{name} field {text!r}: {number} is outside {low}-{high}")


def _window_cron(value: str) -> str:
    fields = value.split()
    if len(fields) not in (6, 7):
        raise ValueError(
            f"{value!r} is not a deployment window cron: give seconds, minutes, hours, day of month, month, "
            "day of week and optionally the year, e.g. '* * 8-16 ? * MON-THU *'"
        )
    if fields[0] not in ("*", "0"):
        raise ValueError(f"{value!r}: the seconds field of a deployment window must be '*' (or '0', as AWS's example)")
    if (fields[3] == "?") == (fields[5] == "?"):
        raise ValueError(f"{value!r}: exactly one of day of month and day of week must be '?'")
    for (name, low, high, specials), text in zip(_CRON_FIELDS, fields[1:], strict=False):
        _cron_field(name, text, low, high, specials)
    return value


def _time_zone(value: str) -> str:
    """The DeploymentWindow rule's forms: Region/City (IANA) or UTC with an optional offset. Its third form,
    abbreviations, is refused: some name several zones (CST is Central, China and Cuba Standard Time)."""
    if re.fullmatch(r"UTC([+-](0\d|1[0-4]):[0-5]\d)?", value):
        return value
    known = re.fullmatch(r"[A-Za-z]+(/[A-Za-z_-]+){1,2}", value) is not None
    if known:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            known = False
    if not known:
        raise ValueError(
            f"{value!r} is not a time zone such as 'Europe/Dublin', 'UTC' or 'UTC+05:30' (abbreviations are refused: "
            "some name several zones)"
        )
    return value


_STRATEGY = re.compile(
    r"ALL_AT_ONCE|CANARY_(?P<canary>\d{1,2})_PERCENT_(?P<after>\d{1,4})_MINUTES?"
    r"|LINEAR_(?P<linear>\d{1,2})_PERCENT_EVERY_(?P<every>\d{1,4})_MINUTES?"
)


@dataclass(frozen=True)
class TrafficShift:
    """How CodeDeploy moves traffic to a new version: all at once, a canary then the rest, or in steps."""

    kind: Literal["all_at_once", "canary", "linear"]
    percentage: int = 100
    minutes: int = 0


def parse_traffic_shift(name: str) -> TrafficShift:
    match = _STRATEGY.fullmatch(name)
    if match is None:
        raise ValueError(
            f"{name!r} is not a deployment config: use ALL_AT_ONCE, CANARY_<percent>_PERCENT_<minutes>_MINUTES "
            "or LINEAR_<percent>_PERCENT_EVERY_<minutes>_MINUTES (e.g. CANARY_10_PERCENT_5_MINUTES)"
        )
    if name == "ALL_AT_ONCE":
        return TrafficShift("all_at_once")
    percentage = int(match["canary"] or match["linear"])
    minutes = int(match["after"] or match["every"])
    if not 1 <= percentage <= 99:
        raise ValueError(f"{name!r}: the percentage must be between 1 and 99")
    if not 1 <= minutes <= 2880:
        raise ValueError(f"{name!r}: the interval must be between 1 and 2880 minutes")
    return TrafficShift("canary" if match["canary"] else "linear", percentage, minutes)


AccountId = Annotated[str, AfterValidator(_account_id)]
Region = Annotated[str, AfterValidator(_region)]
ConnectionArn = Annotated[str, AfterValidator(_connection_arn)]
Repository = Annotated[str, AfterValidator(_repository)]
Branch = Annotated[str, AfterValidator(_branch)]
RetentionDays = Annotated[StrictInt, AfterValidator(_retention)]
Email = Annotated[str, AfterValidator(_email)]
ResourceName = Annotated[str, AfterValidator(_name)]
CommitUrlTemplate = Annotated[str, AfterValidator(_commit_url_template)]
DomainName = Annotated[str, AfterValidator(_domain_name)]
CertificateArn = Annotated[str, AfterValidator(_certificate_arn)]
HostedZoneId = Annotated[str, AfterValidator(_hosted_zone_id)]
Origin = Annotated[str, AfterValidator(_origin)]
WindowCron = Annotated[str, AfterValidator(_window_cron)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Names built from pipeline.name, with the length AWS allows each (CloudFormation resource schemas).
PIPELINE_DERIVED_NAMES = (
    ("{name}", 100, "the CodePipeline pipeline name"),
    ("{name}-pipeline", 128, "the pipeline stack's name"),
    ("{name}-events", 64, "the notification rule name"),
)


# The pipeline's role that runs one stage's post-deploy tests has a fixed name: the stage's identity
# secret and key name it in their policies. An IAM role name holds at most 64 characters.
ROLE_NAME_LIMIT = 64


def _pipeline_name(value: str) -> str:
    for pattern, limit, what in PIPELINE_DERIVED_NAMES:
        derived = pattern.format(name=value)
        if len(derived) > limit:
            raise ValueError(f"{value!r} makes {what} {derived!r} {len(derived)} characters long; AWS allows {limit}")
    return value


class PipelineConfig(_Strict):
    """Where the pipeline lives and what it watches."""

    name: Annotated[ResourceName, AfterValidator(_pipeline_name)]
    account: AccountId
    region: Region
    connection_arn: ConnectionArn
    repository: Repository
    branch: Branch
    # A push that touches only files matching these globs does not start a run.
    ignored_paths: tuple[str, ...] = Field(min_length=1, max_length=8)
    approvers_group_name: ResourceName
    # Review link of the prod approval; GitLab: https://gitlab.com/{repository}/-/commit/{commit}
    commit_url_template: CommitUrlTemplate = "https://github.com/{repository}/commit/{commit}"
    approval_emails: tuple[Email, ...] = ()
    notification_emails: tuple[Email, ...] = ()


class Range(_Strict):
    """A minimum and a maximum, as auto scaling takes them; equal values mean a fixed amount."""

    min: StrictInt = Field(ge=1, le=40000)
    max: StrictInt = Field(ge=1, le=40000)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self

    @property
    def fixed(self) -> bool:
        return self.min == self.max


class TableCapacity(_Strict):
    """Provisioned read and write capacity units of a DynamoDB table (and its indexes)."""

    read: Range
    write: Range


class ApiConfig(_Strict):
    """API Gateway stage settings."""

    # 0 switches the stage cache off; API Gateway allows at most 3600 seconds.
    cache_ttl_seconds: StrictInt = Field(ge=0, le=3600)
    throttle_rate_limit: StrictInt = Field(ge=1, le=10000)
    throttle_burst_limit: StrictInt = Field(ge=1, le=5000)
    # Requests a day per API key of the usage plan.
    daily_quota: StrictInt = Field(ge=1)
    api_key_required: StrictBool
    waf_enabled: StrictBool


class CustomDomainConfig(_Strict):
    """A custom domain for the API; the certificate and the hosted zone already exist."""

    domain_name: DomainName
    certificate_arn: CertificateArn
    hosted_zone_id: HostedZoneId
    hosted_zone_name: DomainName


class FunctionConfig(_Strict):
    memory_mb: StrictInt = Field(ge=128, le=10240)
    timeout_seconds: StrictInt = Field(ge=1, le=29)  # API Gateway's integration timeout caps it
    # None leaves the function on the account's unreserved pool.
    reserved_concurrency: StrictInt | None = Field(default=None, ge=1)
    # Provisioned concurrency on the live alias, scaled on utilisation; None for none.
    provisioned_concurrency: Range | None = None
    # The rollback drill: the function's /health answers 503, so the pre-traffic hook fails the deployment.
    simulate_failure: StrictBool = False

    @model_validator(mode="after")
    def _provisioned_within_reserved(self) -> FunctionConfig:
        if (
            self.provisioned_concurrency is not None
            and self.reserved_concurrency is not None
            and self.provisioned_concurrency.max > self.reserved_concurrency
        ):
            raise ValueError(
                f"provisioned_concurrency.max {self.provisioned_concurrency.max} exceeds "
                f"reserved_concurrency {self.reserved_concurrency}"
            )
        return self


# The largest object one presigned PUT can upload (S3: 5 GiB in a single PUT).
S3_SINGLE_PUT_BYTES = 5 * 1024**3
# Validation is one stream on one CPU; Lambda gives a function one full vCPU at 1769 MB and a share of
# one below. `make bench` measures about 20 MB/s of JSON Lines and 12 MB/s of CSV on one core; this is
# the floor the configuration is checked against, with room for slower cores and larger records.
VALIDATION_BYTES_PER_SECOND_PER_VCPU = 5_000_000
LAMBDA_MB_PER_VCPU = 1769
# The worker stops validating at this share of its timeout (items_runtime/logic/attempts.py).
WORKING_SHARE = 0.7
# The chunks of one upload: the job keeps the set of those counted (an item holds at most 400 KB, and
# each count rewrites the job, which costs a write unit per KB).
MAX_CHUNKS = 10_000


class IngestConfig(_Strict):
    """Uploads to the staging bucket, the worker that validates them (phase 1) and the importer that
    writes their chunks (phase 2)."""

    # An upload larger than this is rejected without being read.
    max_upload_bytes: StrictInt = Field(default=1024**3, ge=1, le=S3_SINGLE_PUT_BYTES)
    max_records: StrictInt = Field(default=1_000_000, ge=1, le=10_000_000)
    upload_url_expiry_seconds: StrictInt = Field(default=900, ge=60, le=3600)
    # Uploaded files are deleted this many days after upload (their outcome stays in the table).
    retention_days: StrictInt = Field(default=30, ge=1, le=3650)
    worker_memory_mb: StrictInt = Field(default=LAMBDA_MB_PER_VCPU, ge=128, le=10240)
    worker_timeout_seconds: StrictInt = Field(default=900, ge=5, le=900)
    # Upper bound on concurrent worker invocations fed by the queue (SQS event source maximum concurrency).
    worker_max_concurrency: StrictInt = Field(default=5, ge=2, le=1000)
    # Alarm when the oldest waiting upload event is older than this.
    queue_age_alarm_seconds: StrictInt = Field(default=900, ge=60)
    # Records per import chunk: one message, one importer invocation (more when it is paced slowly).
    chunk_records: StrictInt = Field(default=1000, ge=25, le=10_000)
    import_memory_mb: StrictInt = Field(default=512, ge=128, le=10240)
    import_timeout_seconds: StrictInt = Field(default=300, ge=30, le=900)
    # Chunks imported at once (the import queue's event source maximum concurrency).
    import_max_concurrency: StrictInt = Field(default=10, ge=2, le=1000)
    # The share of the table's provisioned write capacity all imports together may use; the rest is
    # the API's. Above the table's auto-scaling target (70 %) an import makes the table scale out.
    import_write_share: StrictFloat = Field(default=0.5, gt=0, le=1)
    # Alarm when a chunk has waited this long to be imported (imports falling behind their capacity).
    import_age_alarm_seconds: StrictInt = Field(default=21_600, ge=60, le=1_209_600)

    @model_validator(mode="after")
    def _chunks_of_an_upload(self) -> IngestConfig:
        chunks = -(-self.max_records // self.chunk_records)
        if chunks > MAX_CHUNKS:
            raise ValueError(
                f"max_records, chunk_records: an upload of {self.max_records} records makes {chunks} chunks of "
                f"{self.chunk_records}; at most {MAX_CHUNKS} (the job keeps the set of chunks it counted): "
                "raise chunk_records or lower max_records"
            )
        return self

    @model_validator(mode="after")
    def _validation_fits_the_timeout(self) -> IngestConfig:
        vcpu = min(1.0, self.worker_memory_mb / LAMBDA_MB_PER_VCPU)
        seconds = self.max_upload_bytes / (VALIDATION_BYTES_PER_SECOND_PER_VCPU * vcpu)
        if seconds > WORKING_SHARE * self.worker_timeout_seconds:
            raise ValueError(
                f"max_upload_bytes, worker_timeout_seconds, worker_memory_mb: validating {self.max_upload_bytes} "
                f"bytes may take {seconds:.0f} s at {self.worker_memory_mb} MB, more than "
                f"{WORKING_SHARE:.0%} of the worker's {self.worker_timeout_seconds} s; raise the timeout (up to "
                f"900), the memory (CPU grows with it up to {LAMBDA_MB_PER_VCPU} MB) or lower max_upload_bytes"
            )
        return self


# Every operations alarm evaluates one period of this length (services/items/monitoring.py), so a breach
# reaches ALARM no sooner than this after it starts.
OPERATIONS_ALARM_PERIOD_MINUTES = 5
# CodePipeline allows at most five rules in one condition: one alarm rule per region of an environment.
MAX_RULES_PER_CONDITION = 5


class AlarmConfig(_Strict):
    """Thresholds of the operations alarms (evaluated over OPERATIONS_ALARM_PERIOD_MINUTES periods)."""

    lambda_errors: StrictInt = Field(ge=1)
    lambda_throttles: StrictInt = Field(ge=1)
    lambda_duration_p99_ms: StrictInt = Field(ge=1)
    api_5xx_rate_percent: StrictFloat = Field(gt=0, le=100)
    api_4xx_rate_percent: StrictFloat = Field(gt=0, le=100)
    api_latency_p99_ms: StrictInt = Field(ge=1)
    emails: tuple[Email, ...] = ()


class Strategy(str):
    """A deployment config name, with the traffic shift it was parsed into when the configuration was read."""

    shift: TrafficShift

    @classmethod
    def parse(cls, name: str) -> Strategy:
        strategy = cls(name)
        strategy.shift = parse_traffic_shift(name)
        return strategy


class DeploymentConfig(_Strict):
    """How CodeDeploy releases each function's new version behind its `live` alias."""

    strategy: Annotated[str, AfterValidator(Strategy.parse)]

    @property
    def traffic_shift(self) -> TrafficShift:
        assert isinstance(self.strategy, Strategy)
        return self.strategy.shift


class DeploymentWindowConfig(_Strict):
    """When the pipeline may enter the environment (CodePipeline's DeploymentWindow rule)."""

    cron: WindowCron
    time_zone: TimeZone = "UTC"


class GatesConfig(_Strict):
    """The environment's stage conditions besides automatic rollback, which every deployed stage has."""

    # After the stage deployed and its smoke tests passed, the release runs this long with every alarm of the
    # environment watched; an ALARM rolls the stage back and the run never reaches the next environment.
    bake_minutes: int = Field(default=0, ge=0, le=1440)
    # None: the environment may be entered at any time.
    deployment_window: DeploymentWindowConfig | None = None


class EnvironmentConfig(_Strict):
    """One deployment environment: where it lives and how its services are sized."""

    name: Literal["dev", "staging", "prod"]
    account: AccountId
    # Several regions deploy in parallel as one wave.
    regions: tuple[Region, ...] = Field(min_length=1)
    # The account's Lambda concurrency quota in these regions (`aws lambda get-account-settings`:
    # AccountLimit.ConcurrentExecutions; new accounts may start at 10). Lambda keeps 100 of it
    # unreserved, so reserved and provisioned concurrency must fit in the rest (`make preflight`
    # checks the real quota against this value).
    lambda_concurrency_quota: StrictInt = Field(default=1000, ge=10)
    log_retention_days: RetentionDays
    function: FunctionConfig
    table_capacity: TableCapacity
    api: ApiConfig
    cors_allowed_origins: tuple[Origin, ...] = Field(min_length=1)
    alarms: AlarmConfig
    deployment: DeploymentConfig
    ingest: IngestConfig = IngestConfig()
    custom_domain: CustomDomainConfig | None = None
    gates: GatesConfig = GatesConfig()

    @model_validator(mode="after")
    def _regions_unique(self) -> EnvironmentConfig:
        if len(set(self.regions)) != len(self.regions):
            raise ValueError(f"regions {list(self.regions)} list a region twice")
        return self

    @model_validator(mode="after")
    def _failure_drill_only_in_dev(self) -> EnvironmentConfig:
        if self.function.simulate_failure and self.name != "dev":
            raise ValueError("function.simulate_failure (the rollback drill) may only be switched on in dev")
        return self

    @model_validator(mode="after")
    def _domain_in_its_zone(self) -> EnvironmentConfig:
        domain = self.custom_domain
        if domain and not (
            domain.domain_name == domain.hosted_zone_name or domain.domain_name.endswith("." + domain.hosted_zone_name)
        ):
            raise ValueError(
                f"custom_domain.domain_name {domain.domain_name!r} is not in hosted zone {domain.hosted_zone_name!r}"
            )
        return self

    @model_validator(mode="after")
    def _one_custom_domain_one_region(self) -> EnvironmentConfig:
        domain = self.custom_domain
        if domain and len(self.regions) > 1:
            raise ValueError(
                "custom_domain and regions: a custom domain serves one region here (its certificate is regional "
                "and its record a simple alias); list one region or drop custom_domain"
            )
        if domain and domain.certificate_arn.split(":")[3] != self.regions[0]:
            raise ValueError(
                f"custom_domain.certificate_arn: a regional API needs a certificate of its own region "
                f"{self.regions[0]}, this one is in {domain.certificate_arn.split(':')[3]}"
            )
        return self

    @model_validator(mode="after")
    def _bake_sees_an_alarm_evaluation(self) -> EnvironmentConfig:
        bake = self.gates.bake_minutes
        if 0 < bake < OPERATIONS_ALARM_PERIOD_MINUTES:
            raise ValueError(
                f"gates.bake_minutes: {bake} minutes is shorter than one evaluation of the alarms it watches "
                f"({OPERATIONS_ALARM_PERIOD_MINUTES}-minute periods), so a breach could not reach ALARM before the "
                f"bake ends; set 0 (no bake) or at least {OPERATIONS_ALARM_PERIOD_MINUTES}"
            )
        if bake and len(self.regions) > MAX_RULES_PER_CONDITION:
            raise ValueError(
                f"gates.bake_minutes and regions: the bake watches each region's alarms with one rule and a "
                f"CodePipeline condition holds at most {MAX_RULES_PER_CONDITION}; list at most "
                f"{MAX_RULES_PER_CONDITION} regions or set bake_minutes to 0"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @property
    def removal_policy(self) -> RemovalPolicy:
        """Stateful resources (tables, buckets, keys, secrets, user pool, log groups) outlive a deleted
        prod stack, but not a failed first create, which would otherwise leave named leftovers that make
        every retry fail; every other environment can be torn down."""
        return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if self.is_production else RemovalPolicy.DESTROY

    @property
    def committed_concurrency(self) -> int:
        """Concurrency this environment's functions take out of each region's pool: the reserved amount,
        or (without a reservation) the most provisioned concurrency auto scaling may allocate."""
        function = self.function
        if function.reserved_concurrency is not None:
            return function.reserved_concurrency
        return function.provisioned_concurrency.max if function.provisioned_concurrency else 0


# Lambda keeps at least this much of an account's regional concurrency unreserved.
UNRESERVED_CONCURRENCY_FLOOR = 100


PackMode = Literal["off", "report", "gate"]


class ComplianceConfig(_Strict):
    """cdk-nag packs beyond the always-gating AwsSolutions and Serverless, and the evidence store."""

    nist_800_53_r5: PackMode = "report"
    hipaa_security: PackMode = "report"
    pci_dss_321: PackMode = "report"
    # Object Lock (governance mode) keeps each run's evidence bundle unmodifiable this long.
    evidence_retention_days: StrictInt = Field(ge=1, le=36500)


class AppConfig(_Strict):
    pipeline: PipelineConfig
    environments: dict[str, EnvironmentConfig]
    compliance: ComplianceConfig

    @model_validator(mode="before")
    @classmethod
    def _name_environments(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("environments"), Mapping):
            data = dict(data)
            data["environments"] = {
                key: ({**value, "name": key} if isinstance(value, Mapping) else value)
                for key, value in data["environments"].items()
            }
        return data

    @model_validator(mode="after")
    def _exactly_the_three_environments(self) -> AppConfig:
        if tuple(self.environments) != ENVIRONMENT_NAMES:
            raise ValueError(
                f"must define exactly {', '.join(ENVIRONMENT_NAMES)} in that order, "
                f"got {', '.join(self.environments) or 'none'}"
            )
        return self

    @model_validator(mode="after")
    def _concurrency_fits_each_account(self) -> AppConfig:
        """Reserved concurrency that leaves less than 100 unreserved fails the first create (and leaves the
        stack in ROLLBACK_COMPLETE), so environments sharing an account and region must fit together."""
        pools: dict[tuple[str, str], list[EnvironmentConfig]] = {}
        for env in self.environments.values():
            for region in env.regions:
                pools.setdefault((env.account, region), []).append(env)
        for (account, region), envs in sorted(pools.items()):
            committed = sum(env.committed_concurrency for env in envs)
            if not committed:
                continue
            quota = min(env.lambda_concurrency_quota for env in envs)
            if committed > quota - UNRESERVED_CONCURRENCY_FLOOR:
                keys = ", ".join(f"environments.{env.name}.function.reserved_concurrency" for env in envs)
                raise ValueError(
                    f"{keys}: {committed} reserved or provisioned in account {account} {region}, but a quota of "
                    f"{quota} (lambda_concurrency_quota) leaves {max(0, quota - UNRESERVED_CONCURRENCY_FLOOR)} after "
                    f"the {UNRESERVED_CONCURRENCY_FLOOR} Lambda keeps unreserved: lower them, set them to null, or "
                    "raise the quota (Service Quotas L-B99A9384) and lambda_concurrency_quota"
                )
        return self

    @model_validator(mode="after")
    def _connection_in_the_pipeline_account(self) -> AppConfig:
        connection_account = self.pipeline.connection_arn.split(":")[4]
        if connection_account != self.pipeline.account:
            raise ValueError(
                f"pipeline.connection_arn and pipeline.account: the connection belongs to account "
                f"{connection_account}, the pipeline to {self.pipeline.account}; a pipeline can only use a "
                "connection of its own account (create one there)"
            )
        return self

    def smoke_test_role_name(self, environment: str, region: str) -> str:
        """`<pipeline name>-smoke-tests-<environment>-<region>`; a pipeline name too long for that is cut and
        followed by a digest of the whole name, so names of two pipelines stay apart."""
        name, suffix = self.pipeline.name, f"-smoke-tests-{environment}-{region}"
        if len(name) + len(suffix) > ROLE_NAME_LIMIT:
            digest = hashlib.sha256(name.encode()).hexdigest()[:6]
            name = f"{name[: ROLE_NAME_LIMIT - len(suffix) - len(digest) - 1]}-{digest}"
        return name + suffix

    def smoke_test_role_arn(self, environment: str, region: str) -> str:
        return f"arn:aws:iam::{self.pipeline.account}:role/{self.smoke_test_role_name(environment, region)}"

    @property
    def ordered_environments(self) -> list[EnvironmentConfig]:
        return [self.environments[name] for name in ENVIRONMENT_NAMES]

    @property
    def has_cross_account_environment(self) -> bool:
        return any(env.account != self.pipeline.account for env in self.environments.values())
