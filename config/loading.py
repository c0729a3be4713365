"""The one reader of configuration: cdk.json's context (feature flags and the embedded default), the
committed config file it names, and, for a local experiment only, ``-c`` overrides.

The default lives in ``cdk.json`` under the context key ``config``. A team points it at its own
accounts with a file committed to the repository, selected in ``cdk.json`` by ``context.config_file``
(deep-merged over the default). What the pipeline deploys must be what its own build synthesizes from
a clean checkout, so configuration given anywhere else (``-c`` on the CLI, ``cdk.context.json``,
``~/.cdk.json``) is refused, unless ``LOCAL_EXPERIMENT=1`` is set for a local experiment; then dotted
keys such as ``-c environments.prod.account=444455556666`` apply last. Any invalid value stops synth
with a ``ConfigError`` whose message names the key and the problem.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.schema import AppConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"
CONFIG_CONTEXT_KEY = "config"
CONFIG_FILE_CONTEXT_KEY = "config_file"
_OVERRIDE_PREFIXES = ("pipeline.", "environments.", "compliance.")
# Set to 1 to synthesize with configuration that is not committed (-c overrides, a file outside the
# repository). Never set in the pipeline: its build runs `make synth` on the committed files only.
LOCAL_EXPERIMENT_ENV = "LOCAL_EXPERIMENT"
# What the CDK CLI passes by default and cdk.json does not switch off: asset metadata (which lets
# `sam local` find a function's code). Set by build_app() too, so every entry point writes the same templates.
CLI_DEFAULT_CONTEXT = {"aws:cdk:enable-asset-metadata": True}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names every offending key."""


def read_json_file(path: Path, key: str) -> Any:
    """A JSON file's content, or a ConfigError naming ``key`` and the file: missing, not UTF-8, not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"invalid configuration:\n  {key}: cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"invalid configuration:\n  {key}: {path} is not UTF-8 text (byte {error.object[error.start]:#04x} "
            f"at offset {error.start})"
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"invalid configuration:\n  {key}: {path} is not valid JSON: {error}") from None


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` block of cdk.json: feature flags and the embedded default configuration."""
    document = read_json_file(CDK_JSON, "cdk.json")
    if not isinstance(document, Mapping) or not isinstance(document.get("context"), Mapping):
        raise ConfigError(f"invalid configuration:\n  cdk.json: {CDK_JSON} has no context object")
    return dict(document["context"])


def committed_config() -> AppConfig:
    """The configuration as the committed files hold it (what the pipeline builds)."""
    return load_config(cdk_json_context(), base_dir=REPO_ROOT)


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] in ("missing", "extra_forbidden"):
            message = "is required" if item["type"] == "missing" else "is not a known setting"
        elif item["type"] != "value_error":
            message = f"{item['input']!r}: {message[:1].lower()}{message[1:]}"
        lines.append(f"{location}: {message}" if location else message)
    return "invalid configuration:\n  " + "\n  ".join(lines)


def parse_config(raw: Mapping[str, Any]) -> AppConfig:
    """Validate a raw configuration mapping; raise ConfigError naming every bad key."""
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_errors(error)) from None


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _parse_context_value(value: Any) -> Any:
    """`-c key=value` arrives as a string; accept JSON so numbers and lists keep their type."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _set_dotted(target: dict[str, Any], dotted_key: str, raw_value: Any) -> None:
    *parents, leaf = dotted_key.split(".")
    node = target
    for index, part in enumerate(parents):
        child = node.get(part)
        if not isinstance(child, dict):
            where = ".".join(parents[: index + 1])
            raise ConfigError(
                f"invalid configuration:\n  {where}: cannot set {dotted_key!r}, {where!r} is not a section"
            )
        node = child
    # A text setting keeps its text (an account id stays "0123..."); others are parsed as JSON.
    keep_text = isinstance(node.get(leaf), str) and isinstance(raw_value, str)
    node[leaf] = raw_value if keep_text else _parse_context_value(raw_value)


def _refuse_unknown_dotted_keys(context: Mapping[str, Any]) -> None:
    """A dotted context key is a configuration override; one under no known section (a misspelled
    ``environment.prod.account``) would otherwise be ignored without a word. CDK's own keys are not
    dotted paths: feature flags start with ``@``, lookups and settings hold ``:``."""
    sections = ", ".join(p.rstrip(".") for p in _OVERRIDE_PREFIXES)
    unknown = [
        k
        for k in sorted(context)
        if "." in k and not k.startswith(("@", *_OVERRIDE_PREFIXES)) and ":" not in k and "/" not in k
    ]
    if unknown:
        lines = [f"{k}: {k.split('.')[0]!r} is not a configuration section ({sections})" for k in unknown]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


def configuration_keys(context: Mapping[str, Any]) -> list[str]:
    """The context keys that carry configuration: the default, the file selector and dotted overrides."""
    return sorted(
        k for k in context if k in (CONFIG_CONTEXT_KEY, CONFIG_FILE_CONTEXT_KEY) or k.startswith(_OVERRIDE_PREFIXES)
    )


def local_experiment() -> bool:
    return os.environ.get(LOCAL_EXPERIMENT_ENV) == "1"


def refuse_uncommitted(effective: Mapping[str, Any], committed: Mapping[str, Any]) -> None:
    """Stop when configuration differs from what the committed files hold (a ``-c`` override, an entry of
    cdk.context.json or ~/.cdk.json): the pipeline's own build would synthesize something else, and
    self-mutation would then redeploy the pipeline towards it."""
    if local_experiment():
        return
    uncommitted = [
        k
        for k in configuration_keys({**committed, **effective})
        if _without_nulls(effective.get(k)) != _without_nulls(committed.get(k))
    ]
    if uncommitted:
        raise ConfigError(
            f"invalid configuration:\n  {', '.join(uncommitted)}: set outside the committed files (by -c, "
            f"cdk.context.json or ~/.cdk.json); the pipeline builds from committed files only: put the value "
            f"in the file cdk.json's context.{CONFIG_FILE_CONTEXT_KEY} names and commit it "
            f"(or set {LOCAL_EXPERIMENT_ENV}=1 for a local experiment)"
        )


def _without_nulls(value: Any) -> Any:
    """CDK context drops null members of objects (a null means "the default" here anyway)."""
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _config_file_path(config_file: Any, base_dir: Path | None) -> Path:
    """The file ``config_file`` names: inside the repository, unless this is a local experiment."""
    path = Path(str(config_file))
    if base_dir is None or local_experiment():
        return path if path.is_absolute() or base_dir is None else base_dir / path
    resolved = (base_dir / path).resolve()
    if path.is_absolute() or not resolved.is_relative_to(base_dir.resolve()):
        raise ConfigError(
            f"invalid configuration:\n  {CONFIG_FILE_CONTEXT_KEY}: {config_file} is outside the repository; "
            "the pipeline can only read committed files (a path relative to the repository root)"
        )
    return resolved


def load_config(context: Mapping[str, Any], base_dir: Path | None = None) -> AppConfig:
    """Build the configuration from CDK context: default, then config file, then dotted keys."""
    raw = context.get(CONFIG_CONTEXT_KEY)
    if isinstance(raw, str):
        raw = _parse_context_value(raw)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"invalid configuration:\n  {CONFIG_CONTEXT_KEY}: the context holds no configuration object")
    merged = _deep_merge({}, raw)

    config_file = context.get(CONFIG_FILE_CONTEXT_KEY)
    if config_file:
        path = _config_file_path(config_file, base_dir)
        overrides = read_json_file(path, CONFIG_FILE_CONTEXT_KEY)
        if not isinstance(overrides, Mapping):
            raise ConfigError(f"invalid configuration:\n  {CONFIG_FILE_CONTEXT_KEY}: {path} must hold a JSON object")
        merged = _deep_merge(merged, overrides)

    _refuse_unknown_dotted_keys(context)
    for key in sorted(k for k in context if k.startswith(_OVERRIDE_PREFIXES)):
        _set_dotted(merged, key, context[key])

    return parse_config(merged)
