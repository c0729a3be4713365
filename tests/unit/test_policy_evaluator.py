"""The IAM policy evaluator: matching, conditions, and the same-account, cross-account, service and KMS rules."""

from typing import Any

import pytest

from compliance.deployability.policy import (
    ContextValue,
    Decision,
    Principal,
    Request,
    action_matches,
    arn_matches,
    evaluate,
    is_allowed,
)

ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
REGION = "eu-west-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Worker"
OTHER_ROLE_ARN = f"arn:aws:iam::{OTHER_ACCOUNT}:role/Publisher"
ROLE = Principal.iam(ROLE_ARN)
OTHER_ROLE = Principal.iam(OTHER_ROLE_ARN)
BUCKET_ARN = "arn:aws:s3:::items-bucket"
OBJECT_ARN = f"{BUCKET_ARN}/uploads/a.json"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/Key1"
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:errors"
CLOUDWATCH = Principal.aws_service("cloudwatch.amazonaws.com", ACCOUNT, source_arn=ALARM_ARN, source_account=ACCOUNT)


def statement(effect: str = "Allow", action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": resource, **extra}
    return {key: value for key, value in body.items() if value is not None}


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def request(
    action: str = "s3:GetObject",
    resource: str = OBJECT_ARN,
    principal: Principal = ROLE,
    context: dict[str, ContextValue] | None = None,
) -> Request:
    return Request(principal=principal, action=action, resource=resource, context=context or {})


def allowed_with_condition(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    policy = document(statement(Condition=condition))
    return evaluate([policy], Request(ROLE, "s3:GetObject", OBJECT_ARN, context)).allowed


def denied_with_condition(condition: dict[str, Any], context: dict[str, Any]) -> Decision:
    policy = document(statement(), statement("Deny", Condition=condition))
    return evaluate([policy], Request(ROLE, "s3:GetObject", OBJECT_ARN, context))


# --- actions and resources --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("s3:Get*", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("S3:getobject", "s3:GetObject", True),
        ("kms:*", "kms:Decrypt", True),
        ("*", "sqs:SendMessage", True),
        ("s3:Put*", "s3:GetObject", False),
        ("sns:*", "sqs:SendMessage", False),
        ("s3:Get", "s3:GetObject", False),
    ],
    ids=[
        "exact",
        "star_suffix",
        "question_mark_is_one_character",
        "case_insensitive",
        "service_wildcard",
        "everything",
        "other_verb",
        "other_service",
        "no_implicit_prefix_match",
    ],
)
def test_action_matching(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        (BUCKET_ARN, BUCKET_ARN, True),
        ("*", TOPIC_ARN, True),
        (f"{BUCKET_ARN}/*", OBJECT_ARN, True),
        (
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:app:*",
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:app:log-stream:x",
            True,
        ),
        (f"arn:aws:sns:*:{ACCOUNT}:alarms", TOPIC_ARN, True),
        (f"arn:aws:sns:eu-*-?:{ACCOUNT}:alarms", TOPIC_ARN, True),
        ("arn:aws:sns:*:*:alarms", f"arn:aws:sns:{REGION}:{ACCOUNT}:team:alarms", False),
        ("arn:aws:s3:::Items-Bucket", BUCKET_ARN, False),
        (BUCKET_ARN, OBJECT_ARN, False),
        ("arn:aws:sns:*", TOPIC_ARN, True),
    ],
    ids=[
        "exact",
        "star_matches_any_arn",
        "resource_wildcard_spans_slashes",
        "resource_wildcard_spans_colons",
        "region_wildcard",
        "wildcards_within_a_segment",
        "wildcard_does_not_span_region_and_account_segments",
        "case_sensitive",
        "bucket_is_not_its_objects",
        "short_pattern_is_globbed_whole",
    ],
)
def test_arn_matching(pattern: str, arn: str, expected: bool) -> None:
    assert arn_matches(pattern, arn) is expected


# --- evaluate: allow, deny, NotAction, NotResource ----------------------------------------------------------------


def test_matching_allow_statement_allows_and_names_the_statement() -> None:
    decision = evaluate({"WorkerPolicy": document(statement(Sid="ReadUploads"))}, request())
    assert decision.allowed
    assert decision.reasons == ["allowed by WorkerPolicy statement ReadUploads"]


def test_no_matching_statement_is_an_implicit_deny() -> None:
    decision = evaluate([document(statement(action="s3:PutObject"))], request())
    assert not decision.allowed
    assert "implicitly denied" in decision.reasons[-1]


def test_explicit_deny_wins_over_allow_in_another_policy() -> None:
    policies = {"Allow": document(statement()), "Guard": document(statement("Deny", action="s3:*", Sid="NoS3"))}
    decision = evaluate(policies, request())
    assert not decision.allowed
    assert "explicitly denied by Guard statement NoS3" in decision.reasons


def test_single_statement_object_is_accepted() -> None:
    assert evaluate([{"Statement": statement()}], request()).allowed


def test_action_and_resource_lists_match_any_entry() -> None:
    policy = document(statement(action=["s3:PutObject", "s3:GetObject"], resource=[TOPIC_ARN, f"{BUCKET_ARN}/*"]))
    assert evaluate([policy], request()).allowed


def test_resource_outside_the_statement_is_not_allowed() -> None:
    assert not evaluate([document(statement(resource=TOPIC_ARN))], request()).allowed


@pytest.mark.parametrize(
    ("action", "expected"), [("s3:GetObject", True), ("iam:PassRole", False)], ids=["other_action", "listed_action"]
)
def test_not_action_allows_every_action_but_those_listed(action: str, expected: bool) -> None:
    policy = document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([policy], request(action=action)).allowed is expected


@pytest.mark.parametrize(
    ("resource", "denied"),
    [(OBJECT_ARN, False), (f"{BUCKET_ARN}/secret/k", True)],
    ids=["listed_resource_spared", "other_resource_denied"],
)
def test_not_resource_deny_denies_every_resource_but_those_listed(resource: str, denied: bool) -> None:
    policy = document(statement(), {"Effect": "Deny", "Action": "s3:*", "NotResource": f"{BUCKET_ARN}/uploads/*"})
    assert evaluate([policy], request(resource=resource)).allowed is not denied


def test_invalid_effect_is_an_error() -> None:
    with pytest.raises(ValueError, match="Effect"):
        evaluate([document(statement("Permit"))], request())


def test_policy_variable_in_allow_resource_does_not_grant() -> None:
    policy = document(statement(resource=f"{BUCKET_ARN}/${{aws:username}}/*"))
    assert not evaluate([policy], request()).allowed


def test_policy_variable_in_deny_resource_denies_conservatively() -> None:
    policy = document(statement(), statement("Deny", resource=f"{BUCKET_ARN}/${{aws:username}}/*"))
    decision = evaluate([policy], request())
    assert not decision.allowed
    assert "applied conservatively" in decision.reasons[-1]


# --- conditions -----------------------------------------------------------------------------------------------------

SOURCE = "aws:SourceAccount"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:ingest"


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {SOURCE: ACCOUNT}}, {SOURCE: ACCOUNT}, True),
        ({"StringEquals": {SOURCE: ACCOUNT}}, {SOURCE: OTHER_ACCOUNT}, False),
        ({"StringEquals": {"s3:prefix": "Uploads"}}, {"s3:prefix": "uploads"}, False),
        ({"StringNotEquals": {SOURCE: ACCOUNT}}, {SOURCE: OTHER_ACCOUNT}, True),
        ({"StringNotEquals": {SOURCE: ACCOUNT}}, {SOURCE: ACCOUNT}, False),
        ({"StringEqualsIgnoreCase": {"s3:prefix": "Uploads"}}, {"s3:prefix": "uploads"}, True),
        ({"StringNotEqualsIgnoreCase": {"s3:prefix": "Uploads"}}, {"s3:prefix": "uploads"}, False),
        ({"StringLike": {"s3:prefix": "uploads/*"}}, {"s3:prefix": "uploads/a/b"}, True),
        ({"StringLike": {"s3:prefix": "uploads/?"}}, {"s3:prefix": "uploads/ab"}, False),
        ({"StringNotLike": {"s3:prefix": "private/*"}}, {"s3:prefix": "uploads/a"}, True),
        ({"StringNotLike": {"s3:prefix": "private/*"}}, {"s3:prefix": "private/a"}, False),
        ({"ArnEquals": {"aws:SourceArn": QUEUE_ARN}}, {"aws:SourceArn": QUEUE_ARN}, True),
        ({"ArnEquals": {"aws:SourceArn": QUEUE_ARN}}, {"aws:SourceArn": f"{QUEUE_ARN}-dlq"}, False),
        ({"ArnLike": {"aws:SourceArn": f"arn:aws:sqs:*:{ACCOUNT}:*"}}, {"aws:SourceArn": QUEUE_ARN}, True),
        ({"ArnLike": {"aws:SourceArn": f"arn:aws:sqs:*:{OTHER_ACCOUNT}:*"}}, {"aws:SourceArn": QUEUE_ARN}, False),
        ({"ArnNotEquals": {"aws:SourceArn": QUEUE_ARN}}, {"aws:SourceArn": f"{QUEUE_ARN}-dlq"}, True),
        ({"ArnNotEquals": {"aws:SourceArn": QUEUE_ARN}}, {"aws:SourceArn": QUEUE_ARN}, False),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sqs:*"}}, {"aws:SourceArn": TOPIC_ARN}, True),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sqs:*"}}, {"aws:SourceArn": QUEUE_ARN}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, {}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": False}, False),
        ({"Bool": {"aws:MultiFactorAuthPresent": True}}, {"aws:MultiFactorAuthPresent": "true"}, True),
        ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
        ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, False),
        ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, True),
        ({"Null": {"aws:TokenIssueTime": "false"}}, {}, False),
        ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
        ({"NumericEquals": {"s3:max-keys": 10}}, {"s3:max-keys": "11"}, False),
        ({"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, False),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
        ({"NumericGreaterThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, False),
        ({"NumericGreaterThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10.5"}, True),
        ({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
        ({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"}, False),
    ],
    ids=[
        "string_equals_match",
        "string_equals_mismatch",
        "string_equals_is_case_sensitive",
        "string_not_equals_other_value",
        "string_not_equals_same_value",
        "string_equals_ignore_case",
        "string_not_equals_ignore_case",
        "string_like_star_spans_slashes",
        "string_like_question_mark_is_one_character",
        "string_not_like_other_value",
        "string_not_like_matching_value",
        "arn_equals_match",
        "arn_equals_mismatch",
        "arn_like_wildcards",
        "arn_like_other_account",
        "arn_not_equals_other_arn",
        "arn_not_equals_same_arn",
        "arn_not_like_other_service",
        "arn_not_like_matching",
        "bool_secure_transport_defaults_true",
        "bool_secure_transport_false",
        "bool_policy_value_may_be_a_json_boolean",
        "null_true_key_absent",
        "null_true_key_present",
        "null_false_key_present",
        "null_false_key_absent",
        "numeric_equals",
        "numeric_equals_policy_number_mismatch",
        "numeric_not_equals",
        "numeric_less_than",
        "numeric_less_than_is_strict",
        "numeric_less_than_equals",
        "numeric_greater_than_is_strict",
        "numeric_greater_than_decimal",
        "numeric_greater_than_equals",
        "numeric_non_number_context_never_matches",
    ],
)
def test_condition_operator(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed_with_condition(condition, context) is expected


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {SOURCE: [OTHER_ACCOUNT, ACCOUNT]}}, {SOURCE: ACCOUNT}, True),
        ({"StringNotEquals": {SOURCE: [OTHER_ACCOUNT, ACCOUNT]}}, {SOURCE: ACCOUNT}, False),
        ({"StringNotEquals": {SOURCE: [OTHER_ACCOUNT, "333333333333"]}}, {SOURCE: ACCOUNT}, True),
        (
            {"StringEquals": {SOURCE: ACCOUNT, "aws:SourceArn": QUEUE_ARN}},
            {SOURCE: ACCOUNT, "aws:SourceArn": TOPIC_ARN},
            False,
        ),
        (
            {"StringEquals": {SOURCE: ACCOUNT}, "ArnLike": {"aws:SourceArn": "arn:aws:sqs:*"}},
            {SOURCE: ACCOUNT, "aws:SourceArn": TOPIC_ARN},
            False,
        ),
        (
            {"StringEquals": {SOURCE: ACCOUNT}, "ArnLike": {"aws:SourceArn": "arn:aws:sqs:*"}},
            {SOURCE: ACCOUNT, "aws:SourceArn": QUEUE_ARN},
            True,
        ),
        ({"StringEquals": {"AWS:SOURCEACCOUNT": ACCOUNT}}, {"aws:SourceAccount": ACCOUNT}, True),
        ({"StringEquals": {"aws:TagKeys": "team"}}, {"aws:TagKeys": ["cost", "team"]}, True),
        ({"StringNotEquals": {"aws:TagKeys": "team"}}, {"aws:TagKeys": ["cost", "team"]}, False),
    ],
    ids=[
        "values_of_one_key_or",
        "negated_operator_values_and_any_equal_fails",
        "negated_operator_values_and_none_equal_holds",
        "keys_in_one_operator_and",
        "operators_in_a_block_and_one_fails",
        "operators_in_a_block_and_all_hold",
        "condition_key_names_are_case_insensitive",
        "unqualified_operator_over_a_multivalued_key_needs_one_value",
        "unqualified_negated_operator_over_a_multivalued_key_needs_every_value",
    ],
)
def test_condition_combination(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed_with_condition(condition, context) is expected


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEqualsIfExists": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}}, {}, True),
        (
            {"StringEqualsIfExists": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}},
            {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"},
            True,
        ),
        (
            {"StringEqualsIfExists": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}},
            {"kms:ViaService": "sns.eu-west-1.amazonaws.com"},
            False,
        ),
        ({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sqs:*"}}, {}, True),
    ],
    ids=["key_absent_holds", "key_present_matching_holds", "key_present_mismatch_fails", "arn_operator_key_absent"],
)
def test_if_exists_suffix(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed_with_condition(condition, context) is expected


LEADING = "dynamodb:LeadingKeys"


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"ForAllValues:StringLike": {LEADING: ["INGEST#*"]}}, {LEADING: ["INGEST#1", "INGEST#2"]}, True),
        ({"ForAllValues:StringLike": {LEADING: ["INGEST#*"]}}, {LEADING: ["INGEST#1", "ITEM#2"]}, False),
        ({"ForAllValues:StringLike": {LEADING: ["INGEST#*"]}}, {}, False),
        ({"ForAllValues:StringLike": {LEADING: ["INGEST#*"]}}, {LEADING: []}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "owner"]}}, {"aws:TagKeys": ["cost", "owner"]}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "owner"]}}, {"aws:TagKeys": ["cost"]}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}, {}, False),
        ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["team", "owner"]}, True),
        ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["team", "secret"]}, False),
        ({"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["team*"]}}, {}, True),
    ],
    ids=[
        "for_all_values_every_value_matches",
        "for_all_values_one_value_does_not",
        "for_all_values_missing_key_does_not_grant",
        "for_all_values_empty_key_does_not_grant",
        "for_any_value_one_value_matches",
        "for_any_value_none_match",
        "for_any_value_missing_key",
        "for_all_values_negated_operator",
        "for_all_values_negated_operator_one_excluded",
        "qualifier_with_if_exists",
    ],
)
def test_set_qualifier(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed_with_condition(condition, context) is expected


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalTag/team": "items"}},
        {"StringNotEquals": {"aws:PrincipalTag/team": "billing"}},
        {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"ForEveryValue:StringEquals": {"aws:TagKeys": "team"}},
        {"StringEquals": {SOURCE: "${aws:PrincipalAccount}"}},
    ],
    ids=[
        "missing_key",
        "missing_key_under_negated_operator",
        "unknown_date_operator",
        "unknown_ip_operator",
        "unknown_set_qualifier",
        "policy_variable_in_condition_value",
    ],
)
def test_undecidable_condition_never_grants(condition: dict[str, Any]) -> None:
    context: dict[str, ContextValue] = {
        "aws:CurrentTime": "2025-01-01T00:00:00Z",
        "aws:SourceIp": "10.1.2.3",
        "aws:TagKeys": ["team"],
    }
    policy = document(statement(Condition=condition))
    decision = evaluate([policy], Request(ROLE, "s3:GetObject", OBJECT_ARN, {SOURCE: ACCOUNT, **context}))
    assert not decision.allowed
    assert any("cannot be decided" in reason for reason in decision.reasons)


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalTag/team": "items"}},
        {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
        {"ForAllValues:StringEquals": {"aws:TagKeys": "team"}},
    ],
    ids=["missing_key", "unknown_operator", "for_all_values_missing_key"],
)
def test_undecidable_deny_applies_conservatively(condition: dict[str, Any]) -> None:
    decision = denied_with_condition(condition, {})
    assert not decision.allowed
    assert "applied conservatively" in decision.reasons[-1]


def test_deny_if_exists_with_absent_key_applies() -> None:
    decision = denied_with_condition({"StringNotEqualsIfExists": {SOURCE: ACCOUNT}}, {})
    assert not decision.allowed
    assert "applied conservatively" not in decision.reasons[-1]


def test_deny_whose_condition_fails_does_not_apply() -> None:
    assert denied_with_condition({"StringNotEquals": {SOURCE: ACCOUNT}}, {SOURCE: ACCOUNT}).allowed


# --- principals in resource policies ------------------------------------------------------------------------------

FEDERATED = Principal(account=ACCOUNT, federated="cognito-identity.amazonaws.com")


@pytest.mark.parametrize(
    ("principal_element", "caller", "expected"),
    [
        ("*", ROLE, True),
        ("*", CLOUDWATCH, True),
        ({"AWS": "*"}, ROLE, True),
        ({"AWS": ROLE_ARN}, ROLE, True),
        ({"AWS": [OTHER_ROLE_ARN, ROLE_ARN]}, ROLE, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Other"}, ROLE, False),
        ({"AWS": ACCOUNT}, ROLE, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ROLE, True),
        ({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, ROLE, False),
        ({"Service": "cloudwatch.amazonaws.com"}, CLOUDWATCH, True),
        ({"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]}, CLOUDWATCH, True),
        ({"Service": "cloudwatch.amazonaws.com"}, ROLE, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, CLOUDWATCH, False),
        ({"Federated": "cognito-identity.amazonaws.com"}, FEDERATED, True),
        ({"Federated": "cognito-identity.amazonaws.com"}, ROLE, False),
    ],
    ids=[
        "star_matches_a_role",
        "star_matches_a_service",
        "aws_star",
        "role_arn",
        "role_arn_in_a_list",
        "other_role",
        "account_id",
        "account_root",
        "other_account_root",
        "service",
        "service_in_a_list",
        "service_does_not_match_a_role",
        "account_root_does_not_match_a_service",
        "federated",
        "federated_does_not_match_a_role",
    ],
)
def test_resource_policy_principal(principal_element: Any, caller: Principal, expected: bool) -> None:
    policy = document(statement(action="sns:Publish", resource=TOPIC_ARN, Principal=principal_element))
    assert evaluate([policy], request("sns:Publish", TOPIC_ARN, caller)).allowed is expected


@pytest.mark.parametrize(("caller", "expected"), [(ROLE, True), (OTHER_ROLE, False)], ids=["listed", "other"])
def test_not_principal_deny_spares_only_the_listed_principal(caller: Principal, expected: bool) -> None:
    policy = document(statement(Principal="*"), statement("Deny", NotPrincipal={"AWS": ROLE_ARN}))
    assert evaluate([policy], request(principal=caller)).allowed is expected


def test_unsupported_principal_element_is_an_error() -> None:
    with pytest.raises(ValueError, match="Principal"):
        evaluate([document(statement(Principal="cloudwatch.amazonaws.com"))], request())


def test_resource_policy_statement_without_principal_is_an_error() -> None:
    with pytest.raises(ValueError, match="must name a Principal"):
        is_allowed(request(), {"WorkerPolicy": document(statement())}, document(statement()), ACCOUNT)


# --- request context ------------------------------------------------------------------------------------------------


def test_request_context_carries_principal_and_secure_transport_defaults() -> None:
    context = request().full_context()
    assert context["aws:securetransport"] == ["true"]
    assert context["aws:principalarn"] == [ROLE_ARN]
    assert context["aws:principalaccount"] == [ACCOUNT]
    assert context["aws:principalisawsservice"] == ["false"]


def test_service_principal_source_populates_source_arn_and_account() -> None:
    context = request(principal=CLOUDWATCH).full_context()
    assert context["aws:sourcearn"] == [ALARM_ARN]
    assert context["aws:sourceaccount"] == [ACCOUNT]
    assert context["aws:principalservicename"] == ["cloudwatch.amazonaws.com"]


def test_request_context_overrides_defaults() -> None:
    assert request(context={"aws:SecureTransport": False}).full_context()["aws:securetransport"] == ["false"]


# --- is_allowed: same account, cross account, services ------------------------------------------------------------

IDENTITY_ALLOWS = {"WorkerPolicy": document(statement())}
BUCKET_NAMES_ROLE = document(statement(Principal={"AWS": ROLE_ARN}))
BUCKET_NAMES_ACCOUNT = document(statement(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
BUCKET_NAMES_OTHER_ROLE = document(statement(Principal={"AWS": OTHER_ROLE_ARN}))
BUCKET_NAMES_OTHER_ACCOUNT = document(statement(Principal={"AWS": OTHER_ACCOUNT}))
BUCKET_DENIES_ROLE = document(statement("Deny", action="s3:*", Principal={"AWS": "*"}))


@pytest.mark.parametrize(
    ("caller", "identity", "resource_policy", "expected"),
    [
        (ROLE, IDENTITY_ALLOWS, None, True),
        (ROLE, {}, BUCKET_NAMES_ROLE, True),
        (ROLE, {}, BUCKET_NAMES_ACCOUNT, False),
        (ROLE, IDENTITY_ALLOWS, BUCKET_NAMES_ACCOUNT, True),
        (ROLE, {}, None, False),
        (ROLE, IDENTITY_ALLOWS, BUCKET_DENIES_ROLE, False),
        (ROLE, {"Guard": document(statement("Deny"))}, BUCKET_NAMES_ROLE, False),
        (OTHER_ROLE, {"PublisherPolicy": document(statement())}, None, False),
        (OTHER_ROLE, {}, BUCKET_NAMES_OTHER_ROLE, False),
        (OTHER_ROLE, {"PublisherPolicy": document(statement())}, BUCKET_NAMES_OTHER_ROLE, True),
        (OTHER_ROLE, {"PublisherPolicy": document(statement())}, BUCKET_NAMES_OTHER_ACCOUNT, True),
        (OTHER_ROLE, {"PublisherPolicy": document(statement())}, BUCKET_NAMES_ACCOUNT, False),
    ],
    ids=[
        "same_account_identity_policy_alone",
        "same_account_resource_policy_naming_the_role_alone",
        "same_account_resource_policy_naming_the_account_delegates_to_iam",
        "same_account_account_delegation_with_identity_policy",
        "same_account_nothing_allows",
        "same_account_resource_deny_overrides_identity_allow",
        "same_account_identity_deny_overrides_resource_allow",
        "cross_account_identity_policy_alone",
        "cross_account_resource_policy_alone",
        "cross_account_both_sides",
        "cross_account_resource_policy_naming_the_callers_account",
        "cross_account_resource_policy_naming_the_resource_account_only",
    ],
)
def test_is_allowed_identity_and_resource(
    caller: Principal, identity: dict[str, Any], resource_policy: dict[str, Any] | None, expected: bool
) -> None:
    decision = is_allowed(request(principal=caller), identity, resource_policy, resource_account=ACCOUNT)
    assert decision.allowed is expected, decision.reasons


TOPIC_ALLOWS_CLOUDWATCH = document(
    statement(
        action="sns:Publish",
        resource=TOPIC_ARN,
        Principal={"Service": "cloudwatch.amazonaws.com"},
        Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"}},
    )
)


@pytest.mark.parametrize(
    ("caller", "identity", "topic_policy", "expected"),
    [
        (CLOUDWATCH, {}, TOPIC_ALLOWS_CLOUDWATCH, True),
        (CLOUDWATCH, {}, None, False),
        (CLOUDWATCH, {"Anything": document(statement(action="*"))}, None, False),
        (
            Principal.aws_service(
                "cloudwatch.amazonaws.com", ACCOUNT, f"arn:aws:cloudwatch:{REGION}:{OTHER_ACCOUNT}:alarm:x"
            ),
            {},
            TOPIC_ALLOWS_CLOUDWATCH,
            False,
        ),
        (Principal.aws_service("events.amazonaws.com", ACCOUNT, ALARM_ARN), {}, TOPIC_ALLOWS_CLOUDWATCH, False),
    ],
    ids=[
        "resource_policy_allows_the_service",
        "no_resource_policy",
        "identity_policies_do_not_apply_to_services",
        "source_arn_condition_fails",
        "other_service",
    ],
)
def test_service_principal_needs_the_resource_policy(
    caller: Principal, identity: dict[str, Any], topic_policy: dict[str, Any] | None, expected: bool
) -> None:
    decision = is_allowed(request("sns:Publish", TOPIC_ARN, caller), identity, topic_policy, resource_account=ACCOUNT)
    assert decision.allowed is expected, decision.reasons


# --- is_allowed: KMS key policies -----------------------------------------------------------------------------------

KMS_IDENTITY = {"WorkerPolicy": document(statement(action=["kms:Decrypt", "kms:GenerateDataKey*"], resource=KEY_ARN))}
ROOT_KEY_POLICY = document(statement(action="kms:*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
ROLE_KEY_POLICY = document(statement(action="kms:Decrypt", Principal={"AWS": ROLE_ARN}))
OTHER_ROLE_KEY_POLICY = document(statement(action="kms:Decrypt", Principal={"AWS": OTHER_ROLE_ARN}))
OTHER_ACCOUNT_KEY_POLICY = document(
    statement(action="kms:Decrypt", Principal={"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"})
)
ADMIN_ONLY_KEY_POLICY = document(statement(action="kms:*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/Admin"}))
SERVICE_KEY_POLICY = document(
    statement(
        action=["kms:Decrypt", "kms:GenerateDataKey*"],
        Principal={"Service": "cloudwatch.amazonaws.com"},
        Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    )
)


@pytest.mark.parametrize(
    ("caller", "identity", "key_policy", "expected"),
    [
        (ROLE, {}, ROLE_KEY_POLICY, True),
        (ROLE, KMS_IDENTITY, ROOT_KEY_POLICY, True),
        (ROLE, {}, ROOT_KEY_POLICY, False),
        (ROLE, KMS_IDENTITY, None, False),
        (ROLE, KMS_IDENTITY, ADMIN_ONLY_KEY_POLICY, False),
        (
            ROLE,
            KMS_IDENTITY,
            document(*ROOT_KEY_POLICY["Statement"], statement("Deny", action="kms:*", Principal="*")),
            False,
        ),
        (OTHER_ROLE, {"PublisherPolicy": KMS_IDENTITY["WorkerPolicy"]}, OTHER_ROLE_KEY_POLICY, True),
        (OTHER_ROLE, {}, OTHER_ROLE_KEY_POLICY, False),
        (OTHER_ROLE, {"PublisherPolicy": KMS_IDENTITY["WorkerPolicy"]}, OTHER_ACCOUNT_KEY_POLICY, True),
        (OTHER_ROLE, {"PublisherPolicy": KMS_IDENTITY["WorkerPolicy"]}, ROOT_KEY_POLICY, False),
        (CLOUDWATCH, {}, SERVICE_KEY_POLICY, True),
        (CLOUDWATCH, {}, ROOT_KEY_POLICY, False),
        (
            Principal.aws_service("cloudwatch.amazonaws.com", OTHER_ACCOUNT, source_account=OTHER_ACCOUNT),
            {},
            SERVICE_KEY_POLICY,
            False,
        ),
    ],
    ids=[
        "key_policy_naming_the_role_alone",
        "root_delegation_with_identity_policy",
        "root_delegation_without_identity_policy",
        "no_key_policy_identity_policy_has_no_effect",
        "key_policy_without_root_identity_policy_has_no_effect",
        "key_policy_deny_wins",
        "cross_account_key_policy_naming_the_role_and_identity_policy",
        "cross_account_key_policy_naming_the_role_without_identity_policy",
        "cross_account_key_policy_naming_the_callers_account_and_identity_policy",
        "cross_account_key_policy_delegating_only_to_the_key_account",
        "service_named_in_the_key_policy",
        "service_through_root_delegation",
        "service_source_account_condition_fails",
    ],
)
def test_kms_requires_the_key_policy(
    caller: Principal, identity: dict[str, Any], key_policy: dict[str, Any] | None, expected: bool
) -> None:
    decision = is_allowed(request("kms:Decrypt", KEY_ARN, caller), identity, None, ACCOUNT, key_policy=key_policy)
    assert decision.allowed is expected, decision.reasons


def test_kms_action_treats_the_resource_policy_as_the_key_policy() -> None:
    kms_request = request("kms:Decrypt", KEY_ARN)
    assert not is_allowed(kms_request, KMS_IDENTITY, None, ACCOUNT).allowed
    assert is_allowed(kms_request, KMS_IDENTITY, ROOT_KEY_POLICY, ACCOUNT).allowed


def test_kms_key_policy_and_resource_policy_together_are_an_error() -> None:
    with pytest.raises(ValueError, match="not both"):
        is_allowed(request("kms:Decrypt", KEY_ARN), KMS_IDENTITY, ROOT_KEY_POLICY, ACCOUNT, key_policy=ROOT_KEY_POLICY)


def test_denial_reason_says_what_is_missing() -> None:
    decision = is_allowed(request(principal=OTHER_ROLE), {"PublisherPolicy": document(statement())}, None, ACCOUNT)
    assert decision.reasons[-1].startswith("denied: cross-account access needs both")


# --- TLS-only policies ------------------------------------------------------------------------------------------

TLS_ONLY_BUCKET = document(
    statement(
        "Deny",
        action="s3:*",
        resource=[BUCKET_ARN, f"{BUCKET_ARN}/*"],
        Principal={"AWS": "*"},
        Condition={"Bool": {"aws:SecureTransport": "false"}},
    )
)
TLS_ONLY_TOPIC = document(
    *TOPIC_ALLOWS_CLOUDWATCH["Statement"],
    statement(
        "Deny",
        action="sns:Publish",
        resource=TOPIC_ARN,
        Principal="*",
        Sid="AllowPublishThroughSSLOnly",
        Condition={"Bool": {"aws:SecureTransport": "false"}},
    ),
)


@pytest.mark.parametrize(("secure", "expected"), [(True, True), (False, False)], ids=["tls", "plain_http"])
def test_tls_only_bucket_policy(secure: bool, expected: bool) -> None:
    tls_request = request(context={"aws:SecureTransport": secure})
    assert is_allowed(tls_request, IDENTITY_ALLOWS, TLS_ONLY_BUCKET, ACCOUNT).allowed is expected


@pytest.mark.parametrize(("secure", "expected"), [(True, True), (False, False)], ids=["tls", "plain_http"])
def test_tls_only_topic_policy(secure: bool, expected: bool) -> None:
    publish = request("sns:Publish", TOPIC_ARN, CLOUDWATCH, {"aws:SecureTransport": secure})
    decision = is_allowed(publish, {}, TLS_ONLY_TOPIC, ACCOUNT)
    assert decision.allowed is expected
    assert expected or "explicitly denied by resource policy statement AllowPublishThroughSSLOnly" in decision.reasons


def test_default_request_is_over_tls() -> None:
    assert is_allowed(request(), IDENTITY_ALLOWS, TLS_ONLY_BUCKET, ACCOUNT).allowed
