"""Loading the registered models from local files, converting the GGUF decoder once.

The bundled decoder ships as a 4-bit GGUF file. transformers can de-quantize it to
float32, but that takes ~15-20 s, so the first load saves the result as safetensors in
the cache directory and every later start reads that (about a second).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from core.serving import gguf
from core.serving.registry import ModelSpec, RegistryError, package_folder
from core.serving.settings import is_offline

# progress(fraction in [0, 1], message) — the UI turns these into a progress bar.
Progress = Callable[[float, str], None]
CACHE_FORMAT = 1  # bump when the layout of the cache changes


def no_progress(fraction: float, message: str) -> None:
    return None


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's files are on disk, once resolved."""
    folder: Path           # a Hugging Face folder, or the folder holding the GGUF
    gguf_file: str = ""    # set for GGUF sources
    hub_id: str = ""       # set for hub sources (folder is then unused)

    @property
    def disk_bytes(self) -> int:
        if self.hub_id:
            return 0
        if self.gguf_file:
            return (self.folder / self.gguf_file).stat().st_size
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())


def resolve_files(spec: ModelSpec) -> ModelFiles:
    src = spec.source
    if src.type == "pypi-gguf":
        folder = package_folder(src.package)
        if not (folder / src.file).is_file():
            raise RegistryError(f"{spec.name}: {src.file} not found in {folder}")
        return ModelFiles(folder=folder, gguf_file=src.file)
    if src.type == "pypi-folder":
        folder = package_folder(src.package) / src.subdir
    elif src.type == "folder":
        folder = Path(src.path).expanduser()
    else:
        return ModelFiles(folder=Path("."), hub_id=src.repo_id)
    if not (folder / "config.json").is_file():
        raise RegistryError(f"{spec.name}: no config.json in {folder}")
    return ModelFiles(folder=folder)


def cache_folder(cache_dir: Path, spec: ModelSpec, files: ModelFiles) -> Path:
    """One folder per (model, GGUF file version, cache format)."""
    st = (files.folder / files.gguf_file).stat()
    return cache_dir / "models" / f"{spec.name}-{st.st_size}-{int(st.st_mtime)}-v{CACHE_FORMAT}"


def _atomic_save(target: Path, save: Callable[[Path], None]) -> None:
    """Write into a temporary sibling folder, then rename: readers never see half a cache."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        save(tmp)
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.exists():  # a concurrent writer won the race: that is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _from_hub(load: Callable, repo_id: str, **kwargs):
    """Load from the Hugging Face hub cache; explain how to download when the app is offline."""
    try:
        return load(repo_id, **kwargs)
    except OSError as exc:
        if is_offline():
            raise RegistryError(f"{repo_id} is not in the local Hugging Face cache and downloads are off; "
                                "start the app once with HF_HUB_OFFLINE=0 to download it") from exc
        raise


def load_tokenizer(spec: ModelSpec, files: ModelFiles, cache_dir: Path, progress: Progress = no_progress):
    from transformers import AutoTokenizer

    if files.hub_id:
        return _from_hub(AutoTokenizer.from_pretrained, files.hub_id)
    if not files.gguf_file:
        return AutoTokenizer.from_pretrained(files.folder)
    cached = cache_folder(cache_dir, spec, files) / "tokenizer"
    if (cached / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(cached)
    progress(0.05, "Reading the tokenizer out of the GGUF file (first run only)…")
    tok = AutoTokenizer.from_pretrained(files.folder, gguf_file=files.gguf_file)
    # The GGUF tokenizer does not know the model's context window; its header does. Store it with the tokenizer.
    tok.model_max_length = gguf.context_length(files.folder / files.gguf_file)
    try:
        _atomic_save(cached, tok.save_pretrained)
    except OSError as exc:  # a read-only cache is slower, not fatal
        progress(0.1, f"Could not cache the tokenizer ({exc}); continuing.")
    return tok


def weights_dtype(spec: ModelSpec, device: torch.device) -> torch.dtype:
    """The registry's dtype; "auto" is bfloat16 on a CUDA GPU (half the memory, tensor cores) and float32 on the
    CPU and Apple GPUs, where bfloat16 matmuls are slower and the labs compare against float32."""
    if spec.dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, spec.dtype)


def load_model(spec: ModelSpec, files: ModelFiles, cache_dir: Path, device: torch.device,
               progress: Progress = no_progress) -> torch.nn.Module:
    """Load a registered model with fast (sdpa) attention, in `weights_dtype`; attention maps switch to eager."""
    from transformers import AutoModel, AutoModelForCausalLM

    auto = AutoModelForCausalLM if spec.kind == "causal-lm" else AutoModel
    dtype = weights_dtype(spec, device)
    kwargs = dict(dtype=torch.float32, attn_implementation="sdpa")
    if files.hub_id:
        progress(0.2, f"Loading {files.hub_id} from the Hugging Face cache…")
        model = _from_hub(auto.from_pretrained, files.hub_id, **kwargs)
    elif not files.gguf_file:
        model = auto.from_pretrained(files.folder, **kwargs)
    else:
        cached = cache_folder(cache_dir, spec, files) / "model"
        if (cached / "config.json").is_file():
            progress(0.5, "Loading the converted model from the cache…")
            model = auto.from_pretrained(cached, **kwargs)
        else:
            progress(0.2, "De-quantizing the 4-bit GGUF to float32 (first run only, ~20 s)…")
            t0 = time.perf_counter()
            model = auto.from_pretrained(files.folder, gguf_file=files.gguf_file, **kwargs)
            progress(0.8, f"Converted in {time.perf_counter() - t0:.0f} s; saving it to the cache for next time…")
            # A GGUF-loaded model refuses save_pretrained until its quantization config is dropped.
            if getattr(model, "hf_quantizer", None) is not None:
                model.hf_quantizer.remove_quantization_config(model)
            try:
                _atomic_save(cached, model.save_pretrained)
            except OSError as exc:
                progress(0.85, f"Could not cache the converted model ({exc}); continuing.")
    model.eval()
    model.requires_grad_(False)
    return model.to(device=device, dtype=dtype)     # loaded (and cached) in float32, then cast
