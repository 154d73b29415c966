"""A loopback HTTP server that speaks the parts of the Slack Web API Stockbot uses.

It is a real HTTP peer: slack_sdk's WebClient talks to it over a socket (through
SLACK_API_URL), Bolt's `respond()` posts to its response_url, and it checks the bot token
like Slack does. Tests read what it received, the way one would read a channel.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable, Optional
from urllib.parse import parse_qs, quote

BOT_TOKEN = "xoxb-test-token-not-real"
# Block Kit limits Slack enforces on chat.postMessage / chat.update (it answers invalid_blocks).
SECTION_TEXT_MAX, FIELD_TEXT_MAX, FIELDS_MAX, BLOCKS_MAX = 3000, 2000, 10, 50
HEADER_TEXT_MAX, BUTTON_TEXT_MAX, BUTTON_VALUE_MAX, CONTEXT_ELEMENTS_MAX = 150, 75, 2000, 10
TEXT_MAX = 40000  # longer `text` is msg_too_long
# A static_select: option text and placeholder are plain text; an option value is at most 150 characters.
OPTION_TEXT_MAX, OPTION_VALUE_MAX, OPTIONS_MAX, PLACEHOLDER_MAX = 75, 150, 100, 150


def blocks_problem(blocks: list) -> Optional[str]:
    """What Slack would refuse about these blocks, or None. Only the limits Stockbot's messages touch."""
    if not isinstance(blocks, list) or len(blocks) > BLOCKS_MAX:
        return "too many blocks"
    for index, block in enumerate(blocks):
        kind, text = block.get("type"), (block.get("text") or {}).get("text", "")
        if kind == "section":
            if len(text) > SECTION_TEXT_MAX or len(block.get("fields", [])) > FIELDS_MAX or \
                    any(len(item.get("text", "")) > FIELD_TEXT_MAX for item in block.get("fields", [])):
                return f"blocks[{index}]: section too long"
            if not text and not block.get("fields"):
                return f"blocks[{index}]: empty section"
        if kind == "header" and len(text) > HEADER_TEXT_MAX:
            return f"blocks[{index}]: header too long"
        if kind == "context" and not 0 < len(block.get("elements", [])) <= CONTEXT_ELEMENTS_MAX:
            return f"blocks[{index}]: context elements"
        if kind == "actions":
            elements = block.get("elements", [])
            if not elements or any(_element_problem(e) for e in elements):
                return f"blocks[{index}]: actions"
    return None


def _element_problem(element: dict) -> bool:
    if element.get("type") == "static_select":
        options = element.get("options", [])
        return (not element.get("action_id") or not 0 < len(options) <= OPTIONS_MAX
                or len(element.get("placeholder", {}).get("text", "")) > PLACEHOLDER_MAX
                or any(option.get("text", {}).get("type") != "plain_text"
                       or not 0 < len(option["text"].get("text", "")) <= OPTION_TEXT_MAX
                       or not 0 < len(option.get("value", "")) <= OPTION_VALUE_MAX for option in options))
    return (len(element.get("text", {}).get("text", "")) > BUTTON_TEXT_MAX
            or len(element.get("value", "")) > BUTTON_VALUE_MAX)
APP_TOKEN = "xapp-1-test-token-not-real"  # app-level token: only apps.connections.open accepts it
ALL_CALLS = "*"  # slow(): every Web API method and response_url


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # Slack never refuses a connection: 50+ concurrent replies must all get in

    def handle_error(self, request, client_address):  # a client killed mid-call (the crash tests): not news
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@dataclass
class Faults:
    delays: dict[str, float] = field(default_factory=dict)  # method (or ALL_CALLS) -> seconds
    outage: bool = False  # every Web API call answers HTTP 500
    outage_responses: bool = False  # ...and every response_url post
    channels: dict[str, tuple[Optional[str], float]] = field(default_factory=dict)  # channel -> (error, seconds)
    held: dict[str, int] = field(default_factory=dict)  # method -> calls being delayed right now


@dataclass
class Upload:
    """One file the app uploaded: what getUploadURLExternal announced, the bytes it sent to the
    upload URL, and where completeUploadExternal shared it."""

    file_id: str
    filename: str
    length: int
    alt_txt: str = ""
    content: Optional[bytes] = None
    title: str = ""
    channel_id: str = ""
    thread_ts: str = ""
    initial_comment: str = ""
    shared: bool = False


@dataclass
class Call:
    method: str  # "chat.postMessage", ... or "response_url"
    params: dict
    path: str = ""
    at: float = field(default_factory=time.monotonic)
    token: str = ""  # the token the call was made with (Authorization: Bearer, or a `token` parameter)


@dataclass
class Workspace:
    """One workspace (or Enterprise Grid org, for an org-wide install) that installed the app through
    OAuth: what oauth.v2.access hands out for its code, and whom auth.test says its token is."""

    team_id: Optional[str]
    team_name: str
    bot_token: str
    installer: str
    enterprise_id: Optional[str] = None
    enterprise_name: str = ""
    org_wide: bool = False
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    revoked: bool = False


OAUTH_CLIENT_ID = "1111.2222"
OAUTH_CLIENT_SECRET = "oauth-client-secret-not-real"
OAUTH_SCOPES = "commands,chat:write"


class SlackServer:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict] = {}  # (channel, ts) -> latest message
        self.metadata: dict[tuple[str, str], dict] = {}  # (channel, ts) -> message metadata it was posted with
        self.failures: dict[str, str] = {}  # method -> Slack error code to answer with
        self.failing_channels: set[str] = set()  # channel_not_found
        self.archived_channels: set[str] = set()  # is_archived
        self.private_channels: set[str] = set()  # private, the bot not invited: not_in_channel
        self.refuse_blocks = False  # answer every message with blocks invalid_blocks (as for a Block Kit change)
        self.slow_seconds = 0.0  # a slow Slack: every Web API answer waits this long
        self.socket_mode_url: Optional[str] = None  # what apps.connections.open hands out
        self.files: dict[str, tuple[dict, bytes]] = {}  # file id -> (files.info "file" object, content)
        # Files the app uploads (files.uploadV2: getUploadURLExternal, POST the bytes, completeUploadExternal).
        self.uploads: dict[str, Upload] = {}
        # method -> [calls still to answer 429, Retry-After value]: Slack's rate limiting
        self.rate_limits: dict[str, list] = {}
        self._faults = Faults()  # a slow or broken Slack: see slow(), outage(), channel_fault()
        self._last_ts = 0
        self._upload_ids = itertools.count(1)
        # OAuth: the code each pending install's redirect carries -> the workspace it installs, and
        # every bot token handed out (oauth.v2.access) -> its workspace.
        self.oauth_codes: dict[str, Workspace] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.oauth_client = (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET)
        self._changed = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, and every test stops a server (0.5 s by default).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.url}/response/{key}"

    def start(self) -> "SlackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- what tests read -------------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self._changed:
            return [call for call in self.calls if call.method == method]

    def posts(self, channel: Optional[str] = None, top_level: Optional[bool] = None) -> list[dict]:
        result = []
        for call in self.of("chat.postMessage"):
            if channel and call.params.get("channel") != channel:
                continue
            if top_level is not None and bool(call.params.get("thread_ts")) == top_level:
                continue
            result.append(call.params)
        return result

    def wait_for(self, method: str, predicate: Callable[[dict], bool] = lambda params: True,
                 count: int = 1, timeout: float = 5.0) -> list[dict]:
        """Block until `count` calls of `method` match; fail loudly with what did arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [call.params for call in self.calls if call.method == method and predicate(call.params)]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, str(c.params.get("text", ""))[:120]) for c in self.calls]
                    raise AssertionError(f"waited {timeout}s for {count} x {method}; received: {seen}")
                self._changed.wait(remaining)

    def responses(self, key: str) -> list[dict]:
        """What the app sent to one response_url."""
        return [call.params for call in self.of("response_url") if call.path == f"/response/{key}"]

    def wait_for_response(self, key: str, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self.responses(key)
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no reply on response_url {key} within {timeout}s")
                self._changed.wait(remaining)

    def add_file(self, name: str, content: bytes, user: str = "U0BUYER", url: Optional[str] = None) -> str:
        """A file someone uploaded; files.info describes it and its private URL serves it
        (to the bot token only, as files.slack.com does)."""
        file_id = f"F{len(self.files) + 1:08d}"
        quoted = quote(name)  # Slack percent-encodes file names in its links
        info = {"id": file_id, "name": name, "title": name, "user": user, "size": len(content),
                "filetype": name.rsplit(".", 1)[-1].lower(), "mimetype": "application/octet-stream",
                "url_private": url or f"{self.url}/files-pri/T0TEST-{file_id}/{quoted}",
                "url_private_download": url or f"{self.url}/files-pri/T0TEST-{file_id}/download/{quoted}"}
        self.files[file_id] = (info, content)
        return file_id

    def shared_uploads(self, channel: Optional[str] = None) -> list[Upload]:
        """Files shared into a channel (or a thread), in the order they were completed."""
        with self._changed:
            return [upload for upload in self.uploads.values()
                    if upload.shared and (channel is None or upload.channel_id == channel)]

    def wait_for_upload(self, predicate: Callable[[Upload], bool] = lambda upload: True, count: int = 1,
                        timeout: float = 10.0) -> list[Upload]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [upload for upload in self.uploads.values() if upload.shared and predicate(upload)]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, str(c.params)[:160]) for c in self.calls if c.method.startswith("file")]
                    raise AssertionError(f"waited {timeout}s for {count} shared upload(s); file calls: {seen}")
                self._changed.wait(remaining)

    def approve_install(self, team_id: Optional[str], team_name: str = "", installer: str = "U0INSTALLER",
                        enterprise_id: Optional[str] = None, org_wide: bool = False) -> str:
        """Someone in `team_id` (or, org_wide, the whole `enterprise_id` org) clicked Allow on Slack's
        consent page: the code Slack puts in the redirect. oauth.v2.access trades it for a new token."""
        key = enterprise_id if org_wide else team_id
        code = f"code-{key}-{next(self._upload_ids)}"
        token = f"xoxb-{key}-{code.rsplit('-', 1)[-1]}-not-real"
        with self._changed:
            self.oauth_codes[code] = Workspace(None if org_wide else team_id, team_name or f"{key} team", token,
                                               installer, enterprise_id, f"{enterprise_id} org" if enterprise_id else "",
                                               org_wide, bot_user_id=f"U0BOT{key}", bot_id=f"B0BOT{key}")
        return code

    def revoke(self, token: str) -> None:
        """The token no longer works (the app was uninstalled, or the token revoked)."""
        with self._changed:
            if token in self.workspaces:
                self.workspaces[token].revoked = True

    def tokens_used(self, method: str) -> list[str]:
        """The token of every call of `method`, in order."""
        return [call.token for call in self.of(method)]

    def _oauth_access(self, params: dict, basic_auth: str) -> dict:
        """oauth.v2.access: the client id and secret (HTTP Basic, as slack_sdk sends them, or form fields)
        and a code handed out by approve_install, used once."""
        import base64

        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if basic_auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic_auth[6:]).decode().partition(":")
        if (client_id, client_secret) != self.oauth_client:
            return {"ok": False, "error": "invalid_client_id" if client_id != self.oauth_client[0] else "bad_client_secret"}
        with self._changed:
            workspace = self.oauth_codes.pop(params.get("code") or "", None)
            if workspace is None:
                return {"ok": False, "error": "invalid_code"}
            self.workspaces[workspace.bot_token] = workspace
        answer = {"ok": True, "app_id": "A0STOCK", "access_token": workspace.bot_token, "token_type": "bot",
                  "scope": OAUTH_SCOPES, "bot_user_id": workspace.bot_user_id,
                  "authed_user": {"id": workspace.installer},
                  "team": {"id": workspace.team_id, "name": workspace.team_name} if workspace.team_id else None,
                  "enterprise": ({"id": workspace.enterprise_id, "name": workspace.enterprise_name}
                                 if workspace.enterprise_id else None),
                  "is_enterprise_install": workspace.org_wide}
        return answer

    def _token_ok(self, token: str) -> bool:
        if token == BOT_TOKEN:
            return True
        workspace = self.workspaces.get(token)
        return workspace is not None and not workspace.revoked

    def reset(self) -> None:
        with self._changed:
            self.calls.clear()

    # ---- the HTTP side ---------------------------------------------------------------------

    def _record(self, method: str, params: dict, path: str, token: str = "") -> None:
        with self._changed:
            self.calls.append(Call(method, params, path, token=token))
            self._changed.notify_all()

    def _answer(self, method: str, params: dict, authorized: bool, token: str = "", basic_auth: str = "") -> dict:
        if method == "response_url":
            return {"ok": True}
        if method == "oauth.v2.access":
            return self._oauth_access(params, basic_auth)
        if not authorized:
            return {"ok": False, "error": "invalid_auth"}
        if method in self.failures:
            return {"ok": False, "error": self.failures[method]}
        if method == "apps.connections.open":
            if not self.socket_mode_url:
                return {"ok": False, "error": "not_allowed_token_type"}
            return {"ok": True, "url": self.socket_mode_url}
        if method == "auth.test" and token in self.workspaces:
            workspace = self.workspaces[token]
            return {"ok": True, "url": f"https://{(workspace.team_id or workspace.enterprise_id).lower()}.slack.com/",
                    "team": workspace.team_name, "user": "stockbot", "team_id": workspace.team_id or "",
                    "enterprise_id": workspace.enterprise_id, "is_enterprise_install": workspace.org_wide,
                    "user_id": workspace.bot_user_id, "bot_id": workspace.bot_id}
        if method == "auth.test":
            return {"ok": True, "url": "https://stockbot-test.slack.com/", "team": "Test", "user": "stockbot",
                    "team_id": "T0TEST", "user_id": "U0BOT", "bot_id": "B0BOT"}
        if method == "conversations.info":
            channel = params.get("channel", "")
            if channel in self.failing_channels or not channel:
                return {"ok": False, "error": "channel_not_found"}
            private = channel in self.private_channels
            return {"ok": True, "channel": {"id": channel, "is_channel": not private, "is_private": private,
                                            "is_archived": channel in self.archived_channels,
                                            "is_member": not private}}
        if method in ("chat.postMessage", "chat.update"):
            channel = params.get("channel", "")
            if channel in self.failing_channels or not channel:
                return {"ok": False, "error": "channel_not_found"}
            if channel in self.archived_channels:
                return {"ok": False, "error": "is_archived"}
            if channel in self.private_channels:
                return {"ok": False, "error": "not_in_channel"}
            if len(params.get("text") or "") > TEXT_MAX:
                return {"ok": False, "error": "msg_too_long"}
            if params.get("blocks") and (self.refuse_blocks or blocks_problem(params["blocks"])):
                return {"ok": False, "error": "invalid_blocks"}
            ts = params.get("ts") if method == "chat.update" else self._new_ts()
            if method == "chat.update" and (channel, ts) not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            with self._changed:
                self.messages[(channel, ts)] = params
                metadata = params.get("metadata")
                if isinstance(metadata, str):
                    metadata = json.loads(metadata)
                if method == "chat.postMessage" and metadata:
                    self.metadata[(channel, ts)] = metadata
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text", "")}}
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, params)
        if method in ("chat.postEphemeral",):
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method == "files.getUploadURLExternal":
            try:
                length = int(params.get("length") or 0)
            except ValueError:
                length = 0
            if not params.get("filename") or length <= 0:
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"FUP{next(self._upload_ids):06d}"
            with self._changed:
                self.uploads[file_id] = Upload(file_id, params["filename"], length, params.get("alt_txt") or "")
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/v1/{file_id}"}
        if method == "files.completeUploadExternal":
            try:
                files = json.loads(params.get("files") or "[]")
            except ValueError:
                return {"ok": False, "error": "invalid_arguments"}
            channel = params.get("channel_id") or ""
            if channel and channel in self.failing_channels:
                return {"ok": False, "error": "channel_not_found"}
            thread_ts = params.get("thread_ts") or ""
            if thread_ts and (channel, thread_ts) not in self.messages:
                return {"ok": False, "error": "invalid_thread_ts"}
            found = [self.uploads.get(item.get("id", "")) for item in files]
            if not found or any(upload is None or upload.content is None for upload in found):
                return {"ok": False, "error": "file_not_found"}  # announced but never uploaded
            shared = []
            with self._changed:
                for upload, item in zip(found, files):
                    upload.title, upload.channel_id = item.get("title") or upload.filename, channel
                    upload.thread_ts, upload.initial_comment = thread_ts, params.get("initial_comment") or ""
                    upload.shared = bool(channel)
                    shared.append({"id": upload.file_id, "name": upload.filename, "title": upload.title})
                self._changed.notify_all()
            return {"ok": True, "files": shared}
        if method == "files.info":
            if params.get("file") not in self.files:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": self.files[params["file"]][0]}
        if method in ("views.open", "views.publish"):
            return {"ok": True, "view": {"id": "V0TEST", **params.get("view", {})}}
        return {"ok": False, "error": "unknown_method"}

    def _new_ts(self) -> str:
        """A message ts as Slack makes them: the time posted, in microseconds, never repeated."""
        with self._changed:
            self._last_ts = max(self._last_ts + 1, int(time.time() * 1_000_000))
            return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _history(self, method: str, params: dict) -> dict:
        """conversations.history / .replies: the channel's (or thread's) messages since `oldest`,
        newest first, with their metadata when include_all_metadata is set; 200 a page."""
        channel, thread = params.get("channel", ""), params.get("ts")
        if channel in self.failing_channels or not channel:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._changed:
            found = []
            for (where, ts), message in self.messages.items():
                parent = message.get("thread_ts")
                in_scope = (parent == thread or ts == thread) if method == "conversations.replies" else not parent
                if where != channel or not in_scope or float(ts) < oldest:
                    continue
                item = {"type": "message", "ts": ts, "text": message.get("text", "")}
                if with_metadata and (channel, ts) in self.metadata:
                    item["metadata"] = self.metadata[(channel, ts)]
                found.append(item)
        found.sort(key=lambda item: float(item["ts"]), reverse=True)
        start = int(params.get("cursor") or 0)
        page = found[start:start + 200]
        more = start + 200 < len(found)
        return {"ok": True, "messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + 200) if more else ""}}

    def rate_limit(self, method: str, times: int = 1, retry_after: str = "2") -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and this Retry-After, as Slack does."""
        with self._changed:
            self.rate_limits[method] = [times, retry_after]

    def _limited(self, method: str) -> Optional[str]:
        with self._changed:
            limit = self.rate_limits.get(method)
            if not limit or limit[0] <= 0:
                return None
            limit[0] -= 1
            return limit[1]

    # ---- faults: a slow Slack, an outage, one broken channel ---------------------------------

    def slow(self, seconds: float, methods: Optional[Iterable[str]] = None) -> None:
        """Every answer to these methods (None: every Web API call and every response_url post)
        waits `seconds` first; 0 takes the delay away again."""
        with self._changed:
            for method in (ALL_CALLS,) if methods is None else tuple(methods):
                if seconds:
                    self._faults.delays[method] = seconds
                else:
                    self._faults.delays.pop(method, None)

    def outage(self, on: bool = True, responses: bool = False) -> None:
        """Slack is down: every Web API call (and with `responses`, every response_url post) gets HTTP 500."""
        with self._changed:
            self._faults.outage, self._faults.outage_responses = on, on and responses

    def channel_fault(self, channel: str, error: Optional[str] = "channel_not_found", seconds: float = 0.0) -> None:
        """Calls about one channel (posts, updates, conversations.info, file shares) wait `seconds`
        and then, unless `error` is None, fail with that Slack error code."""
        with self._changed:
            self._faults.channels[channel] = (error, seconds)

    def clear_faults(self) -> None:
        """No more faults (calls being delayed still finish their wait)."""
        with self._changed:
            held, self._faults = self._faults.held, Faults()
            self._faults.held = held

    def in_flight(self, method: str) -> int:
        """How many calls of `method` have arrived and are being delayed right now."""
        with self._changed:
            return self._faults.held.get(method, 0)

    def _faulty(self, handler, method: str, params: dict) -> bool:
        """Apply the faults to one call; True when it has been answered (an error) already."""
        with self._changed:
            faults = self._faults
            delay = faults.delays.get(method, faults.delays.get(ALL_CALLS, 0.0))
            channel = str(params.get("channel") or params.get("channel_id") or "")
            error, channel_delay = faults.channels.get(channel, (None, 0.0))
            down = faults.outage_responses if method == "response_url" else faults.outage
        delay = max(delay, channel_delay)
        if delay:
            with self._changed:
                self._faults.held[method] = self._faults.held.get(method, 0) + 1
            try:
                time.sleep(delay)
            finally:
                with self._changed:
                    self._faults.held[method] -= 1
        if down:
            self._record(method, params, handler.path)
            handler._send(500, "application/json; charset=utf-8", b'{"ok": false, "error": "fatal_error"}')
            return True
        if error and method != "response_url":
            self._record(method, params, handler.path)
            handler._send(200, "application/json; charset=utf-8", json.dumps({"ok": False, "error": error}).encode())
            return True
        return False

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if self.path.startswith("/upload/v1/"):  # the upload URL getUploadURLExternal handed out
                    self._upload(self.path.rsplit("/", 1)[-1], self.rfile.read(length))
                    return
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "view"):
                        if isinstance(params.get(key), str):
                            params[key] = json.loads(params[key])
                header = self.headers.get("Authorization") or ""
                token = header[len("Bearer "):] if header.startswith("Bearer ") else str(params.get("token") or "")
                if self.path.startswith("/response/"):
                    method, authorized = "response_url", True
                else:
                    method = self.path.rsplit("/", 1)[-1]
                    authorized = token == APP_TOKEN if method == "apps.connections.open" else server._token_ok(token)
                if server.slow_seconds and method != "response_url":
                    time.sleep(server.slow_seconds)
                if server._faulty(self, method, params):
                    return
                server._record(method, params, self.path, token)
                retry_after = server._limited(method)
                if retry_after is not None:
                    self._send(429, "application/json; charset=utf-8", b'{"ok": false, "error": "ratelimited"}',
                               {"Retry-After": retry_after})
                    return
                self._send(200, "application/json; charset=utf-8",
                           json.dumps(server._answer(method, params, authorized, token, header)).encode())

            def do_GET(self):
                path, _, query = self.path.partition("?")
                header = self.headers.get("Authorization") or ""
                token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
                authorized = server._token_ok(token)
                if path.startswith("/api/"):  # slack_sdk sends some methods (files.info) as GET
                    method = path.rsplit("/", 1)[-1]
                    params = {k: v[0] for k, v in parse_qs(query).items()}
                    if server._faulty(self, method, params):
                        return
                    server._record(method, params, self.path, token)
                    retry_after = server._limited(method)
                    if retry_after is not None:
                        self._send(429, "application/json; charset=utf-8", b'{"ok": false, "error": "ratelimited"}',
                                   {"Retry-After": retry_after})
                        return
                    self._send(200, "application/json; charset=utf-8",
                               json.dumps(server._answer(method, params, authorized, token)).encode())
                    return
                file_id = path.split("/")[2].rsplit("-", 1)[-1] if path.startswith("/files-pri/") else ""
                server._record("file_download", {"file": file_id, "authorized": authorized}, self.path)
                if file_id in server.files and authorized:
                    self._send(200, "application/octet-stream", server.files[file_id][1])
                else:  # Slack answers a missing or wrong token with its sign-in page
                    self._send(200, "text/html; charset=utf-8", b"<!DOCTYPE html><html>Sign in to Slack</html>")

            def _upload(self, file_id: str, content: bytes) -> None:
                """Slack's upload URL takes the raw bytes (or a multipart form) and answers in plain text."""
                server._record("file_upload", {"file_id": file_id, "bytes": len(content)}, self.path)
                if "file_upload" in server.failures:
                    self._send(500, "text/plain; charset=utf-8", server.failures["file_upload"].encode())
                    return
                upload = server.uploads.get(file_id)
                if upload is None:
                    self._send(404, "text/plain; charset=utf-8", b"unknown upload")
                    return
                with server._changed:
                    upload.content = content
                    server._changed.notify_all()
                self._send(200, "text/plain; charset=utf-8", f"OK - {len(content)}".encode())

            def _send(self, status: int, content_type: str, body: bytes, headers: Optional[dict] = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def serve_forever_from_the_command_line() -> None:
    """`python -m tests.slack_server [DELAY]`: a loopback Slack in its own process (for benches, so it
    does not share the measured process's GIL); prints its URL, then serves until killed."""
    import sys

    server = SlackServer().start()
    if len(sys.argv) > 1 and float(sys.argv[1]):
        server.slow(float(sys.argv[1]))
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    serve_forever_from_the_command_line()
