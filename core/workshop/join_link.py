"""The address participants open to join a room: one they can reach from their own phones.

The presenter's browser often shows http://localhost:8501, which on a participant's phone is the phone itself. In
order of preference: GENAI_LAB_PUBLIC_URL (set by whoever runs the server, e.g. behind a proxy), the address the
presenter's browser used when it is not a loopback one, the machine's own network address, and only then
localhost, with a warning that says what to do.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LIVE_PATH = "/live-quiz"
PUBLIC_URL_ENV = "GENAI_LAB_PUBLIC_URL"


@dataclass(frozen=True)
class JoinLink:
    url: str
    source: str              # "setting", "browser", "network" or "localhost"
    warning: str = ""        # said to the presenter when participants may not reach the link


def is_loopback(host: str) -> bool:
    host = (host or "").strip("[]").lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def network_address() -> str | None:
    """The machine's address on its local network (the interface a packet out would take), or None.

    Connecting a UDP socket sends nothing; it only asks the kernel which interface it would use."""
    for target in ("10.255.255.255", "192.168.255.255"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((target, 1))
                address = s.getsockname()[0]
            if address and not is_loopback(address) and address != "0.0.0.0":
                return address
        except OSError:
            continue
    return None


def _base(url: str) -> tuple[str, str, str] | None:
    """(scheme, host, port-with-colon) of an http(s) URL, or None."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, f":{parts.port}" if parts.port else ""


def join_link(code: str, configured: str | None, browser_url: str | None, port: int = 8501,
              network: str | None = None) -> JoinLink:
    """The join URL for room `code` (see the module docstring for the order)."""
    suffix = f"{LIVE_PATH}?room={code}"
    warning = ""
    if configured and configured.strip():
        if _base(configured):
            return JoinLink(configured.strip().rstrip("/") + suffix, "setting")
        warning = f"{PUBLIC_URL_ENV}={configured.strip()[:80]!r} is not an http(s) address, so it is not used. "
    seen = _base(browser_url or "")
    if seen and not is_loopback(seen[1]):
        scheme, host, host_port = seen
        host = f"[{host}]" if ":" in host else host
        return JoinLink(f"{scheme}://{host}{host_port}{suffix}", "browser", warning.strip())
    if seen:
        port = int(seen[2][1:]) if seen[2] else port
    if network:
        return JoinLink(f"http://{network}:{port}{suffix}", "network", (warning + (
            "This link uses this machine's network address: participants must be on the same network (and its "
            f"firewall must let port {port} in). Behind a proxy or a domain name, set {PUBLIC_URL_ENV}.")).strip())
    return JoinLink(f"http://localhost:{port}{suffix}", "localhost", (warning + (
        "Only “localhost” is known: this link opens on the participant's own device, not on this server. Set "
        f"{PUBLIC_URL_ENV} to the address participants can reach (e.g. http://192.168.1.20:{port}).")).strip())
