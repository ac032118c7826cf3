import copy
import re
from pathlib import Path

import pytest
import yaml

from jne.config import load_config, load_schema, validate_config
from jne.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = {
    "datasets": {
        "demo": {"source": "demo", "subjects": ["01"], "layers": ["3"]}
    }
}


def minimal(**changes):
    config = copy.deepcopy(MINIMAL)
    config.update(changes)
    return config


def test_demo_config_is_valid():
    config = load_config(ROOT / "config" / "config.yaml")
    assert config["datasets"]["demo"]["source"] == "demo"


def test_defaults_filled_in():
    config = validate_config(minimal())
    assert config["prepare"]["zscore_responses"] == "session"
    assert config["jacobian"]["max_memory_gb"] == 2
    assert set(config["models"]["mlp"]) == {"relu", "linear"}


def test_mlp_variant_defaults_filled_in():
    config = validate_config(
        minimal(models={"mlp": {"wide": {"hidden_size": 2048}}})
    )
    wide = config["models"]["mlp"]["wide"]
    assert wide["hidden_size"] == 2048
    assert wide["activation"] == "relu"
    assert wide["patience"] == 8


def test_misspelt_key_named_with_suggestion():
    config = minimal()
    config["datasets"]["demo"]["layres"] = ["3"]
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    message = str(error.value)
    assert "datasets.demo.layres" in message
    assert "Did you mean 'layers'?" in message


def test_invalid_enum_lists_choices():
    config = minimal(models={"mlp": {"x": {"activation": "reul"}}})
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    message = str(error.value)
    assert "'reul'" in message
    assert "models.mlp.x.activation" in message
    assert "relu, gelu, tanh, silu, identity" in message


def test_out_of_range_value_named():
    with pytest.raises(ConfigError, match=r"prepare.test_fraction.*< 1"):
        validate_config(minimal(prepare={"test_fraction": 1.5}))


def test_wrong_type_named():
    with pytest.raises(ConfigError, match=r"jacobian.max_memory_gb.*number"):
        validate_config(minimal(jacobian={"max_memory_gb": "2"}))


def test_reserved_model_name_rejected():
    with pytest.raises(ConfigError, match="reserved"):
        validate_config(minimal(models={"mlp": {"ridge": {}}}))


def test_fractions_leaving_no_training_rejected():
    config = minimal(prepare={"test_fraction": 0.6, "val_fraction": 0.5})
    with pytest.raises(ConfigError, match="no training stimuli"):
        validate_config(config)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")


def test_missing_schema_says_how_to_install(tmp_path):
    with pytest.raises(ConfigError, match="pip install -e") as error:
        load_schema(tmp_path / "config.schema.yaml")
    assert str(tmp_path) in str(error.value)


def test_jne_bootstrap_below_ten_rejected():
    config = minimal(jacobian={"n_bootstrap": 0})
    with pytest.raises(ConfigError, match="n_bootstrap"):
        validate_config(config)


def test_invalid_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("datasets: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def _schema_keys(schema):
    """Yield every property name the schema defines."""
    if "$ref" in schema:
        schema = load_schema()["$defs"][schema["$ref"].split("/")[-1]]
    for name, sub in schema.get("properties", {}).items():
        yield name
        yield from _schema_keys(sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _schema_keys(extra)


def test_every_schema_key_documented():
    readme = (ROOT / "config" / "README.md").read_text()
    documented = {
        part
        for key in re.findall(r"`([a-z_.]+)`", readme)
        for part in key.split(".")
    }
    missing = sorted(set(_schema_keys(load_schema())) - documented)
    assert missing == []


def test_every_schema_key_has_description():
    def walk(schema, path):
        if "$ref" in schema:
            schema = load_schema()["$defs"][schema["$ref"].split("/")[-1]]
        for name, sub in schema.get("properties", {}).items():
            assert "description" in sub or sub.get("type") == "object", (
                f"{path}{name} has no description"
            )
            walk(sub, f"{path}{name}.")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            walk(extra, path + "*.")

    walk(load_schema(), "")


def test_demo_config_sets_every_section():
    with open(ROOT / "config" / "config.yaml") as f:
        raw = yaml.safe_load(f)
    sections = set(load_schema()["properties"])
    assert sections == set(raw)


def test_unknown_linear_model_rejected():
    with pytest.raises(ConfigError, match="report.linear_model"):
        validate_config(minimal(report={"linear_model": "lasso"}))


@pytest.mark.parametrize("value", [16.0, True])
def test_integer_key_rejects_float_and_bool(value):
    config = minimal(
        models={"mlp": {"relu": {"activation": "relu", "hidden_size": value}}}
    )
    with pytest.raises(ConfigError, match="hidden_size"):
        validate_config(config)


def test_float_seed_rejected():
    config = minimal(
        models={"mlp": {"relu": {"activation": "relu", "seeds": [0.0]}}}
    )
    with pytest.raises(ConfigError, match="seeds"):
        validate_config(config)


def test_repeated_key_rejected(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(
        "datasets:\n  demo: {source: demo, subjects: ['01'], layers: ['3']}\n"
        "  demo: {source: demo, subjects: ['02'], layers: ['5']}\n"
    )
    with pytest.raises(ConfigError, match="'demo' appears twice") as error:
        load_config(path)
    assert "lines 2 and 3" in str(error.value)


def test_non_utf8_config_named(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("# caf\xe9\ndatasets: {}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)
