import pytest
import torch

from core.serving import device
from core.serving.device import CUDA_MARGIN_BYTES, CUDA_NEEDED_BYTES, describe_device, pick_device
from core.serving.loaders import _atomic_save


def test_device_override_and_default():
    assert pick_device("cpu").type == "cpu"
    best = pick_device("")
    cuda = torch.cuda.is_available() and device.cuda_has_room()
    assert best.type == ("cuda" if cuda else "cpu" if torch.cuda.is_available() else
                         "mps" if torch.backends.mps.is_available() else "cpu")
    assert describe_device(torch.device("cpu")).startswith("CPU · ")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_an_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")


def fake_cuda(monkeypatch, free: int, total: int = 80_000_000_000) -> None:
    """A CUDA card with `free` bytes free (no GPU here: torch.cuda's answers are patched)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *args: (free, total))


def test_the_automatic_choice_leaves_a_full_gpu_to_the_model_server(monkeypatch, caplog):
    """vLLM took 90% of an 80 GB card: 8 GB are left, enough; 1 GB left (a second engine) is not."""
    fake_cuda(monkeypatch, free=8_000_000_000)
    assert pick_device("").type == "cuda"
    fake_cuda(monkeypatch, free=CUDA_NEEDED_BYTES + CUDA_MARGIN_BYTES - 1)
    with caplog.at_level("WARNING", logger="genai_lab"):
        assert pick_device("").type == "cpu"
    assert len(caplog.records) == 1 and "run on the CPU" in caplog.text and "GENAI_LAB_DEVICE=cuda" in caplog.text
    assert pick_device("cpu").type == "cpu"
    caplog.clear()
    assert pick_device("cuda").type == "cuda" and not caplog.records    # asked for explicitly: obeyed, no check


def test_a_gpu_that_cannot_report_its_memory_is_not_used_by_default(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def broken(*args):
        raise RuntimeError("CUDA error: out of memory")
    monkeypatch.setattr(torch.cuda, "mem_get_info", broken)
    with caplog.at_level("WARNING", logger="genai_lab"):
        assert pick_device("").type == "cpu"
    assert "could not report its free memory" in caplog.text


def test_atomic_save_never_leaves_half_a_cache(tmp_path):
    target = tmp_path / "models" / "m"

    def broken(folder):
        (folder / "config.json").write_text("{}")
        raise OSError("disk full")

    with pytest.raises(OSError):
        _atomic_save(target, broken)
    assert not target.exists() and list(target.parent.iterdir()) == []   # temporary folder removed

    _atomic_save(target, lambda folder: (folder / "config.json").write_text("{}"))
    assert (target / "config.json").read_text() == "{}"
    # A second writer finding the cache already there (another process won the race) is fine.
    _atomic_save(target, lambda folder: (folder / "config.json").write_text('{"late": 1}'))
    assert (target / "config.json").exists()
