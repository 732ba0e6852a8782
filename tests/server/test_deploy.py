"""The deployment files (deploy/): the environment file reads as systemd reads it, both units read that one file,
the nginx site passes `nginx -t` in its production and local forms, and the local cluster starts PostgreSQL, a
replica and nginx in front and stops exactly what it started."""
from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import shutil
import socket
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deploy import local_cluster
from deploy.local_cluster import REPLICA_HEADER, ROUTE_COOKIE, ClusterError, LocalCluster, local_site, nginx_bin

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CODE = [p for d in ("core", "components", "web") for p in (ROOT / d).rglob("*.py")]


def environment_file(path: Path) -> dict[str, str]:
    """Parse like systemd's EnvironmentFile=, failing on what it would read differently from what a person means:
    `export`, a comment after a value, a value quoted only in part."""
    values = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        assert not stripped.startswith("export "), f"line {n}: systemd does not know `export`: {line}"
        name, sep, value = stripped.partition("=")
        assert sep and NAME.match(name.strip()), f"line {n} is not NAME=value: {line}"
        value = value.strip()
        if value[:1] in "\"'":
            assert len(value) > 1 and value[-1] == value[0], f"line {n}: quote the whole value or none of it: {line}"
        else:
            assert "#" not in value and "\"" not in value and "'" not in value, (
                f"line {n}: a comment or quote after the value becomes part of it: {line}")
        values[name.strip()] = value
    return values


def test_the_environment_file_reads_as_systemd_reads_it_and_names_only_real_variables():
    text = (DEPLOY / "env.example").read_text(encoding="utf-8")
    values = environment_file(DEPLOY / "env.example")
    for name in ("GENAI_LAB_DATABASE_URL", "GENAI_LAB_PRESENTER_KEY", "GENAI_LAB_SECRET", "GENAI_LAB_PUBLIC_URL",
                 "GENAI_LAB_MODELS", "GENAI_LAB_CACHE", "GENAI_LAB_TORCH_THREADS", "GENAI_LAB_DEVICE",
                 "STREAMLIT_SERVER_COOKIE_SECRET", "HF_HUB_OFFLINE"):
        assert name in values, name
    assert values["HF_HUB_OFFLINE"] == "1"
    from core.serving.settings import Settings
    from core.workshop.workshop import presenter_key_problem

    Settings.from_env(values)                                     # the values the settings check accept
    assert presenter_key_problem(values["GENAI_LAB_PRESENTER_KEY"]), "the example key must be refused"
    code = "\n".join(p.read_text(encoding="utf-8") for p in CODE)
    for name in set(re.findall(r"GENAI_LAB_[A-Z_]+", text)):
        assert name in code, f"{name} is documented but nothing reads it"


def _unit(path: Path) -> list[tuple[str, str]]:
    return [tuple(s.strip() for s in line.split("=", 1)) for line in path.read_text(encoding="utf-8").splitlines()
            if "=" in line and not line.lstrip().startswith(("#", ";"))]


def test_both_units_read_the_same_environment_file_and_the_replicas_wait_for_the_conversion():
    replica = _unit(DEPLOY / "systemd" / "genai-lab@.service")
    convert = _unit(DEPLOY / "systemd" / "genai-lab-convert.service")
    files = [[v for k, v in unit if k == "EnvironmentFile"] for unit in (replica, convert)]
    assert files[0] == files[1] == ["/etc/genai-lab/env"]           # no comment: systemd would read it as the path
    assert any(k == "Wants" and "genai-lab-convert.service" in v for k, v in replica)
    assert any(k == "After" and "genai-lab-convert.service" in v for k, v in replica)
    assert dict(convert)["Type"] == "oneshot"
    module = dict(convert)["ExecStart"].split(" -m ", 1)[1].split()[0]
    assert (ROOT / (module.replace(".", "/") + ".py")).exists(), module
    assert "server.py" in dict(replica)["ExecStart"] and "127.0.0.1" in dict(replica)["ExecStart"]


def _nginx_t(tmp_path: Path, site: str) -> subprocess.CompletedProcess:
    (tmp_path / "site.conf").write_text(site)
    conf = tmp_path / "nginx.conf"
    conf.write_text(local_cluster.nginx_main_conf(tmp_path, tmp_path / "site.conf"))
    (tmp_path / "nginx-temp").mkdir(exist_ok=True)
    return subprocess.run([nginx_bin(), "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True,
                          timeout=30)


def test_the_local_site_is_the_production_site_with_local_ports_and_no_tls():
    site = local_site([4101, 4102], 4100)
    assert re.findall(r"server 127\.0\.0\.1:(\d+) max_fails=3 fail_timeout=10s;", site) == ["4101", "4102"]
    assert "listen 127.0.0.1:4100;" in site and "ssl_certificate" not in site
    assert "HttpOnly; SameSite=Lax" in site and "; Secure" not in site
    for directive in ("hash $genai_lab_route consistent;", "proxy_next_upstream error timeout;",
                      "proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;",
                      f"add_header {REPLICA_HEADER} $upstream_addr always;", "proxy_read_timeout 1h;"):
        assert directive in site, directive
    with pytest.raises(ValueError, match="listen 443"):
        local_site([4101], 4100, template=site)        # an edited production file fails loudly, not silently


@pytest.mark.skipif(not nginx_bin(), reason="nginx is not installed (apt-get install nginx-light; make test does)")
def test_both_forms_of_the_site_pass_nginx_t(tmp_path):
    done = _nginx_t(tmp_path, local_site([4101, 4102, 4103], 4100))
    assert done.returncode == 0, done.stderr
    if not shutil.which("openssl"):
        pytest.skip("openssl is missing: the production form needs a certificate to check")
    crt, key = tmp_path / "lab.crt", tmp_path / "lab.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=lab",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True, timeout=60)
    production = (DEPLOY / "nginx" / "genai-lab.conf").read_text(encoding="utf-8")
    production = production.replace("/etc/ssl/lab.example.org.crt", str(crt)).replace(
        "/etc/ssl/lab.example.org.key", str(key)).replace("listen 443 ssl;", "listen 127.0.0.1:4443 ssl;")
    done = _nginx_t(tmp_path, production)
    assert done.returncode == 0, done.stderr


def test_without_nginx_the_cluster_says_what_to_install_and_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(local_cluster, "nginx_bin", lambda: None)
    with pytest.raises(ClusterError, match="apt-get install nginx-light postgresql"):
        LocalCluster(replicas=1, run_dir=tmp_path / "run").up()
    assert not (tmp_path / "run").exists()


def _own_loop(coroutine):
    """Run `coroutine` on a thread of its own: after the browser tests, Playwright keeps an event loop running on
    pytest's thread, and asyncio.run() refuses to start inside it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _first_run(url: str) -> str:
    from tests.wire.client import Session

    async with await Session.open(url) as session:
        await session.wait_idle(timeout=60)
        return session.last_status


def _websocket_upgrade(url: str, cookie: str) -> str:
    host = url.split("//", 1)[1]
    key = base64.b64encode(os.urandom(16)).decode()
    address, port = host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as s:
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {url}\r\n"
                   f"Cookie: {cookie}\r\n\r\n").encode())
        return s.recv(4096).decode(errors="replace")


@pytest.mark.server
@pytest.mark.skipif(not nginx_bin(), reason="nginx is not installed (apt-get install nginx-light; make test does)")
def test_a_one_replica_cluster_serves_through_nginx_and_down_stops_everything_it_started(tmp_path):
    cluster = LocalCluster(replicas=1, run_dir=tmp_path / "run")
    try:
        cluster.up(timeout=60)
    except ClusterError as exc:
        if "PostgreSQL did not start" in str(exc) or "initdb" in str(exc):
            pytest.skip(str(exc))
        raise
    try:
        response = urllib.request.urlopen(cluster.url + "/_stcore/health", timeout=10)
        assert response.read() == b"ok"
        assert response.headers[REPLICA_HEADER] == f"127.0.0.1:{cluster.replica_ports[0]}"
        route = next(c for c in response.headers.get_all("Set-Cookie") if c.startswith(ROUTE_COOKIE + "="))
        assert "HttpOnly" in route and "Secure" not in route
        handshake = _websocket_upgrade(cluster.url, route.split(";")[0])
        assert handshake.startswith("HTTP/1.1 101"), handshake[:300]
        assert _own_loop(_first_run(cluster.url)) == "FINISHED_SUCCESSFULLY"   # a whole session through nginx
        import psycopg

        with psycopg.connect(cluster.database_url) as conn:     # the replica migrated the shared database
            assert conn.execute("SELECT to_regclass('rooms')").fetchone()[0] == "rooms"
        state = cluster._state
        pids = [*cluster.replica_pids, state["nginx"]["pid"], state["postgres"]["pid"]]
        pg_root = Path(state["postgres"]["root"])
        assert all(Path(f"/proc/{pid}").exists() for pid in pids) and pg_root.exists()
        assert cluster.database_url.startswith("postgresql://") and cluster.replica_alive(0)
        assert cluster.replica_log(0).exists()
        cluster.kill_replica(0)
        assert not cluster.replica_alive(0)
    finally:
        cluster.down()
    assert not any(local_cluster.same_process(r) for r in [state["nginx"], state["postgres"], *state["replicas"]])
    assert not pg_root.exists()
    assert not (cluster.run_dir / local_cluster.STATE).exists()


def _health(url: str, route: str):
    return urllib.request.urlopen(urllib.request.Request(url + "/_stcore/health",
                                                         headers={"Cookie": f"{ROUTE_COOKIE}={route}"}), timeout=10)


@pytest.mark.server
@pytest.mark.skipif(not nginx_bin(), reason="nginx is not installed (apt-get install nginx-light; make test does)")
def test_a_dead_replicas_browsers_are_served_by_another():
    with LocalCluster(replicas=2) as cluster:
        first = f"127.0.0.1:{cluster.replica_ports[0]}"
        route = next(r for r in (secrets.token_hex(8) for _ in range(200))
                     if _health(cluster.url, r).headers[REPLICA_HEADER] == first)
        assert _health(cluster.url, route).headers[REPLICA_HEADER] == first          # sticky
        cluster.kill_replica(0)
        answers = [_health(cluster.url, route) for _ in range(5)]
        assert [a.read() for a in answers] == [b"ok"] * 5                            # retried on the live one
        assert answers[-1].headers[REPLICA_HEADER] == f"127.0.0.1:{cluster.replica_ports[1]}"
        run_dir = cluster.run_dir
    assert not run_dir.exists()                                   # a temp run folder goes with the cluster


async def _open_page_survives_a_reload(cluster) -> tuple[str, str, str]:
    """(status of a rerun on a page opened before `nginx -s reload`, of a run on a page opened after, its replica);
    the rerun must really have run: `runs_started` counts it."""
    from tests.wire.client import Session

    async with await Session.open(cluster.url) as before:
        await before.wait_idle(timeout=60)
        done = subprocess.run([nginx_bin(), "-p", str(cluster.run_dir), "-c", str(cluster.run_dir / "nginx.conf"),
                               "-s", "reload"], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        runs = before.runs_started
        await before.rerun()                      # the old worker keeps serving the socket it holds
        await before.wait_for(lambda session: session.runs_started > runs and session.idle, 60, "the rerun")
        async with await Session.open(cluster.url) as after:       # new browsers reach the new workers
            await after.wait_idle(timeout=60)
            return before.last_status, after.last_status, after.replica


@pytest.mark.server
@pytest.mark.skipif(not nginx_bin(), reason="nginx is not installed (apt-get install nginx-light; make test does)")
def test_an_open_page_keeps_working_while_nginx_reloads_its_configuration():
    """`systemctl reload nginx` mid-workshop (a replica added to the upstream): pages already open keep their
    socket, and new ones get in."""
    with LocalCluster(replicas=1) as cluster:
        before, after, replica = _own_loop(_open_page_survives_a_reload(cluster))
        assert before == after == "FINISHED_SUCCESSFULLY"
        assert replica == f"127.0.0.1:{cluster.replica_ports[0]}"
