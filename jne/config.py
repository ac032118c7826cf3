"""Validate the workflow configuration and fill in defaults.

The schema lives in ``workflow/schemas/config.schema.yaml``. Validation runs
before any rule, so a misspelt key, a wrong type or an out-of-range value
stops the run with a message that names the key, the value and the valid
choices.
"""

import copy
import difflib
from pathlib import Path

import jsonschema
import yaml

from jne.errors import ConfigError

DEFAULT_SCHEMA = (
    Path(__file__).resolve().parent.parent
    / "workflow"
    / "schemas"
    / "config.schema.yaml"
)


def _with_defaults(validator_class):
    """Return a validator class that fills in schema defaults as it goes."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    # JSON Schema counts 16.0 as an integer, but torch and the wildcards
    # need a Python int (hidden_size: 16.0 crashed the fit, seeds: [0.0]
    # named a folder seed-0.0), so integer keys accept ints only.
    type_checker = validator_class.TYPE_CHECKER.redefine(
        "integer",
        lambda checker, instance: isinstance(instance, int)
        and not isinstance(instance, bool),
    )
    return jsonschema.validators.extend(
        validator_class,
        {"properties": set_defaults},
        type_checker=type_checker,
    )


def load_schema(path=DEFAULT_SCHEMA):
    """Read the YAML schema at ``path``."""
    if not Path(path).is_file():
        # The schema belongs to the workflow, so a wheel install lacks it.
        raise ConfigError(
            f"The config schema {path} was not found. It ships with the "
            "jne source tree (workflow/schemas/), not with an installed "
            "package: run from a clone, or install one with "
            "`pip install -e .`."
        )
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _key(path):
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error, origin):
    """Turn one jsonschema error into a sentence with the fix."""
    key = _key(error.absolute_path)
    validator = error.validator
    schema = error.schema

    if validator == "additionalProperties" and isinstance(
        error.instance, dict
    ):
        known = sorted(schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        parts = []
        for name in unknown:
            where = f"{key}.{name}" if error.absolute_path else name
            hint = difflib.get_close_matches(name, known, n=1)
            text = f"Unknown key '{where}' in {origin}."
            if hint:
                text += f" Did you mean '{hint[0]}'?"
            if known:
                text += f" Valid keys here: {', '.join(known)}."
            parts.append(text)
        return " ".join(parts)

    if validator == "enum":
        hint = difflib.get_close_matches(
            str(error.instance), [str(c) for c in schema["enum"]], n=1
        )
        text = (
            f"Invalid value {error.instance!r} for '{key}' in {origin}. "
            f"Valid choices: {', '.join(str(c) for c in schema['enum'])}."
        )
        if hint:
            text += f" Did you mean {hint[0]!r}?"
        return text

    if validator == "required":
        missing = [name for name in schema["required"]
                   if name not in error.instance]
        where = ", ".join(
            f"'{key}.{name}'" if error.absolute_path else f"'{name}'"
            for name in missing
        )
        return f"Missing key {where} in {origin}."

    if validator == "type":
        expected = schema["type"]
        if isinstance(expected, list):
            expected = " or ".join(expected)
        return (
            f"Invalid value {error.instance!r} for '{key}' in {origin}: "
            f"expected {expected}."
        )

    bounds = {
        "minimum": ">=",
        "maximum": "<=",
        "exclusiveMinimum": ">",
        "exclusiveMaximum": "<",
    }

    if validator in bounds:
        return (
            f"Invalid value {error.instance!r} for '{key}' in {origin}: "
            f"must be {bounds[validator]} {error.validator_value}."
        )

    if validator == "not" and isinstance(error.instance, str):
        return (
            f"Invalid name {error.instance!r} under '{key}' in {origin}: "
            "the name is reserved, choose another."
        )

    if validator == "pattern":
        return (
            f"Invalid name {error.instance!r} under '{key}' in {origin}: "
            "use only letters and digits (plus '_', '-' or '.' where the "
            f"schema allows), matching {error.validator_value}."
        )

    return f"Invalid value for '{key}' in {origin}: {error.message}."


def validate_config(config, schema=None, origin="the config"):
    """Validate ``config`` in place and fill in defaults.

    Parameters
    ----------
    config : dict
        Parsed configuration; modified in place.
    schema : dict or path, optional
        The schema, or a path to it. Defaults to the workflow's schema.
    origin : str
        How messages name the config (e.g. its file name).

    Returns
    -------
    dict
        ``config`` itself, with defaults filled in.

    Raises
    ------
    ConfigError
        Listing every problem found, one per line.
    """
    if schema is None or isinstance(schema, (str, Path)):
        schema = load_schema(schema or DEFAULT_SCHEMA)
    if not isinstance(config, dict):
        raise ConfigError(
            f"{origin} must be a mapping of keys to values, got "
            f"{type(config).__name__}."
        )
    validator_class = _with_defaults(
        jsonschema.validators.validator_for(schema)
    )
    validator = validator_class(schema)
    errors = sorted(
        validator.iter_errors(config), key=lambda e: list(e.absolute_path)
    )
    if errors:
        lines = [_describe(error, origin) for error in errors]
        raise ConfigError(
            "Invalid configuration:\n  - " + "\n  - ".join(lines)
        )
    _check_cross_references(config, origin)
    return config


def _check_cross_references(config, origin):
    """Check rules that a JSON schema cannot express."""
    low, high = config["jacobian"]["k_range"]
    if low > high:
        raise ConfigError(
            f"Invalid value {[low, high]} for 'jacobian.k_range' in {origin}: "
            "the first number must not exceed the second."
        )
    linear = config["report"]["linear_model"]
    if linear != "ridge" and linear not in config["models"]["mlp"]:
        raise ConfigError(
            f"Invalid value {linear!r} for 'report.linear_model' in {origin}:"
            f" use 'ridge' or one of the MLPs under 'models.mlp' "
            f"({', '.join(config['models']['mlp'])})."
        )
    fractions = config["prepare"]
    if fractions["test_fraction"] + fractions["val_fraction"] >= 1:
        raise ConfigError(
            f"'prepare.test_fraction' ({fractions['test_fraction']}) plus "
            f"'prepare.val_fraction' ({fractions['val_fraction']}) in {origin} "
            "leave no training stimuli: make their sum below 1."
        )


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that rejects a key given twice in one mapping.

    PyYAML keeps the last value of a repeated key without a word, so a
    config that defines the same model or dataset twice would silently
    run only the second definition.
    """

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:
                continue
            if first is not None:
                raise ConfigError(
                    f"The key {key!r} appears twice in one mapping, on "
                    f"lines {first} and {key_node.start_mark.line + 1}: "
                    "YAML would keep only the second. Merge or rename them."
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_yaml(path):
    """Read a YAML config file without validating it.

    Raises
    ------
    ConfigError
        If the file is missing, not UTF-8, not valid YAML, or repeats a key
        within one mapping; the message names the file.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=_UniqueKeyLoader) or {}
    except FileNotFoundError as error:
        raise ConfigError(f"Config file {path} not found.") from error
    except IsADirectoryError as error:
        raise ConfigError(
            f"Config file {path} is a folder: give a YAML file."
        ) from error
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"Config file {path} is not UTF-8 text ({error.reason} at byte "
            f"{error.start}): save it as UTF-8."
        ) from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def load_config(path):
    """Read a YAML config file, validate it and fill in defaults."""
    return validate_config(read_yaml(path), origin=str(path))
