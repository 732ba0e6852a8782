"""The server settings a workshop depends on (.streamlit/config.toml, read by `streamlit run` from the project root)."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def test_no_full_garbage_collection_after_every_script_run():
    """Streamlit's default runs gc.collect(2) after every run, fragment ticks included; with torch, transformers and
    plotly imported that is a long pause with the GIL held, multiplied by every participant's 2-second tick: with
    plotly and the models loaded (~230 ms measured here; docs/ARCHITECTURE.md, "Live updates")."""
    assert config()["runner"]["postScriptGC"] is False


def test_the_server_watches_no_files_and_never_reruns_on_save():
    server = config()["server"]
    assert server["fileWatcherType"] == "none" and server["runOnSave"] is False


def test_the_server_enforces_the_upload_sizes_the_pages_state():
    from core.labs.fine_tuning_peft import data
    from core.labs.rag_applications import uploads

    server, mb = config()["server"], 1024 * 1024
    assert server["maxUploadSize"] * mb == max(uploads.MAX_FILE_BYTES, data.MAX_UPLOAD_BYTES)
    assert server["maxWidgetStateSize"] <= 4 and server["maxMessageSize"] <= 50


def test_errors_show_no_internals():
    assert config()["client"]["showErrorDetails"] == "none"
    assert "%(asctime)s" in config()["logger"]["messageFormat"]
