"""Configuration validation: every rule stops synth with a message naming the key and the problem."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from config import loading
from config.loading import ConfigError, load_config, parse_config, refuse_uncommitted
from tests.conftest import REPO_ROOT


def _default() -> dict[str, Any]:
    return copy.deepcopy(json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["config"])


def _with(path: str, value: Any) -> dict[str, Any]:
    raw = _default()
    *parents, leaf = path.split(".")
    node = raw
    for part in parents:
        node = node[part]
    node[leaf] = value
    return raw


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return str(caught.value)


def test_embedded_default_is_valid() -> None:
    config = parse_config(_default())
    assert [env.name for env in config.ordered_environments] == ["dev", "staging", "prod"]
    assert config.environments["prod"].regions == ("eu-west-1", "eu-central-1")
    assert config.pipeline.branch == "main"
    assert config.has_cross_account_environment


def test_default_uses_placeholder_accounts_only() -> None:
    config = parse_config(_default())
    accounts = {config.pipeline.account} | {env.account for env in config.environments.values()}
    assert accounts == {"111111111111", "222222222222", "333333333333"}


def test_account_must_have_twelve_digits() -> None:
    message = _error(_with("environments.prod.account", "12ab"))
    assert "environments.prod.account: '12ab' is not a 12-digit AWS account id" in message


def test_pipeline_account_must_have_twelve_digits() -> None:
    assert "pipeline.account: '1234' is not a 12-digit AWS account id" in _error(_with("pipeline.account", "1234"))


def test_region_must_be_a_region_name() -> None:
    message = _error(_with("environments.dev.regions", ["eu-west-1", "Ireland"]))
    assert "environments.dev.regions.1: 'Ireland' is not an AWS region name" in message


def test_environment_needs_at_least_one_region() -> None:
    assert "environments.staging.regions:" in _error(_with("environments.staging.regions", []))


def test_regions_must_not_repeat() -> None:
    message = _error(_with("environments.prod.regions", ["eu-west-1", "eu-west-1"]))
    assert "environments.prod: regions ['eu-west-1', 'eu-west-1'] list a region twice" in message


def test_connection_arn_must_be_a_connection() -> None:
    message = _error(_with("pipeline.connection_arn", "arn:aws:s3:::bucket"))
    assert "pipeline.connection_arn: 'arn:aws:s3:::bucket' is not a CodeConnections connection ARN" in message


def test_legacy_codestar_connection_arn_is_accepted() -> None:
    arn = "arn:aws:codestar-connections:eu-west-1:111111111111:connection/00000000-0000-0000-0000-000000000000"
    assert parse_config(_with("pipeline.connection_arn", arn)).pipeline.connection_arn == arn


def test_repository_must_be_owner_slash_name() -> None:
    assert "pipeline.repository: 'just-a-name' is not a repository in the form 'owner/name'" in _error(
        _with("pipeline.repository", "just-a-name")
    )


def test_branch_must_be_a_valid_git_branch() -> None:
    assert "pipeline.branch: 'feature..x' is not a valid git branch name" in _error(
        _with("pipeline.branch", "feature..x")
    )


def test_log_retention_must_be_a_cloudwatch_period() -> None:
    message = _error(_with("environments.dev.log_retention_days", 10))
    assert "environments.dev.log_retention_days: 10 is not a CloudWatch Logs retention period" in message


def test_lambda_memory_has_lambda_bounds() -> None:
    message = _error(_with("environments.prod.function.memory_mb", 64))
    assert "environments.prod.function.memory_mb: 64: input should be greater than or equal to 128" in message


def test_capacity_must_be_positive() -> None:
    assert "environments.dev.table_capacity.read.min: 0: input should be greater than or equal to 1" in _error(
        _with("environments.dev.table_capacity.read", {"min": 0, "max": 5})
    )


def test_capacity_minimum_cannot_exceed_maximum() -> None:
    message = _error(_with("environments.prod.table_capacity.write", {"min": 50, "max": 5}))
    assert "environments.prod.table_capacity.write: min 50 is greater than max 5" in message


def test_function_timeout_fits_api_gateway() -> None:
    assert "environments.dev.function.timeout_seconds: 30: input should be less than or equal to 29" in _error(
        _with("environments.dev.function.timeout_seconds", 30)
    )


def test_provisioned_concurrency_must_fit_in_reserved_concurrency() -> None:
    raw = _with("environments.prod.function.provisioned_concurrency", {"min": 2, "max": 200})
    assert "environments.prod.function: provisioned_concurrency.max 200 exceeds reserved_concurrency 100" in _error(raw)


def test_cache_ttl_is_bounded_by_api_gateway() -> None:
    assert "environments.staging.api.cache_ttl_seconds: 7200: input should be less than or equal to 3600" in _error(
        _with("environments.staging.api.cache_ttl_seconds", 7200)
    )


def test_cors_origin_must_be_a_scheme_and_host() -> None:
    message = _error(_with("environments.prod.cors_allowed_origins", ["*"]))
    assert "environments.prod.cors_allowed_origins.0: '*' is not a CORS origin" in message


def _domain(**changes: str) -> dict[str, str]:
    return {
        "domain_name": "api.example.com",
        "certificate_arn": "arn:aws:acm:eu-west-1:333333333333:certificate/00000000-0000-0000-0000-000000000000",
        "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        "hosted_zone_name": "example.com",
        **changes,
    }


def test_custom_domain_is_optional_and_validated_when_given() -> None:
    assert parse_config(_default()).environments["prod"].custom_domain is None
    config = parse_config(_with("environments.staging.custom_domain", _domain()))
    assert config.environments["staging"].custom_domain is not None


def test_custom_domain_is_refused_for_an_environment_of_several_regions() -> None:
    message = _error(_with("environments.prod.custom_domain", _domain()))
    assert "environments.prod: custom_domain and regions: a custom domain serves one region" in message


def test_custom_domain_certificate_must_be_in_the_apis_region() -> None:
    other_region = "arn:aws:acm:us-east-1:222222222222:certificate/00000000-0000-0000-0000-000000000000"
    message = _error(_with("environments.staging.custom_domain", _domain(certificate_arn=other_region)))
    assert "needs a certificate of its own region eu-west-1, this one is in us-east-1" in message


def test_custom_domain_must_lie_in_its_hosted_zone() -> None:
    message = _error(_with("environments.staging.custom_domain", _domain(hosted_zone_name="example.org")))
    assert "custom_domain.domain_name 'api.example.com' is not in hosted zone 'example.org'" in message


def test_custom_domain_certificate_must_be_an_acm_arn() -> None:
    message = _error(_with("environments.staging.custom_domain", _domain(certificate_arn="arn:aws:iam::1:cert")))
    assert (
        "environments.staging.custom_domain.certificate_arn: 'arn:aws:iam::1:cert' is not an ACM certificate ARN"
        in message
    )


def test_uploads_default_to_a_gibibyte_and_a_million_records_in_every_environment() -> None:
    for env in parse_config(_default()).ordered_environments:
        assert (env.ingest.max_upload_bytes, env.ingest.max_records) == (1024**3, 1_000_000), env.name


def test_an_upload_may_not_exceed_what_one_presigned_put_takes() -> None:
    message = _error(_with("environments.prod.ingest.max_upload_bytes", 6 * 1024**3))
    assert "environments.prod.ingest.max_upload_bytes: 6442450944: input should be less than or equal to" in message


def test_an_upload_the_worker_could_not_validate_in_its_time_stops_synth_naming_the_keys() -> None:
    raw = _with("environments.staging.ingest.worker_timeout_seconds", 60)
    message = _error(raw)
    assert "environments.staging.ingest: max_upload_bytes, worker_timeout_seconds, worker_memory_mb:" in message
    assert "validating 1073741824 bytes may take 215 s at 1769 MB" in message


def test_a_smaller_worker_validates_proportionally_slower() -> None:
    raw = _with("environments.dev.ingest.worker_memory_mb", 512)
    assert "may take 742 s at 512 MB" in _error(raw)
    raw["environments"]["dev"]["ingest"]["max_upload_bytes"] = 100 * 1024**2
    assert parse_config(raw).environments["dev"].ingest.worker_memory_mb == 512


def test_an_upload_may_make_at_most_ten_thousand_chunks() -> None:
    raw = _with("environments.prod.ingest.max_records", 10_000_000)
    assert parse_config(raw).environments["prod"].ingest.chunk_records == 1000  # 10,000 chunks: the most
    raw["environments"]["prod"]["ingest"]["chunk_records"] = 999
    message = _error(raw)
    assert "environments.prod.ingest: max_records, chunk_records: an upload of 10000000 records" in message
    assert "makes 10011 chunks of 999; at most 10000" in message


def test_the_import_share_of_the_write_capacity_is_a_fraction() -> None:
    assert "import_write_share: 0: input should be greater than 0" in _error(
        _with("environments.dev.ingest.import_write_share", 0)
    )
    assert "import_write_share: 1.5: input should be less than or equal to 1" in _error(
        _with("environments.dev.ingest.import_write_share", 1.5)
    )


def test_wrong_type_names_the_value() -> None:
    message = _error(_with("environments.dev.function.memory_mb", "lots"))
    assert "environments.dev.function.memory_mb: 'lots': input should be a valid integer" in message


def test_account_given_as_a_number_is_rejected_with_its_type() -> None:
    assert "environments.dev.account: 111111111111: input should be a valid string" in _error(
        _with("environments.dev.account", 111111111111)
    )


def test_missing_setting_is_named() -> None:
    raw = _default()
    del raw["environments"]["staging"]["account"]
    assert "environments.staging.account: is required" in _error(raw)


def test_unknown_setting_is_named() -> None:
    assert "environments.dev.memory: is not a known setting" in _error(_with("environments.dev.memory", 512))


def test_environments_must_be_exactly_dev_staging_prod_in_order() -> None:
    raw = _default()
    raw["environments"] = {"dev": raw["environments"]["dev"], "prod": raw["environments"]["prod"]}
    message = _error(raw)
    assert "environments: must define exactly dev, staging, prod in that order, got dev, prod" in message or (
        "must define exactly dev, staging, prod in that order, got dev, prod" in message
    )


def test_unknown_environment_name_is_rejected() -> None:
    raw = _default()
    raw["environments"]["qa"] = raw["environments"]["dev"]
    assert "environments.qa.name: 'qa': input should be 'dev', 'staging' or 'prod'" in _error(raw)


def test_ignored_paths_fit_codepipeline_filter_limit() -> None:
    assert "pipeline.ignored_paths:" in _error(_with("pipeline.ignored_paths", [f"dir{i}/**" for i in range(9)]))


def test_commit_url_template_needs_the_commit_placeholder() -> None:
    message = _error(_with("pipeline.commit_url_template", "https://example.com/commits"))
    assert (
        "pipeline.commit_url_template: 'https://example.com/commits' "
        "must be an https URL containing the placeholder {commit}" in message
    )


def test_email_addresses_are_checked() -> None:
    assert "pipeline.approval_emails.0: 'not-an-email' is not an e-mail address" in _error(
        _with("pipeline.approval_emails", ["not-an-email"])
    )


def test_every_problem_is_reported_at_once() -> None:
    raw = _with("environments.prod.account", "12ab")
    raw["pipeline"]["region"] = "mars-1"
    message = _error(raw)
    assert "environments.prod.account" in message
    assert "pipeline.region" in message


def _context(**extra: Any) -> dict[str, Any]:
    return {"config": _default(), **extra}


def test_dotted_context_key_overrides_one_value() -> None:
    config = load_config(_context(**{"environments.prod.account": "444455556666"}))
    assert config.environments["prod"].account == "444455556666"


def test_dotted_context_values_are_parsed_as_json() -> None:
    config = load_config(
        _context(
            **{"environments.dev.regions": '["us-east-1", "us-west-2"]', "environments.dev.function.memory_mb": "512"}
        )
    )
    assert config.environments["dev"].regions == ("us-east-1", "us-west-2")
    assert config.environments["dev"].function.memory_mb == 512


def test_bad_dotted_override_is_reported_with_its_key() -> None:
    with pytest.raises(ConfigError, match=r"environments\.prod\.account: '12ab' is not a 12-digit AWS account id"):
        load_config(_context(**{"environments.prod.account": "12ab"}))


def test_dotted_override_into_a_value_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"pipeline\.branch: cannot set 'pipeline\.branch\.name'"):
        load_config(_context(**{"pipeline.branch.name": "x"}))


def test_config_file_is_merged_over_the_default(tmp_path: Path) -> None:
    overrides = tmp_path / "accounts.json"
    overrides.write_text(json.dumps({"environments": {"staging": {"account": "555566667777"}}}))
    config = load_config(_context(config_file=str(overrides)))
    assert config.environments["staging"].account == "555566667777"
    assert config.environments["staging"].regions == ("eu-west-1",), "untouched keys keep the default"


def test_relative_config_file_is_read_from_the_base_dir(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"pipeline": {"branch": "release"}}))
    assert load_config(_context(config_file="c.json"), base_dir=tmp_path).pipeline.branch == "release"


def test_dotted_keys_win_over_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"pipeline": {"branch": "release"}}))
    config = load_config(_context(config_file=str(tmp_path / "c.json"), **{"pipeline.branch": "hotfix"}))
    assert config.pipeline.branch == "hotfix"


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config_file: cannot read .*nope\.json"):
        load_config(_context(config_file=str(tmp_path / "nope.json")))


def test_config_file_with_invalid_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"config_file: .*bad\.json is not valid JSON"):
        load_config(_context(config_file=str(tmp_path / "bad.json")))


def test_context_without_configuration_is_rejected() -> None:
    with pytest.raises(ConfigError, match="config: the context holds no configuration object"):
        load_config({})


def test_single_account_setup_needs_no_cross_account_keys() -> None:
    raw = _default()
    for env in raw["environments"].values():
        env["account"] = raw["pipeline"]["account"]
    assert not parse_config(raw).has_cross_account_environment


def test_production_flag_belongs_to_prod_only() -> None:
    config = parse_config(_default())
    assert [env.is_production for env in config.ordered_environments] == [False, False, True]


@pytest.mark.parametrize(
    ("name", "kind", "percentage", "minutes"),
    [
        ("ALL_AT_ONCE", "all_at_once", 100, 0),
        ("CANARY_10_PERCENT_5_MINUTES", "canary", 10, 5),
        ("LINEAR_10_PERCENT_EVERY_1_MINUTE", "linear", 10, 1),
        ("CANARY_25_PERCENT_7_MINUTES", "canary", 25, 7),
        ("LINEAR_20_PERCENT_EVERY_3_MINUTES", "linear", 20, 3),
    ],
)
def test_predefined_and_custom_deployment_configs_are_understood(
    name: str, kind: str, percentage: int, minutes: int
) -> None:
    config = parse_config(_with("environments.prod.deployment", {"strategy": name}))
    shift = config.environments["prod"].deployment.traffic_shift
    assert (shift.kind, shift.percentage, shift.minutes) == (kind, percentage, minutes)


def test_default_deployment_configs_per_environment() -> None:
    config = parse_config(_default())
    assert [env.deployment.strategy for env in config.ordered_environments] == [
        "ALL_AT_ONCE",
        "CANARY_10_PERCENT_5_MINUTES",
        "LINEAR_10_PERCENT_EVERY_1_MINUTE",
    ]


def test_an_unknown_deployment_config_name_is_refused_with_the_accepted_forms() -> None:
    message = _error(_with("environments.prod.deployment", {"strategy": "BLUE_GREEN"}))
    assert "environments.prod.deployment.strategy: 'BLUE_GREEN' is not a deployment config: use ALL_AT_ONCE" in message
    assert "CANARY_<percent>_PERCENT_<minutes>_MINUTES" in message


def test_a_canary_of_a_hundred_percent_is_refused() -> None:
    message = _error(_with("environments.prod.deployment", {"strategy": "CANARY_100_PERCENT_5_MINUTES"}))
    assert "environments.prod.deployment.strategy:" in message


def test_the_rollback_drill_switch_is_refused_outside_dev() -> None:
    raw = _default()
    raw["environments"]["prod"]["function"]["simulate_failure"] = True
    assert "environments.prod: function.simulate_failure (the rollback drill) may only be switched on in dev" in _error(
        raw
    )
    raw = _default()
    raw["environments"]["dev"]["function"]["simulate_failure"] = True
    assert parse_config(raw).environments["dev"].function.simulate_failure is True


# --- what AWS accepts at deploy time, checked at synth --------------------------------------------


def test_reserved_concurrency_must_leave_lambdas_unreserved_hundred() -> None:
    raw = _with("environments.prod.lambda_concurrency_quota", 150)
    message = _error(raw)
    assert (
        "environments.prod.function.reserved_concurrency: 100 reserved or provisioned in account 333333333333"
        in message
    )
    assert "a quota of 150 (lambda_concurrency_quota) leaves 50" in message


def test_environments_sharing_an_account_share_its_concurrency() -> None:
    raw = _default()
    for name in ("dev", "staging", "prod"):
        raw["environments"][name]["account"] = "111111111111"
        raw["environments"][name]["lambda_concurrency_quota"] = 200
    message = _error(raw)
    assert (
        "environments.staging.function.reserved_concurrency, environments.prod.function.reserved_concurrency" in message
    )
    assert "120 reserved or provisioned in account 111111111111 eu-west-1" in message


def test_a_fresh_account_quota_of_ten_fits_no_reservation_at_all() -> None:
    raw = _with("environments.staging.lambda_concurrency_quota", 10)
    assert "leaves 0 after the 100 Lambda keeps unreserved" in _error(raw)
    raw["environments"]["staging"]["function"]["reserved_concurrency"] = None
    assert parse_config(raw).environments["staging"].committed_concurrency == 0


def test_provisioned_concurrency_without_reservation_counts_against_the_pool() -> None:
    raw = _with("environments.prod.function.reserved_concurrency", None)
    raw["environments"]["prod"]["lambda_concurrency_quota"] = 110
    assert "20 reserved or provisioned in account 333333333333" in _error(raw)


def test_the_default_dev_reserves_nothing_so_a_fresh_dev_account_deploys() -> None:
    assert parse_config(_default()).environments["dev"].committed_concurrency == 0


def test_the_connection_must_belong_to_the_pipeline_account() -> None:
    message = _error(_with("pipeline.account", "444455556666"))
    assert "pipeline.connection_arn and pipeline.account: the connection belongs to account 111111111111" in message


def test_a_pipeline_name_too_long_for_its_notification_rule_is_refused() -> None:
    name = "p" + "x" * 57  # 58 characters: "<name>-events" would be 65
    message = _error(_with("pipeline.name", name))
    assert f"pipeline.name: '{name}' makes the notification rule name '{name}-events' 65 characters long" in message
    assert "AWS allows 64" in message
    assert parse_config(_with("pipeline.name", name[:-1])).pipeline.name == name[:-1]


def test_each_stage_has_its_own_smoke_test_role_named_after_the_pipeline() -> None:
    config = parse_config(_default())
    assert (
        config.smoke_test_role_name("prod", "eu-central-1")
        == "serverless-python-delivery-smoke-tests-prod-eu-central-1"
    )
    assert config.smoke_test_role_arn("staging", "eu-west-1") == (
        "arn:aws:iam::111111111111:role/serverless-python-delivery-smoke-tests-staging-eu-west-1"
    )


def test_a_long_pipeline_name_still_gives_distinct_smoke_test_role_names_within_iam_limits() -> None:
    names = [
        parse_config(_with("pipeline.name", "p" + "x" * 40 + tail)).smoke_test_role_name("staging", "ap-southeast-2")
        for tail in ("-one", "-two")
    ]
    assert all(len(name) <= 64 and name.startswith("pxxx") for name in names)
    assert all(name.endswith("-smoke-tests-staging-ap-southeast-2") for name in names)
    assert names[0] != names[1]


# --- configuration comes from committed files only --------------------------------------------------


def _committed() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def test_committed_configuration_passes_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_EXPERIMENT", raising=False)
    refuse_uncommitted(_committed(), _committed())


@pytest.mark.parametrize(
    "override",
    [
        {"environments.prod.account": "444455556666"},
        {"config_file": "config/accounts.json"},
        {"pipeline.connection_arn": "arn:aws:codeconnections:eu-west-1:111111111111:connection/x"},
    ],
    ids=["dotted-key", "config-file", "pipeline-key"],
)
def test_a_cli_override_of_configuration_is_refused_naming_the_committed_alternative(
    monkeypatch: pytest.MonkeyPatch, override: dict[str, str]
) -> None:
    monkeypatch.delenv("LOCAL_EXPERIMENT", raising=False)
    with pytest.raises(ConfigError) as caught:
        refuse_uncommitted({**_committed(), **override}, _committed())
    message = str(caught.value)
    assert f"{next(iter(override))}: set outside the committed files" in message
    assert "cdk.json's context.config_file" in message
    assert "LOCAL_EXPERIMENT=1" in message


def test_a_changed_embedded_default_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_EXPERIMENT", raising=False)
    changed = _committed()
    changed["config"] = {**changed["config"], "compliance": {"evidence_retention_days": 1}}
    with pytest.raises(ConfigError, match="config: set outside the committed files"):
        refuse_uncommitted(changed, _committed())


def test_the_local_experiment_switch_allows_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_EXPERIMENT", "1")
    refuse_uncommitted({**_committed(), "environments.prod.account": "444455556666"}, _committed())


def test_a_config_file_outside_the_repository_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LOCAL_EXPERIMENT", raising=False)
    outside = tmp_path / "accounts.json"
    outside.write_text("{}")
    with pytest.raises(ConfigError, match=r"config_file: .* is outside the repository"):
        load_config(_context(config_file=str(outside)), base_dir=REPO_ROOT)
    with pytest.raises(ConfigError, match="is outside the repository"):
        load_config(_context(config_file="../accounts.json"), base_dir=REPO_ROOT)


def test_a_committed_config_file_inside_the_repository_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_EXPERIMENT", raising=False)
    config = load_config(_context(config_file="tests/fixtures/config/accounts.json"), base_dir=REPO_ROOT)
    assert config.environments["prod"].account == "444455556666"


# --- every bad configuration input stops synth naming the key or file; nothing is silently ignored ------


def _load_file(tmp_path: Path, content: bytes) -> str:
    (tmp_path / "c.json").write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(_context(config_file="c.json"), base_dir=tmp_path)
    return str(caught.value)


def _load_context(**extra: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(_context(**extra))
    return str(caught.value)


BAD_INPUTS: list[tuple[str, Any, str]] = [
    (
        "config file in Latin-1, not UTF-8",
        lambda tmp: _load_file(tmp, '{"pipeline": {"branch": "caf\u00e9"}}'.encode("latin-1")),
        "config_file: {tmp}/c.json is not UTF-8 text (byte 0xe9 at offset 28)",
    ),
    (
        "config file in UTF-16",
        lambda tmp: _load_file(tmp, '{"pipeline": {}}'.encode("utf-16-le")),
        "config_file: {tmp}/c.json is not valid JSON",
    ),
    (
        "misspelled top-level prefix of an override",
        lambda tmp: _load_context(**{"environment.prod.account": "abc"}),
        "environment.prod.account: 'environment' is not a configuration section (pipeline, environments, compliance)",
    ),
    (
        "misspelled key deep in an override",
        lambda tmp: _load_context(**{"environments.prod.function.memroy_mb": "512"}),
        "environments.prod.function.memroy_mb: is not a known setting",
    ),
    (
        "misspelled key deep in the config file",
        lambda tmp: _load_file(tmp, b'{"environments": {"dev": {"ingest": {"max_record": 5}}}}'),
        "environments.dev.ingest.max_record: is not a known setting",
    ),
    (
        "misspelled top-level key in the config file",
        lambda tmp: _load_file(tmp, b'{"pipelines": {"branch": "main"}}'),
        "pipelines: is not a known setting",
    ),
    (
        "boolean where an integer is expected",
        lambda tmp: _error(_with("environments.dev.function.memory_mb", True)),
        "environments.dev.function.memory_mb: True: input should be a valid integer",
    ),
    (
        "boolean where a number is expected",
        lambda tmp: _error(_with("environments.prod.alarms.api_5xx_rate_percent", True)),
        "environments.prod.alarms.api_5xx_rate_percent: True: input should be a valid number",
    ),
    (
        "integer where a boolean is expected",
        lambda tmp: _error(_with("environments.dev.api.waf_enabled", 1)),
        "environments.dev.api.waf_enabled: 1: input should be a valid boolean",
    ),
    (
        "text where an integer is expected",
        lambda tmp: _error(_with("environments.dev.table_capacity.read", {"min": "1", "max": 5})),
        "environments.dev.table_capacity.read.min: '1': input should be a valid integer",
    ),
    (
        "a fraction where an integer is expected",
        lambda tmp: _error(_with("environments.dev.log_retention_days", 7.5)),
        "environments.dev.log_retention_days: 7.5: input should be a valid integer",
    ),
]


@pytest.mark.parametrize(("case", "load", "expected"), BAD_INPUTS, ids=[case for case, _, _ in BAD_INPUTS])
def test_every_bad_configuration_input_stops_synth_naming_the_key_or_file(
    tmp_path: Path, case: str, load: Any, expected: str
) -> None:
    message = load(tmp_path)
    assert expected.format(tmp=tmp_path) in message, case
    assert message.startswith("invalid configuration:\n  ")
    assert all(line.startswith("  ") for line in message.splitlines()[1:]), "one line per problem"


def test_a_cdk_json_that_is_not_utf8_stops_synth_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "cdk.json"
    broken.write_bytes(b'{"context": {"config": "\xff"}}')
    monkeypatch.setattr(loading, "CDK_JSON", broken)
    with pytest.raises(ConfigError, match=r"cdk\.json: .*cdk\.json is not UTF-8 text \(byte 0xff at offset 24\)"):
        loading.cdk_json_context()


def test_cdk_feature_flags_and_lookups_are_not_taken_for_overrides() -> None:
    context = _context(
        **{
            "@aws-cdk/aws-lambda:recognizeVersionProps": True,
            "aws:cdk:enable-asset-metadata": True,
            "hosted-zone:account=111111111111:domainName=example.com:region=eu-west-1": {"Id": "Z1"},
        }
    )
    assert load_config(context).pipeline.branch == "main"


# --- stage gates ------------------------------------------------------------------------------------------------


def test_committed_gates_bake_staging_and_hold_prod_to_its_window() -> None:
    config = parse_config(_default())
    assert config.environments["staging"].gates.bake_minutes == 30
    window = config.environments["prod"].gates.deployment_window
    assert window is not None
    assert (window.cron, window.time_zone) == ("* * 8-16 ? * MON-THU *", "Europe/Dublin")
    assert config.environments["dev"].gates.deployment_window is None


def test_a_bake_shorter_than_one_alarm_evaluation_is_refused() -> None:
    message = _error(_with("environments.staging.gates", {"bake_minutes": 3}))
    assert "environments.staging: gates.bake_minutes: 3 minutes is shorter than one evaluation" in message
    assert "(5-minute periods)" in message


def test_no_bake_at_all_is_allowed() -> None:
    assert parse_config(_with("environments.staging.gates", {"bake_minutes": 0})).environments["staging"]


def test_a_bake_over_more_regions_than_one_condition_holds_is_refused() -> None:
    raw = _with(
        "environments.staging.regions",
        ["eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1", "eu-central-1"],
    )
    message = _error(raw)
    assert "environments.staging: gates.bake_minutes and regions:" in message
    assert "at most 5" in message


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("* 8-16 ? * MON-THU", "is not a deployment window cron"),
        ("30 * 8-16 ? * MON-THU *", "the seconds field of a deployment window must be '*'"),
        ("* * 8-16 * * MON-THU *", "exactly one of day of month and day of week must be '?'"),
        ("* * 8-25 ? * MON-THU *", "hours field '8-25': 25 is outside 0-23"),
        ("* * 8-16 ? * MON-FUN *", "day of week field 'MON-FUN' may only hold"),
        ("* * 8-16 ? JAN-DEC MON-THU 1800", "year field '1800': 1800 is outside 1970-2199"),
    ],
)
def test_a_malformed_deployment_window_cron_is_refused_naming_the_field(cron: str, problem: str) -> None:
    message = _error(_with("environments.prod.gates.deployment_window", {"cron": cron, "time_zone": "UTC"}))
    assert "environments.prod.gates.deployment_window.cron:" in message
    assert problem in message


@pytest.mark.parametrize(
    "cron",
    ["0 0 9-17 ? * MON-FRI *", "* * 8-16 ? * MON-THU *", "* 0/30 22-23 ? * SAT,SUN", "* * * L * ? *", "* * 9 ? * 6L *"],
)
def test_deployment_window_crons_of_the_rule_reference_are_accepted(cron: str) -> None:
    window = {"cron": cron, "time_zone": "America/New_York"}
    gates = parse_config(_with("environments.prod.gates.deployment_window", window)).environments["prod"].gates
    assert gates.deployment_window is not None
    assert gates.deployment_window.cron == cron


@pytest.mark.parametrize("time_zone", ["Europe/Atlantis", "CST", "GMT+1", "UTC+25:00"])
def test_an_unknown_or_ambiguous_time_zone_is_refused(time_zone: str) -> None:
    window = {"cron": "* * 8-16 ? * MON-THU *", "time_zone": time_zone}
    message = _error(_with("environments.prod.gates.deployment_window", window))
    assert f"environments.prod.gates.deployment_window.time_zone: {time_zone!r} is not a time zone such as" in message


@pytest.mark.parametrize("time_zone", ["UTC", "UTC+05:30", "UTC-03:00", "America/Argentina/Buenos_Aires"])
def test_time_zones_in_the_rule_reference_forms_are_accepted(time_zone: str) -> None:
    window = {"cron": "* * 8-16 ? * MON-THU *", "time_zone": time_zone}
    gates = parse_config(_with("environments.prod.gates.deployment_window", window)).environments["prod"].gates
    assert gates.deployment_window is not None
    assert gates.deployment_window.time_zone == time_zone
