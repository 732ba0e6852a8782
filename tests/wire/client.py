"""A simulated browser: a Python client that speaks Streamlit's own WebSocket protocol.

Many sessions can run against one real `streamlit run` server from one asyncio process, without a browser: a
load test opens a `Session` per simulated participant, reads what its page shows and acts on its widgets. The
reference for every step below is the browser's own code as shipped in the installed wheel
(streamlit/static/static/js/index.*.js: `WebsocketConnection`, `App.handleNewSession`, `handleScriptFinished`,
`AppRoot`, `WidgetStateManager`, `ForwardMessageCache`; BidiComponent.*.js for custom components v2), and the
server in streamlit/web/server/starlette/starlette_websocket.py and streamlit/runtime/app_session.py.

Protocol as implemented (Streamlit 1.67):

1. Handshake. Like the browser, GET the page URL first (the app may set cookies there: GenAI Lab sets its
   HttpOnly `genai_lab_id`), then `_stcore/health` (sets the `_streamlit_xsrf` cookie) and `_stcore/host-config`.
   Every cookie is kept and sent back with each request and with the WebSocket handshake. The socket is
   `ws(s)://<base>/_stcore/stream`; the `Sec-WebSocket-Protocol` header carries positional entries
   (`_parse_subprotocols`): "streamlit" (the subprotocol the server selects), the XSRF token (the value of the
   `_streamlit_xsrf` cookie, or the browser's placeholder when there is none), and on a reconnect the old
   session id. `Origin` is the page's origin, as a browser sends. Frames are binary protobufs: `BackMsg` up,
   `ForwardMsg` down. Behind a load balancer (deploy/: nginx in front of several replicas) the cookies include its
   route cookie, which keeps the tab on one replica; `Session.replica` names the replica that holds the socket
   (nginx's `X-GenAI-Lab-Replica` response header).

2. First run. The server sends nothing until the client asks for a run: a `BackMsg.rerun_script` (a
   `ClientState`) with the URL's query string, an empty `widget_states`, `page_script_hash` "" and `page_name` =
   the URL path below the base ("" for the main page; `st.navigation` resolves it by url_path), and
   `context_info` (timezone, locale, URL, colour scheme). Later requests name the current page by its
   `page_script_hash` (from `navigation`, else `new_session`) and carry the query string the server last pushed
   (`page_info_changed`).

3. Rendering. A run starts with `new_session` (its `metadata.run` names the run id and, for a fragment run, the
   fragment ids) and ends with `script_finished`. `delta` messages place a `new_element` or an `add_block` at
   `metadata.delta_path` (root container index, then child indices), stamped with the current run id, the
   delta's `fragment_id` and `metadata.active_script_hash`; every ancestor block takes the current run id, and a
   block re-added with the same type keeps its children. At a successful finish the browser drops what the run
   did not redraw: after a full run every node of an older run; after a fragment run only stale nodes inside the
   containers of the fragments that ran (`_Page.clear_stale` mirrors `ClearStaleNodeVisitor`). A full run of
   another page first drops the nodes the page script drew, keeping the main script's (`st.navigation` entry
   point: sidebar and the like). `new_transient` (spinners) only decorates and is ignored. Messages the server
   marks cacheable are kept, their hashes reported in `cached_message_hashes`, and later arrive as `ref_hash`
   references (`_MessageCache`, as `ForwardMessageCache`).

4. Widget states. The browser sends the state of every widget it knows on every rerun request
   (`WidgetStateManager.sendUpdateWidgetsMessage`): a widget enters that map with its proto's default when it
   first renders, or the proto's current value when the server set one (`set_value`); a user change replaces it.
   A change outside a form reruns at once; a change inside an `st.form` waits in the form's pending states until
   its submit button copies them over. Triggers (`trigger_value` for buttons, `json_trigger_value` for
   components) are one-shot: sent with that one request, then forgotten. Widgets no longer on the page are
   dropped from the map after each finished run.

5. Fragments. A widget drawn inside an `st.fragment` carries the fragment's id (`delta.fragment_id`); an
   interaction with it sends `ClientState.fragment_id`, and the server reruns only that fragment. A fragment that
   calls `st.rerun()` or `st.switch_page` makes the server finish the run early (`FINISHED_EARLY_FOR_RERUN`)
   and start the next one itself; the client only follows (`st.switch_page` shows up as a `new_session` for
   the other page and a `navigation` naming it). `st.fragment(run_every=...)` arrives as `auto_rerun`: the
   browser keeps the timer and sends `is_auto_rerun` fragment reruns (`Session.open(auto_rerun=True)` does too).

6. Custom components v2 triggers. `setTriggerValue(event, value)` in a component's JS sets, on the widget
   `"$$STREAMLIT_INTERNAL_KEY_<component id>__events"`, a `json_trigger_value` holding a JSON list of
   `{"event": ..., "value": ...}` payloads, and requests a rerun with the component's `fragment_id`
   (`Session.tick`). GenAI Lab's heartbeat (components/common/heartbeat.py) calls
   `setTriggerValue("tick", Date.now())` every few seconds from inside the `watch` fragment; `Session.start_ticker`
   plays that timer.

7. Heartbeats. The browser sends `BackMsg.app_heartbeat` only when an embedding host asks it to
   (`SEND_APP_HEARTBEAT`), and the server needs none (uvicorn pings the socket; the websockets client answers), so
   this client sends none; `send_raw` can.

8. Reconnecting (`Session.reconnect`), as the browser's `ConnectionManager` and `App.handleConnectionStateChanged`
   do when the socket drops (its server died, a proxy cut it): ping `_stcore/health` and `_stcore/host-config`
   again with the same cookies until they answer, open a new socket that names the old session id, and then ask for
   a full run with every widget state, the current page and query string, but ONLY when a run was in flight or
   requested, or the last run was a fragment run, or `run_every` timers exist. Otherwise the browser sends nothing
   and keeps showing the old page. A server that does not know the old session id (another replica, a restarted
   server) starts a fresh one; its page keeps nothing of the old session's state but what the cookies and the
   query string carry. The page on screen, widget states and the message cache are kept, as the browser keeps them;
   tickers (a component's JS timer) go on ticking.

9. Idle. No message says "nothing more will run", and a `new_session` does not say which request started it.
   A session is idle when every rerun it requested has been answered by a run and the last run finished with a
   final status (anything but `FINISHED_EARLY_FOR_RERUN`, after which the server starts the next run itself).
   Answers are matched by what the run reruns: a full run answers every request sent before its `new_session`
   arrived (with `runner.fastReruns`, Streamlit's default, a full-page request replaces the running script
   runner, whose run then never reports a finish; and a full run covers any fragment); a fragment run answers
   only the requests for the fragments it lists. A rerun of a fragment that is no longer on the page is dropped
   by the server without a reply; it counts as answered at the next finished run.

Usage (one participant; run many with asyncio.gather):

    async with await Session.open("http://127.0.0.1:8501", path="live-quiz") as s:
        await s.wait_idle()
        # Two join forms (sidebar and page) share labels: pick widgets by user key or form, and pass the Widget.
        code = s.widget(key="ws_sidebar_code")
        await s.set_value(code, "K7MPQ")                  # in a form: sent by its submit button
        await s.set_value(s.widget(key="ws_sidebar_nick"), "Ada")
        await s.click(next(w for w in s.widgets("form_submit_button", "Join") if w.form_id == code.form_id))
        await s.wait_idle()
        s.start_ticker(3.0, "heartbeat")                  # the page's heartbeat component, as its JS would
        answer = await s.wait_for_widget("Your answer", type="radio", timeout=120)
        await s.set_value(answer, answer.options[0])
        await s.click("Send answer")
        await s.wait_idle()
        print(s.texts())

Mid-run the page shows what the browser shows: the new run's elements on top of the old run's, so act after
`wait_idle()` or after waiting for the widget or text itself.

Tracing: with GENAI_WIRE_TRACE=<folder>, every session writes one line per rerun it requests and per message
other than a delta it receives, with a monotonic timestamp, to <folder>/<id>.log (how a stalled server was found:
every session's requests going unanswered at once).

Not simulated: file uploads, chat input, date/time/color inputs, data editors, download buttons, dialogs'
dismissal, a component's JS state (`setStateValue`), widgets bound to query params, the browser's own reconnect
backoff and its "Connection error" dialog, and runs that `runner.fastReruns = false` would interrupt (wait_idle
assumes the default).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import CookieError, SimpleCookie
from typing import Any

from google.protobuf.message import DecodeError
from streamlit.components.v2.bidi_component.constants import EVENT_DELIM
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Block_pb2 import Block as BlockProto
from streamlit.proto.Checkbox_pb2 import Checkbox as CheckboxProto
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Element_pb2 import Element as ElementProto
from streamlit.proto.Exception_pb2 import Exception as ExceptionProto
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Markdown_pb2 import Markdown as MarkdownProto
from streamlit.proto.Navigation_pb2 import Navigation
from streamlit.proto.NewSession_pb2 import NewSession
from streamlit.proto.NumberInput_pb2 import NumberInput as NumberInputProto
from streamlit.proto.Slider_pb2 import Slider as SliderProto
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.runtime.state.session_state import STREAMLIT_INTERNAL_KEY_PREFIX
from streamlit.web.server.starlette.starlette_server_config import XSRF_COOKIE_NAME
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin, Subprotocol

log = logging.getLogger(__name__)
TRACE_ENV = "GENAI_WIRE_TRACE"

STREAM_PATH = "_stcore/stream"
# What the browser puts in the token position of Sec-WebSocket-Protocol when it has no XSRF cookie.
NO_XSRF_TOKEN = "PLACEHOLDER_AUTH_TOKEN"
USER_AGENT = "streamlit-wire-client (tests/wire/client.py)"
# The response header deploy/'s nginx adds to name the replica (upstream address) that served a request.
REPLICA_HEADER = "X-GenAI-Lab-Replica"
# The browser context a simulated participant reports (st.context): fixed, like one real browser.
CONTEXT = {"timezone": "UTC", "timezone_offset": 0, "locale": "en-US", "color_scheme": "light"}

_Status = ForwardMsg.ScriptFinishedStatus
# A run that ends with any of these is over; FINISHED_EARLY_FOR_RERUN is followed by the run that interrupted it.
_FINAL = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
          ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
_CLEARS_STALE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
ROOT_CONTAINERS = ("main", "sidebar", "event", "bottom")
_EVENT_CONTAINER = ROOT_CONTAINERS.index("event")
BUTTONS = ("button", "form_submit_button")
VALUE_WIDGETS = ("text_input", "text_area", "number_input", "radio", "selectbox", "multiselect", "checkbox", "toggle",
                 "slider", "select_slider")


class SessionClosed(ConnectionError):
    """The WebSocket is closed: nothing more will arrive, nothing can be sent."""


# ---------------------------------------------------------------------------------------------- HTTP and cookies

def _cookie_header(jar: Mapping[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def _http_get(url: str, jar: Mapping[str, str], timeout: float) -> tuple[int, Message]:
    """(status, response headers) of a GET that sends the jar's cookies, as a browser would."""
    headers = {"User-Agent": USER_AGENT}
    if jar:
        headers["Cookie"] = _cookie_header(jar)
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status, response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers


def _replica(header: str | None) -> str | None:
    """The replica that answered: nginx's `$upstream_addr` lists every replica it tried, the last one answered."""
    return header.split(",")[-1].strip() or None if header else None


def _store_cookies(jar: dict[str, str], set_cookie_values: Iterable[str]) -> None:
    for value in set_cookie_values:
        parsed = SimpleCookie()
        try:
            parsed.load(value)
        except CookieError:
            log.warning("ignoring a malformed Set-Cookie: %r", value)
            continue
        jar.update({name: morsel.value for name, morsel in parsed.items()})


# ---------------------------------------------------------------------------------------------- the page

@dataclass(eq=False)
class _Node:
    """A block or an element of the page, as the frontend's AppRoot holds it."""

    element: ElementProto | None       # set for elements
    block: BlockProto | None           # set for blocks; None for root containers and placeholders
    run_id: str
    fragment_id: str
    active_script_hash: str
    children: list[_Node | None] = field(default_factory=list)

    @property
    def is_block(self) -> bool:
        return self.element is None


def _container() -> _Node:
    return _Node(None, None, "", "", "")


def _same_container(old: BlockProto | None, new: BlockProto) -> bool:
    """Whether a block re-added at a path keeps the old block's children (AppRoot.addBlock)."""
    if old is None:                    # a placeholder made for a child that arrived first: the block adopts it
        return True
    if old.WhichOneof("type") != new.WhichOneof("type"):
        return False
    return not (old.HasField("dialog") and new.HasField("dialog") and old.id != new.id)


class _Page:
    """The tree the browser renders: root containers (main, sidebar, event, bottom) holding blocks and elements."""

    def __init__(self) -> None:
        self.root = _container()
        self.root.children = [_container() for _ in ROOT_CONTAINERS]

    def apply(self, msg: ForwardMsg, run_id: str) -> None:
        delta, path = msg.delta, list(msg.metadata.delta_path)
        kind = delta.WhichOneof("type")
        if not path or kind not in ("new_element", "add_block"):
            return                     # new_transient (spinners) decorates a node and never replaces one
        active = msg.metadata.active_script_hash
        parent = self.root
        for index in path[:-1]:
            parent.run_id = run_id     # every ancestor of a new node belongs to the current run (setNodeAtPath)
            child = parent.children[index] if index < len(parent.children) else None
            if child is None:
                child = _Node(None, None, run_id, "", active)
                _set_child(parent, index, child)
            elif not child.is_block:
                log.warning("ignoring a delta below an element at %s", path)
                return
            parent = child
        parent.run_id = run_id
        index = path[-1]
        if kind == "new_element":
            node = _Node(delta.new_element, None, run_id, delta.fragment_id, active)
        else:
            node = _Node(None, delta.add_block, run_id, delta.fragment_id, active)
            old = parent.children[index] if index < len(parent.children) else None
            if old is not None and old.is_block and _same_container(old.block, delta.add_block):
                node.children = old.children
        _set_child(parent, index, node)

    def clear_stale(self, run_id: str, fragment_ids: Sequence[str]) -> None:
        """Drop what a finished run did not redraw (the frontend's ClearStaleNodeVisitor)."""
        kept = [_clear(container, run_id, fragment_ids, "") for container in self.root.children]
        self.root.children = [container if container is not None else _container() for container in kept]
        self.root.run_id = run_id

    def keep_main_script(self, main_script_hash: str) -> None:
        """On a page change, keep only what the main script drew (AppRoot.filterMainScriptElements)."""
        for container in self.root.children:
            container.children = [c for c in (_keep_main(child, main_script_hash) for child in container.children)
                                  if c is not None]

    def walk(self) -> Iterator[tuple[tuple[int, ...], _Node]]:
        """(delta path, node) for every block and element, depth first, in page order."""
        stack: list[tuple[tuple[int, ...], _Node]] = [((i,), c) for i, c in enumerate(self.root.children)][::-1]
        while stack:
            path, node = stack.pop()
            yield path, node
            stack.extend(((*path, i), c) for i, c in reversed(list(enumerate(node.children))) if c is not None)

    def elements(self, containers: Iterable[int] = range(len(ROOT_CONTAINERS))) -> Iterator[_Node]:
        wanted = set(containers)
        return (node for path, node in self.walk() if path[0] in wanted and not node.is_block)

    def active_ids(self) -> set[str]:
        """Ids of the widgets and blocks on the page: the browser forgets the state of every other widget."""
        ids = set()
        for _, node in self.walk():
            if node.block is not None and node.block.id:
                ids.add(node.block.id)
            elif node.element is not None and _element_id(node.element):
                ids.add(_element_id(node.element))
        return ids

    def ids_drawn_by(self, script_hash: str) -> set[str]:
        """Ids of the elements a script (the main script, a page) drew."""
        return {_element_id(node.element) for _, node in self.walk()
                if node.element is not None and node.active_script_hash == script_hash} - {""}

    def fragment_ids(self) -> set[str]:
        return {node.fragment_id for _, node in self.walk() if node.fragment_id}

    def forms(self) -> dict[str, BlockProto.Form]:
        return {node.block.form.form_id: node.block.form for _, node in self.walk()
                if node.block is not None and node.block.WhichOneof("type") == "form"}


def _element_id(element: ElementProto) -> str:
    """A widget's id ("" for elements without one), the key of its state in the browser."""
    return getattr(getattr(element, element.WhichOneof("type") or "", None), "id", "")


def _set_child(parent: _Node, index: int, node: _Node) -> None:
    if index >= len(parent.children):
        parent.children.extend([None] * (index + 1 - len(parent.children)))
    parent.children[index] = node


def _clear(node: _Node, run_id: str, fragment_ids: Sequence[str], fragment_of_block: str) -> _Node | None:
    if not node.is_block:
        keep = (node.element.WhichOneof("type") == "toast" or node.run_id == run_id
                or (bool(fragment_ids) and (not node.fragment_id or not fragment_of_block)))
        return node if keep else None
    inner = fragment_of_block
    if fragment_ids:
        if fragment_of_block and node.run_id != run_id:
            return None
        if node.fragment_id in fragment_ids and node.run_id == run_id:
            inner = node.fragment_id   # the container of a fragment that ran: stale nodes inside it go
    elif node.run_id != run_id:
        return None
    children = [kept for kept in (_clear(c, run_id, fragment_ids, inner) for c in node.children if c is not None)
                if kept is not None]
    if children != node.children:
        node.children = children
        node.run_id = run_id           # a block that lost children is rebuilt by the current run
    return node


def _keep_main(node: _Node | None, main_script_hash: str) -> _Node | None:
    if node is None or node.active_script_hash != main_script_hash:
        return None
    if node.is_block:
        node.children = [c for c in (_keep_main(child, main_script_hash) for child in node.children) if c is not None]
    return node


# ---------------------------------------------------------------------------------------------- the message cache

@dataclass
class _CachedMessage:
    raw: bytes
    run_count: int
    fragment_id: str


class _MessageCache:
    """The browser's ForwardMessageCache: large elements the server may later send as a `ref_hash` reference."""

    def __init__(self) -> None:
        self._messages: dict[str, _CachedMessage] = {}
        self._run_count = 0

    def decode(self, raw: bytes) -> ForwardMsg:
        msg = ForwardMsg.FromString(raw)
        if msg.WhichOneof("type") == "ref_hash":
            cached = self._messages.get(msg.ref_hash)
            if cached is None:          # the browser treats this as fatal too: the server only refers to hashes we sent
                raise DecodeError(f"reference to a message that is not cached: {msg.ref_hash}")
            cached.run_count = self._run_count
            resolved = ForwardMsg.FromString(cached.raw)
            resolved.metadata.CopyFrom(msg.metadata)
            return resolved
        if msg.metadata.cacheable and msg.hash:
            if msg.hash in self._messages:
                self._messages[msg.hash].run_count = self._run_count
            else:
                self._messages[msg.hash] = _CachedMessage(raw, self._run_count, msg.delta.fragment_id)
        return msg

    def hashes(self) -> list[str]:
        return list(self._messages)

    def on_run_finished(self, max_age: int, fragment_ids: Sequence[str]) -> None:
        """Forget messages no run has used for `max_age` runs; a fragment run ages only that fragment's messages."""
        self._run_count += 1
        for hash_, cached in list(self._messages.items()):
            if fragment_ids and cached.fragment_id not in fragment_ids:
                continue
            if self._run_count - cached.run_count > max_age:
                del self._messages[hash_]


# ---------------------------------------------------------------------------------------------- widgets

def _optional(proto: Any, name: str) -> Any:
    return getattr(proto, name) if proto.HasField(name) else None


def _option(options: Sequence[str], index: int | None) -> str | None:
    return options[index] if index is not None and 0 <= index < len(options) else None


def _is_select_slider(proto: SliderProto) -> bool:
    return proto.type == SliderProto.SELECT_SLIDER


def _number(proto: NumberInputProto, value: float | None) -> int | float | None:
    """The proto keeps every number as a double; an integer input's state is an int."""
    return int(value) if value is not None and proto.data_type == NumberInputProto.INT else value


def _slider_options(proto: SliderProto, indices: Iterable[float]) -> list[str]:
    """A select_slider's option labels from the proto's option indices (kept as doubles)."""
    return [proto.options[int(i)] for i in indices]


@dataclass(frozen=True)
class _Kind:
    """How the browser stores one widget type's value: the WidgetState field, the value shown when the widget
    first renders, and the value the server pushes when it sets one (`proto.set_value`)."""

    field: Callable[[Any], str]
    default: Callable[[Any], Any]
    current: Callable[[Any], Any]


_TEXT = _Kind(lambda p: "string_value", lambda p: _optional(p, "default"), lambda p: _optional(p, "value"))
_CHOICE = _Kind(lambda p: "string_value", lambda p: _option(p.options, _optional(p, "default")),
                lambda p: _optional(p, "raw_value"))
_KINDS: dict[str, _Kind] = {
    "text_input": _TEXT,
    "text_area": _TEXT,
    "checkbox": _Kind(lambda p: "bool_value", lambda p: p.default, lambda p: p.value),
    "radio": _CHOICE,
    "selectbox": _CHOICE,
    "multiselect": _Kind(lambda p: "string_array_value", lambda p: [p.options[i] for i in p.default],
                         lambda p: list(p.raw_values)),
    "number_input": _Kind(
        lambda p: "int_value" if p.data_type == NumberInputProto.INT else "double_value",
        lambda p: _number(p, _optional(p, "default")),
        lambda p: _number(p, p.value if p.HasField("value") else _optional(p, "default"))),
    "slider": _Kind(
        lambda p: "string_array_value" if _is_select_slider(p) else "double_array_value",
        lambda p: _slider_options(p, p.default) if _is_select_slider(p) else list(p.default),
        lambda p: (list(p.raw_value) or _slider_options(p, p.default)) if _is_select_slider(p) else list(p.value)),
}


def _kind(widget: Widget) -> _Kind:
    return _KINDS[{"toggle": "checkbox", "select_slider": "slider"}.get(widget.type, widget.type)]


def _widget_state(widget_id: str, field_name: str, value: Any) -> WidgetState:
    state = WidgetState(id=widget_id)
    if value is None:                  # a cleared widget (text_input(value=None), radio(index=None)): no value
        return state
    if field_name in ("string_array_value", "double_array_value"):
        getattr(state, field_name).data.extend(value)
    else:
        setattr(state, field_name, value)
    return state


def _python_value(state: WidgetState | None) -> Any:
    name = state.WhichOneof("value") if state is not None else None
    if name is None:
        return None
    if name in ("string_array_value", "double_array_value"):
        return list(getattr(state, name).data)
    return getattr(state, name)


@dataclass(frozen=True)
class Widget:
    """A widget on the page as a user sees it.

    `type`: the st.* name ("button", "form_submit_button", "text_input", "text_area", "number_input", "radio",
    "selectbox", "multiselect", "checkbox", "toggle", "slider", "select_slider") or "component" for a custom
    component v2 (label: its component name; value: None, its JS state is not simulated). `value`: what the
    widget shows, including a form change not yet submitted; a one-thumb slider's value is a number (or option),
    a range slider's a tuple."""

    type: str
    id: str
    label: str
    key: str | None
    value: Any
    options: tuple[str, ...]
    form_id: str
    fragment_id: str
    disabled: bool
    proto: Any = field(repr=False, compare=False)


def _widget_type(element_type: str, proto: Any) -> str | None:
    if element_type == "button":
        return "form_submit_button" if proto.is_form_submitter else "button"
    if element_type == "checkbox":
        return "toggle" if proto.type == CheckboxProto.TOGGLE else "checkbox"
    if element_type == "slider":
        return "select_slider" if _is_select_slider(proto) else "slider"
    if element_type == "bidi_component":
        return "component"
    return element_type if element_type in _KINDS else None


class _WidgetStates:
    """The browser's WidgetStateManager: the state of every widget it knows, sent with every rerun request."""

    def __init__(self) -> None:
        self.values: dict[str, WidgetState] = {}
        self.pending: dict[str, dict[str, WidgetState]] = {}    # per form: changes its submit button has not sent

    def rendered(self, element: ElementProto) -> None:
        """A widget element arrived: it enters the map with its default, or with the value the server set."""
        element_type = element.WhichOneof("type")
        kind = _KINDS.get(element_type or "")
        if kind is None:
            return
        proto = getattr(element, element_type)
        if proto.set_value:
            self.values[proto.id] = _widget_state(proto.id, kind.field(proto), kind.current(proto))
        elif proto.id not in self.values:
            self.values[proto.id] = _widget_state(proto.id, kind.field(proto), kind.default(proto))

    def shown(self, widget_id: str, form_id: str) -> WidgetState | None:
        pending = self.pending.get(form_id, {}).get(widget_id)
        return pending if pending is not None else self.values.get(widget_id)

    def message(self, extra: Iterable[WidgetState] = (), only: set[str] | None = None) -> WidgetStates:
        """Every known state (or those with an id in `only`), with the one-shot `extra` states on top."""
        states = {k: v for k, v in self.values.items() if only is None or k in only}
        states.update((s.id, s) for s in extra)
        return WidgetStates(widgets=list(states.values()))

    def remove_inactive(self, active_ids: set[str]) -> None:
        self.values = {k: v for k, v in self.values.items() if k in active_ids}
        for form_id, states in self.pending.items():
            self.pending[form_id] = {k: v for k, v in states.items() if k in active_ids}


# ---------------------------------------------------------------------------------------------- the session

class Session:
    """One simulated browser tab on one Streamlit page. Create it with `await Session.open(...)`."""

    def __init__(self, base_url: str, path: str, query: str, jar: dict[str, str], auto_rerun: bool) -> None:
        trace_dir = os.environ.get(TRACE_ENV)
        self._trace_file = open(f"{trace_dir}/{id(self)}.log", "w") if trace_dir else None
        self.base_url = base_url
        self.cookies = jar
        self.session_id: str | None = None
        self.main_script_hash = ""
        self.page_script_hash = ""
        self.page_name = ""
        self.url_path = path            # the URL path below the base URL, as the browser's address bar shows it
        self.query_string = query
        self.pages: list[Any] = []      # AppPage protos from the last `navigation`
        self.last_status: str | None = None
        self.last_fragment_ids: tuple[str, ...] = ()
        self.runs_started = 0
        self.compile_error: ExceptionProto | None = None
        self.page_not_found: str | None = None
        self.messages_received = 0
        self.bytes_received = 0
        self.client_errors: list[str] = []   # ForwardMsgs this client failed to apply (logged too)
        self.replica: str | None = None      # the replica behind a load balancer that holds the socket (REPLICA_HEADER)
        self.reconnects = 0
        self.rerun_on_reconnect: bool | None = None   # whether the last reconnect asked for a run (see 8.)

        self._ws: ClientConnection | None = None
        self._auto_rerun = auto_rerun
        self._page = _Page()
        self._states = _WidgetStates()
        self._cache = _MessageCache()
        self._max_cache_age = 2
        self._run_id = ""
        self._running = False
        self._full_run_requested = False                # a full rerun request no full run has answered yet
        self._fragments_requested: set[str] = set()     # fragments of rerun requests no run has answered yet
        self._new_session_since_request = False
        self._closed: SessionClosed | None = None
        self._waiters: list[tuple[Callable[[Session], bool], asyncio.Future[None]]] = []
        self._reader: asyncio.Task[None] | None = None
        self._timers: dict[str, tuple[float, asyncio.Task[None]]] = {}   # run_every timers by fragment id
        self._tasks: set[asyncio.Task[None]] = set()                     # tickers
        self._tickers: list[tuple[float, str, str]] = []                 # (every, component, event), for reconnects
        self._timeout = 60.0
        self._shut = False                                               # close() was called: no reconnect
        self._had_timers = False                                         # run_every timers when the socket closed

    # ------------------------------------------------------------------ connecting

    @classmethod
    async def open(cls, base_url: str, path: str = "", query: str = "", cookies: Mapping[str, str] | None = None,
                   timeout: float = 60.0, auto_rerun: bool = True) -> Session:
        """Load `base_url/path?query` like a browser tab and request the first run (then `await wait_idle()`).

        `cookies` are sent as if the browser already held them. `auto_rerun`: keep the timers of
        `st.fragment(run_every=...)` like the browser does."""
        base_url, path, query = base_url.rstrip("/"), path.strip("/"), query.lstrip("?")
        jar = dict(cookies or {})
        page_url = f"{base_url}/{path}" + (f"?{query}" if query else "")
        session = cls(base_url, path, query, jar, auto_rerun)
        session._timeout = timeout
        await session._handshake([page_url], timeout)
        await session._connect(None, timeout)
        initial = session._client_state(WidgetStates())
        initial.page_name = path      # the page by its URL path: the client learns page hashes from the server
        await session._send_rerun(initial)
        return session

    async def _handshake(self, urls: list[str], timeout: float) -> None:
        """GET the page (when given), `_stcore/health` and `_stcore/host-config`, keeping cookies and the replica."""
        for url in (*urls, f"{self.base_url}/_stcore/health", f"{self.base_url}/_stcore/host-config"):
            status, headers = await asyncio.to_thread(_http_get, url, self.cookies, timeout)
            if status != 200:
                raise ConnectionError(f"GET {url} answered {status}")
            _store_cookies(self.cookies, headers.get_all("Set-Cookie") or [])
            self.replica = _replica(headers.get(REPLICA_HEADER)) or self.replica

    async def _connect(self, previous_session_id: str | None, timeout: float) -> None:
        jar = self.cookies
        parts = urllib.parse.urlsplit(self.base_url)
        ws_url = urllib.parse.urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc,
                                          f"{parts.path}/{STREAM_PATH}", "", ""))
        protocols = [Subprotocol("streamlit"), Subprotocol(jar.get(XSRF_COOKIE_NAME) or NO_XSRF_TOKEN)]
        if previous_session_id:
            protocols.append(Subprotocol(previous_session_id))
        self._ws = await connect(
            ws_url,
            subprotocols=protocols,
            origin=Origin(f"{parts.scheme}://{parts.netloc}"),
            additional_headers={"Cookie": _cookie_header(jar)} if jar else None,
            user_agent_header=USER_AGENT,
            open_timeout=timeout,
            max_size=None,         # a browser takes frames of any size (charts, tables)
            ping_interval=None,    # a browser never pings; the server does and the client answers
        )
        response = self._ws.response
        if response is not None and response.headers.get(REPLICA_HEADER):
            self.replica = _replica(response.headers.get(REPLICA_HEADER))
        self._closed = None
        self._reader = asyncio.create_task(self._read(), name=f"streamlit-wire-reader {ws_url}")

    async def reconnect(self, timeout: float = 120.0, retry_every: float = 0.5) -> None:
        """After the socket closed (see the module docstring, 8): connect again as the browser does, with the same
        cookies (a load balancer sends the tab to a live replica), retrying every `retry_every` s for up to
        `timeout` s; then ask for a run when the browser would. TimeoutError when no server answers in time."""
        if self._shut:
            raise SessionClosed("close() was called")
        if self._ws is not None and self._closed is None:
            await self._ws.close()         # a reconnect asked for while connected: drop this socket first
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        # App.handleConnectionStateChanged: rerun when a run was going on or asked for, or the last one was a
        # fragment's (its fragmentIdsThisRun), or run_every timers exist (autoRerunIntervals; cleared at the close).
        rerun = (self._running or self._full_run_requested or bool(self._fragments_requested)
                 or bool(self.last_fragment_ids) or self._had_timers)
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self._handshake([], min(10.0, self._timeout))
                await self._connect(self.session_id, min(30.0, self._timeout))
                break
            except (OSError, ConnectionError, TimeoutError, InvalidHandshake) as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no server answered for {timeout:g} s: {exc}") from exc
                await asyncio.sleep(retry_every)
        self.reconnects += 1
        self.rerun_on_reconnect = rerun
        # The old server will never answer what was asked of it.
        self._running, self._full_run_requested = False, False
        self._fragments_requested.clear()
        self._trace(f"RECONNECTED replica={self.replica} rerun={rerun}")
        tickers, self._tickers = self._tickers, []
        for every, component, event in tickers:
            self.start_ticker(every, component, event)
        if rerun:
            await self._send_rerun(self._client_state(self._states.message()))

    async def close(self) -> None:
        """Close the socket, as closing the tab does."""
        self._shut = True
        self._stop_timers()
        for task in list(self._tasks):
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._trace_file is not None:
            self._trace_file.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed is not None

    # ------------------------------------------------------------------ reading the page

    @property
    def idle(self) -> bool:
        """Every requested rerun has started and the last run has finished (see the module docstring, 9)."""
        return not (self._full_run_requested or self._fragments_requested or self._running or self.closed)

    @property
    def url(self) -> str:
        """The address bar: base URL, page path and the query string the server last pushed."""
        return f"{self.base_url}/{self.url_path}" + (f"?{self.query_string}" if self.query_string else "")

    def texts(self) -> list[str]:
        """All visible text of the page in order: markdown (st.write, captions), headings, alerts, code, st.text,
        metrics (label and value). Main area, sidebar and bottom; toasts are `toasts()`."""
        texts = []
        for node in self._page.elements(c for c in range(len(ROOT_CONTAINERS)) if c != _EVENT_CONTAINER):
            element = node.element
            kind = element.WhichOneof("type")
            if kind == "markdown" and element.markdown.element_type != MarkdownProto.DIVIDER:
                texts.append(element.markdown.body)
            elif kind in ("heading", "alert", "text"):
                texts.append(getattr(element, kind).body)
            elif kind == "code":
                texts.append(element.code.code_text)
            elif kind == "metric":
                texts.extend([element.metric.label, element.metric.body])
        return texts

    def toasts(self) -> list[str]:
        return [n.element.toast.body for n in self._page.elements([_EVENT_CONTAINER])
                if n.element.WhichOneof("type") == "toast"]

    def exceptions(self) -> list[ExceptionProto]:
        """Exceptions drawn on the page (st.exception and uncaught errors): `.type`, `.message`, `.stack_trace`."""
        return [n.element.exception for n in self._page.elements() if n.element.WhichOneof("type") == "exception"]

    def widgets(self, type: str | Iterable[str] | None = None, label: str | None = None,  # noqa: A002
                key: str | None = None) -> list[Widget]:
        """Widgets on the page in order, optionally only of these types / with this exact label / user key."""
        types = {type} if isinstance(type, str) else set(type) if type is not None else None
        found = []
        for node in self._page.elements():
            widget = self._widget(node)
            if widget is None or (types is not None and widget.type not in types):
                continue
            if (label is None or widget.label == label) and (key is None or widget.key == key):
                found.append(widget)
        return found

    def widget(self, label: str | None = None, type: str | Iterable[str] | None = None,  # noqa: A002
               key: str | None = None) -> Widget:
        """The one widget matching; LookupError (listing what the page has) when none or several match."""
        found = self.widgets(type, label, key)
        if len(found) != 1:
            have = [(w.type, w.label) for w in self.widgets(type)]
            raise LookupError(f"{len(found)} widgets match type={type!r} label={label!r} key={key!r}; "
                              f"the page has {have}")
        return found[0]

    def components(self, match: str = "") -> list[Widget]:
        """Custom components (v2) whose key, id or component name contains `match`."""
        return [w for w in self.widgets("component") if match in (w.key or "") or match in w.id or match in w.label]

    @property
    def tree(self):
        """The page as AppTest's ElementTree (streamlit.testing.v1), for read-only queries such as
        `session.tree.metric` or `.expander`. Widget values there need an AppTest run: use `widgets()`."""
        from streamlit.testing.v1.element_tree import parse_tree_from_messages

        messages = []
        for path, node in self._page.walk():
            if node.element is None and node.block is None:
                continue                # root containers and placeholders: the parser makes its own
            msg = ForwardMsg()
            msg.metadata.delta_path[:] = path
            if node.element is not None:
                msg.delta.new_element.CopyFrom(node.element)
            else:
                msg.delta.add_block.CopyFrom(node.block)
            messages.append(msg)
        return parse_tree_from_messages(messages)

    def describe(self) -> str:
        """A one-line summary of the session's state, for error messages."""
        return (f"page={self.url_path!r} query={self.query_string!r} running={self._running} "
                f"unanswered={'full run, ' if self._full_run_requested else ''}{sorted(self._fragments_requested)} "
                f"last_status={self.last_status} closed={self.closed} texts={self.texts()[:6]}")

    def _widget(self, node: _Node) -> Widget | None:
        element_type = node.element.WhichOneof("type") or ""
        proto = getattr(node.element, element_type, None)
        widget_type = _widget_type(element_type, proto)
        if widget_type is None:
            return None
        form_id = getattr(proto, "form_id", "")
        label = proto.component_name if widget_type == "component" else proto.label
        value = _python_value(self._states.shown(proto.id, form_id))
        if widget_type in ("slider", "select_slider") and value is not None:
            value = value[0] if len(value) == 1 else tuple(value)
        return Widget(type=widget_type, id=proto.id, label=label, key=user_key_from_element_id(proto.id),
                      value=value, options=tuple(getattr(proto, "options", ())), form_id=form_id,
                      fragment_id=node.fragment_id, disabled=getattr(proto, "disabled", False), proto=proto)

    # ------------------------------------------------------------------ acting like a user

    async def click(self, target: str | Widget) -> None:
        """Click a button or a form submit button (by label or Widget). A submit sends the form's pending changes."""
        widget = self._resolve(target, BUTTONS)
        submits = widget.type == "form_submit_button"
        if submits:
            self._states.values.update(self._states.pending.pop(widget.form_id, {}))
        trigger = WidgetState(id=widget.id, trigger_value=True)
        await self._send_rerun(self._client_state(self._states.message([trigger]), widget.fragment_id))
        form = self._page.forms().get(widget.form_id) if submits else None
        if form is not None and form.clear_on_submit:
            # The browser resets the form's widgets to their defaults as user changes, not yet submitted.
            self._states.pending[widget.form_id] = {
                w.id: _widget_state(w.id, _kind(w).field(w.proto), _kind(w).default(w.proto))
                for w in self.widgets(VALUE_WIDGETS) if w.form_id == widget.form_id}

    async def set_value(self, target: str | Widget, value: Any) -> None:
        """Change a widget as a user would. Outside a form this requests a rerun (of the widget's fragment, if it
        is in one); inside a form the change waits for the form's submit button.

        Values: text for text_input/text_area; a number for number_input; an option label for radio/selectbox;
        a list of option labels for multiselect; a bool for checkbox/toggle; a number or (low, high) for slider,
        an option label or (low, high) labels for select_slider; None clears a widget that allows it."""
        widget = self._resolve(target, VALUE_WIDGETS)
        state = _widget_state(widget.id, _kind(widget).field(widget.proto), _encode(widget, value))
        if widget.form_id:
            self._states.pending.setdefault(widget.form_id, {})[widget.id] = state
            return
        self._states.values[widget.id] = state
        if not getattr(widget.proto, "ignore_rerun", False):
            await self._send_rerun(self._client_state(self._states.message(), widget.fragment_id))

    async def navigate(self, page: str) -> None:
        """Open another page of an `st.navigation` app from its menu: by url path ("" for the default page),
        title or page script hash. Like the browser, only the main script's widget states go along and the
        query string is cleared."""
        target = next((p for p in self.pages if page in (p.page_script_hash, p.page_name, p.url_pathname)), None)
        if target is None:
            raise LookupError(f"no page {page!r}; pages: {[(p.page_name, p.url_pathname) for p in self.pages]}")
        self._stop_timers()
        self.query_string = ""
        state = self._client_state(self._states.message(only=self._page.ids_drawn_by(self.main_script_hash)))
        state.page_script_hash = target.page_script_hash
        await self._send_rerun(state)

    async def rerun(self) -> None:
        """Rerun the page with the current widget states (the "Rerun" menu item, or the R key)."""
        await self._send_rerun(self._client_state(self._states.message()))

    async def tick(self, component: str = "", event: str = "tick", value: Any = None) -> None:
        """What a custom component's `setTriggerValue(event, value)` sends (value defaults to Date.now()): a rerun
        of the component's fragment with the trigger. `component` selects exactly one component (`components`)."""
        found = self.components(component)
        if len(found) != 1:
            raise LookupError(f"{len(found)} components match {component!r}: {[w.key for w in self.components()]}")
        await self._trigger(found[0], event, value)

    def start_ticker(self, every: float, component: str = "", event: str = "tick") -> asyncio.Task[None]:
        """Tick every component matching `component` every `every` seconds, from a random offset as the
        heartbeat's JS does, while they are on the page. Runs until cancelled or the session closes."""

        async def ticker() -> None:
            await asyncio.sleep(random.uniform(0, every))
            while not self.closed:
                for widget in self.components(component):
                    if not widget.form_id:     # the browser ignores triggers from inside a form
                        await self._trigger(widget, event, None)
                await asyncio.sleep(every)

        self._tickers.append((every, component, event))
        task = asyncio.create_task(self._quietly(ticker()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def send_raw(self, msg: BackMsg) -> None:
        """Send any BackMsg (e.g. `BackMsg(clear_cache=True)`, `BackMsg(app_heartbeat=True)`)."""
        if msg.WhichOneof("type") == "rerun_script":
            await self._send_rerun(msg.rerun_script)
        else:
            await self._send(msg)

    # ------------------------------------------------------------------ waiting

    async def wait_for(self, predicate: Callable[[Session], bool], timeout: float = 30.0, what: str = "") -> None:
        """Until `predicate(session)` is true; it is evaluated now and after every ForwardMsg.
        TimeoutError (with the session's state) after `timeout` s; SessionClosed when the socket closes."""
        if self._closed is not None:
            raise self._closed
        if predicate(self):
            return
        entry = (predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(entry[1], timeout)
        except TimeoutError:
            raise TimeoutError(f"waited {timeout:g} s for {what or predicate}: {self.describe()}") from None
        finally:
            self._waiters.remove(entry)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until the runs this session requested, and the runs they started (st.rerun, st.switch_page), are over."""
        await self.wait_for(lambda s: s.idle, timeout, "the session to be idle")

    async def wait_for_text(self, text: str, timeout: float = 30.0) -> None:
        """Until `text` is part of some visible text. (Mid-run, later parts of the page may not be redrawn yet:
        wait for idle, or for the widget, before acting.)"""
        await self.wait_for(lambda s: any(text in t for t in s.texts()), timeout, f"text {text!r}")

    async def wait_for_widget(self, label: str | None = None, type: str | Iterable[str] | None = None,  # noqa: A002
                              key: str | None = None, timeout: float = 30.0) -> Widget:
        """Until exactly one widget matches (see `widget`); returns it."""
        await self.wait_for(lambda s: len(s.widgets(type, label, key)) == 1, timeout,
                            f"a widget type={type!r} label={label!r} key={key!r}")
        return self.widget(label, type, key)

    # ------------------------------------------------------------------ sending

    def _client_state(self, widget_states: WidgetStates, fragment_id: str = "") -> ClientState:
        """A rerun request of the current page, as the browser's sendRerunBackMsg builds it."""
        state = ClientState(query_string=self.query_string, page_script_hash=self.page_script_hash,
                            fragment_id=fragment_id, cached_message_hashes=self._cache.hashes())
        state.widget_states.CopyFrom(widget_states)
        state.context_info.url = self.url
        state.context_info.is_embedded = False
        for name, value in CONTEXT.items():
            setattr(state.context_info, name, value)
        return state

    def _trace(self, line: str) -> None:
        """One line of this session's trace (TRACE_ENV), when tracing is on."""
        if self._trace_file is not None:
            self._trace_file.write(f"{time.monotonic():.3f} {line}\n")
            self._trace_file.flush()

    async def _send_rerun(self, client_state: ClientState) -> None:
        self._trace(f"SEND rerun frag={client_state.fragment_id[:8]} states={len(client_state.widget_states.widgets)} "
                    f"hash={client_state.page_script_hash[:8]}")
        if client_state.fragment_id:
            self._fragments_requested.add(client_state.fragment_id)
        else:
            self._full_run_requested = True
        self._new_session_since_request = False
        msg = BackMsg()
        msg.rerun_script.CopyFrom(client_state)
        await self._send(msg)

    async def _send(self, msg: BackMsg) -> None:
        if self._closed is not None:
            raise self._closed
        assert self._ws is not None
        try:
            await self._ws.send(msg.SerializeToString())
        except ConnectionClosed as exc:
            raise SessionClosed(f"the socket closed: {exc}") from exc

    async def _trigger(self, component: Widget, event: str, value: Any) -> None:
        if component.form_id:
            raise ValueError("a component inside st.form cannot send triggers (the browser ignores them)")
        payload = [{"event": event, "value": int(time.time() * 1000) if value is None else value}]
        # The id of the component's trigger aggregator: _make_trigger_id(id, "events") in
        # streamlit/components/v2/bidi_component/main.py, `Me()` in the browser's BidiComponent.
        trigger = WidgetState(id=f"{STREAMLIT_INTERNAL_KEY_PREFIX}_{component.id}{EVENT_DELIM}events",
                              json_trigger_value=json.dumps(payload, separators=(",", ":")))
        await self._send_rerun(self._client_state(self._states.message([trigger]), component.fragment_id))

    def _resolve(self, target: str | Widget, types: Sequence[str]) -> Widget:
        if isinstance(target, Widget):
            found = [w for w in self.widgets(types) if w.id == target.id]
            if not found:
                raise LookupError(f"{target.type} {target.label!r} is no longer on the page")
            widget = found[0]
        else:
            widget = self.widget(target, types)
        if widget.disabled:
            raise ValueError(f"{widget.type} {widget.label!r} is disabled")
        return widget

    # ------------------------------------------------------------------ receiving

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                if isinstance(raw, str):
                    continue           # the protocol is binary only; the browser refuses text frames too
                self.messages_received += 1
                self.bytes_received += len(raw)
                try:
                    self._handle(self._cache.decode(raw))
                except Exception as exc:   # noqa: BLE001 — one message this client cannot apply must not end the tab
                    log.exception("failed to apply a ForwardMsg")
                    self.client_errors.append(repr(exc))
                self._notify()
        except ConnectionClosed:
            pass                       # how it closed is on the connection, below
        finally:
            self._closed = SessionClosed(f"the WebSocket is closed (code {self._ws.close_code}, "
                                         f"reason {self._ws.close_reason!r})")
            self._had_timers = bool(self._timers)
            self._stop_timers()
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(self._closed)

    def _notify(self) -> None:
        for predicate, future in list(self._waiters):
            if future.done():
                continue
            try:
                if predicate(self):
                    future.set_result(None)
            except Exception as exc:   # noqa: BLE001 — the waiter gets the predicate's error
                future.set_exception(exc)

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if self._trace_file is not None and kind != "delta":
            run = msg.metadata.run
            extra = f" status={msg.script_finished}" if kind == "script_finished" else ""
            self._trace(f"RECV {kind} run={run.script_run_id[:8]} frags={[f[:8] for f in run.fragment_ids]}{extra}")
        if kind == "new_session":
            self._on_new_session(msg.new_session, msg.metadata.run)
        elif kind == "delta":
            self._page.apply(msg, self._run_id)
            if msg.delta.WhichOneof("type") == "new_element":
                self._states.rendered(msg.delta.new_element)
        elif kind == "script_finished":
            self._on_script_finished(msg.script_finished, msg.metadata.run)
        elif kind == "navigation":
            self._on_navigation(msg.navigation)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            self.compile_error = msg.session_event.script_compilation_exception
        elif kind == "page_not_found":
            self.page_not_found = msg.page_not_found.page_name
            self.page_script_hash = self.main_script_hash
        elif kind == "auto_rerun" and self._auto_rerun:
            self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self._stop_timers(fragment_id)
        # Everything else (session_status_changed: the run state is tracked from the runs themselves;
        # page_config_changed, logo, page_profile, git_info_changed, parent_message, file_urls_response,
        # backend_operation_response, heartbeat_ack, ...) changes nothing a test reads.

    def _on_new_session(self, new_session: NewSession, run: ForwardMsg.RunIdentity) -> None:
        self.session_id = new_session.initialize.session_id or self.session_id
        if run.fragment_ids:
            self._fragments_requested.difference_update(run.fragment_ids)
        else:
            self._full_run_requested = False
            self._fragments_requested.clear()
        self._new_session_since_request = True
        self._running = True
        self.runs_started += 1
        self._run_id = run.script_run_id
        self.last_fragment_ids = tuple(run.fragment_ids)
        previous_page = self.page_script_hash
        if not run.fragment_ids:
            self._stop_timers()            # a full run draws its run_every fragments again, with their timers
            self.main_script_hash = new_session.main_script_hash
            self._max_cache_age = new_session.config.max_cached_message_age
            self.page_script_hash = new_session.page_script_hash
        if previous_page != new_session.page_script_hash:
            # Another page: the browser keeps only the main script's nodes. (A fragment run whose request named
            # a page the session has since left lands here too, and blanks the page: as in the browser.)
            self._page.keep_main_script(new_session.main_script_hash)
            self._states.remove_inactive(self._page.active_ids())

    def _on_script_finished(self, status: int, run: ForwardMsg.RunIdentity) -> None:
        self.last_status = _Status.Name(status)
        fragment_ids = list(run.fragment_ids)
        if status in _FINAL:
            self._running = False
        if status in _CLEARS_STALE and run.script_run_id and (fragment_ids or run.script_run_id == self._run_id):
            self._page.clear_stale(run.script_run_id, fragment_ids)
            self._states.remove_inactive(self._page.active_ids())
        if run.script_run_id and status != ForwardMsg.FINISHED_EARLY_FOR_RERUN and self._new_session_since_request:
            self._cache.on_run_finished(self._max_cache_age, fragment_ids)
        if status in _FINAL:               # the server drops a rerun of a fragment that no longer exists
            self._fragments_requested.intersection_update(self._page.fragment_ids())

    def _on_navigation(self, navigation: Navigation) -> None:
        self.pages = list(navigation.app_pages)
        self.page_script_hash = navigation.page_script_hash
        page = next((p for p in self.pages if p.page_script_hash == navigation.page_script_hash), None)
        if page is not None:
            self.page_name = page.page_name
            self.url_path = "" if page.is_default else page.url_pathname

    # ------------------------------------------------------------------ timers

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        """st.fragment(run_every=...): the browser reruns the fragment every `interval` s until told to stop."""
        if fragment_id in self._timers and self._timers[fragment_id][0] == interval:
            return
        self._stop_timers(fragment_id)

        async def timer() -> None:
            while not self.closed:
                await asyncio.sleep(interval)
                state = self._client_state(self._states.message(), fragment_id)
                state.is_auto_rerun = True
                await self._send_rerun(state)

        self._timers[fragment_id] = (interval, asyncio.create_task(self._quietly(timer())))

    def _stop_timers(self, fragment_id: str | None = None) -> None:
        for key in [fragment_id] if fragment_id is not None else list(self._timers):
            if key in self._timers:
                self._timers.pop(key)[1].cancel()

    @staticmethod
    async def _quietly(coro: Any) -> None:
        """Run a background loop that ends, without an error, when its session closes."""
        try:
            await coro
        except SessionClosed:
            pass


def _encode(widget: Widget, value: Any) -> Any:
    """A user's value for a widget, in the form its WidgetState field holds (ValueError when it cannot be)."""
    if value is None:
        return None
    proto = widget.proto

    def options_only(labels: Sequence[Any]) -> list[str]:
        allowed = getattr(proto, "accept_new_options", False)
        unknown = [v for v in labels if v not in widget.options]
        if unknown and not allowed:
            raise ValueError(f"{widget.type} {widget.label!r} has no option {unknown}; options: {widget.options}")
        return [str(v) for v in labels]

    if widget.type in ("text_input", "text_area"):
        return str(value)
    if widget.type in ("checkbox", "toggle"):
        return bool(value)
    if widget.type == "number_input":
        return int(value) if proto.data_type == NumberInputProto.INT else float(value)
    if widget.type in ("radio", "selectbox"):
        return options_only([value])[0]
    if widget.type == "multiselect":
        return options_only(list(value))
    if widget.type == "select_slider":
        return options_only([value] if isinstance(value, str) else list(value))
    if widget.type == "slider":
        return [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    raise ValueError(f"cannot set the value of a {widget.type}")
