import pytest
import torch

from core.serving.device import describe_device, pick_device
from core.serving.loaders import _atomic_save


def test_device_override_and_default():
    assert pick_device("cpu").type == "cpu"
    best = pick_device("")
    assert best.type == ("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")
    assert describe_device(torch.device("cpu")).startswith("CPU · ")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_an_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")


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
