"""Model servers that speak the OpenAI chat API, on 127.0.0.1, for tests (and bench/serving.py):

- `FakeServer`: a stdlib server in this process whose answers each test scripts (`answer(chunk(...), ...)`): the
  log-probabilities vLLM sends, protocol failures, silence. A server that is down is `closed_port()`.
- `transformers_serve(folder)`: a real `transformers serve` subprocess serving a Hugging Face folder on the CPU (the
  bundled SmolLM2 via `served_folder`), standing in for vLLM; startup takes ~10 s, so start it once per module.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2 as httpx


# ---- a stdlib server whose answers each test scripts -------------------------------------------------------------
class FakeServer:
    """ThreadingHTTPServer on 127.0.0.1; `script(handler, body)` writes each POST's answer. Records requests.
    `backlog`: connections waiting to be accepted (Python's default is 5; uvicorn, under vLLM, keeps 2048)."""

    def __init__(self, backlog: int = 128):
        owner = self
        self.script = None
        self.requests: list[tuple[dict, dict]] = []      # (headers, JSON body)
        self.release = threading.Event()                 # set at teardown: frees handlers that wait
        self.proceed = threading.Event()
        self.client_left = threading.Event()
        self.models = ["fake-model"]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):                # keep the test output quiet
                pass

            def do_GET(self):
                owner.requests.append((dict(self.headers), {}))
                json_response(self, 200, {"object": "list", "data": [{"id": m} for m in owner.models]})

            def do_POST(self):
                self.connection.settimeout(10)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                owner.requests.append((dict(self.headers), body))
                owner.script(self, body)

        server = type("Server", (ThreadingHTTPServer,), {"request_queue_size": backlog})
        self.httpd = server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def backend(self, **kwargs):
        from core.serving.openai_backend import OpenAIBackend

        return OpenAIBackend(self.base_url, "fake-model", **kwargs)

    def close(self):
        self.release.set()
        self.proceed.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def json_response(handler, status: int, data: dict) -> None:
    raw = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def start_events(handler) -> None:
    """Headers of an event stream that ends when the connection closes (HTTP/1.0, no length)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()


def event(handler, data) -> None:
    handler.wfile.write(f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode())
    handler.wfile.flush()


def chunk(content: str = "", entries: list | None = None, finish: str | None = None, **extra) -> dict:
    """A chat.completion.chunk as vLLM streams it."""
    choice = {"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish, **extra}
    if entries is not None:
        choice["logprobs"] = {"content": entries}
    return {"id": "x", "object": "chat.completion.chunk", "choices": [choice]}


def entry(token: str, logprob: float, top: list[tuple[str, float]]) -> dict:
    return {"token": token, "logprob": logprob, "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}


def answer(*items):
    """A script: send each item (dict or raw string) as an event, then [DONE]."""
    def script(handler, body):
        start_events(handler)
        for item in items:
            event(handler, item)
        event(handler, "[DONE]")
    return script


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused): a model server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- a real `transformers serve` ---------------------------------------------------------------------------------
def serve_available() -> bool:
    from transformers.utils.import_utils import is_serve_available

    return is_serve_available()


@contextlib.contextmanager
def transformers_serve(folder: Path, log_path: Path, timeout: float = 180, extra_args: tuple[str, ...] = ()):
    """`transformers serve` on the CPU serving `folder` (the model name it answers to is str(folder)); yields its
    base URL (…/v1) once /health answers. RuntimeError with the log's end when it does not start. `extra_args`: more
    options of `transformers serve` (e.g. --continuous-batching)."""
    port = closed_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from transformers.cli.transformers import main; main()", "serve", str(folder),
             "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", *extra_args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + timeout
        while True:                              # wait for /health, or for the process to fail
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve did not become healthy:\n{log_path.read_text()[-3000:]}")
            try:
                process.wait(0.25)               # the poll interval; returns early if the server dies
            except subprocess.TimeoutExpired:
                pass
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def served_folder(target: Path) -> Path:
    """A Hugging Face folder for `transformers serve`: the service's converted SmolLM2 (weights and tokenizer are
    cached in two folders), with `do_sample: true` in generation_config.json so temperature and seed apply."""
    from core.serving.loaders import cache_folder, resolve_files
    from core.serving.registry import load_registry
    from core.serving.settings import Settings

    settings = Settings.from_env()
    registry = load_registry(settings.registry_path)
    spec = registry.get(registry.default_decoder)
    cached = cache_folder(settings.cache_dir, spec, resolve_files(spec))
    if not (cached / "model" / "config.json").is_file() or not (cached / "tokenizer" / "tokenizer.json").is_file():
        from core.serving.model_service import ModelService
        service = ModelService(settings, registry)          # converts the GGUF once
        service.load(kind="causal-lm")
        service.close()
    for part in ("model", "tokenizer"):
        for file in (cached / part).iterdir():
            if file.name != "generation_config.json":
                (target / file.name).symlink_to(file.resolve())
    config = json.loads((cached / "model" / "generation_config.json").read_text())
    (target / "generation_config.json").write_text(json.dumps({**config, "do_sample": True}))
    return target


# ---- the app's registry with a server model added ---------------------------------------------------------------
SERVED = "served-smollm2"          # the registry name tests give the server model


def registry_with_server(folder: Path, base_url: str, model: str = "fake-model", **extra) -> Path:
    """config/models.yaml plus a `backend: openai` decoder named SERVED (display name "Served SmolLM2"), written to
    `folder`; point GENAI_LAB_MODELS at it."""
    import yaml

    from core.serving.settings import PROJECT_ROOT

    data = yaml.safe_load((PROJECT_ROOT / "config" / "models.yaml").read_text(encoding="utf-8"))
    data["models"][SERVED] = {"kind": "causal-lm", "backend": "openai", "base_url": base_url, "model": model,
                              "display_name": "Served SmolLM2", "read_timeout": 60, **extra}
    path = Path(folder) / "models.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
