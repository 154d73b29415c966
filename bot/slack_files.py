"""Getting a file someone shared with the bot out of Slack (files:read scope).

Slack gives a file's private URL through files.info; downloading it needs the bot token.
The token is only ever sent to Slack's own hosts (or the SLACK_API_URL host, for tests and
Enterprise proxies), never to a URL that merely claims to be a file.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Optional
from urllib.parse import quote, urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sources import Reason

MAX_IMPORT_BYTES = 50 * 1024 * 1024  # a 100 000-row XLSX export is about 3 MB
DOWNLOAD_TIMEOUT_SECONDS = 60


class FileFetchError(Exception):
    """Why a shared file could not be fetched, in words for the person who shared it (`reason`
    carries a code, so the reply can word it in the reader's language)."""

    def __init__(self, text: str, code: Optional[str] = None, **detail) -> None:
        super().__init__(text)
        self.reason = Reason(text, code, **detail)


def _trusted(url: str, api_url: Optional[str]) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
        return True
    if api_url:
        api = urlsplit(api_url)
        return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
    return False


def file_name(info: dict, file_id: str) -> str:
    return str(info.get("name") or info.get("title") or file_id)[:200]


def fetch_file(client: WebClient, token: str, file_id: str, api_url: Optional[str] = None,
               max_bytes: int = MAX_IMPORT_BYTES) -> tuple[str, bytes]:
    """(file name, content) of a file shared with the bot; FileFetchError with the reason."""
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        code = exc.response.get("error", "error") if exc.response is not None else "error"
        hint = " (add the files:read scope to the Slack app and reinstall it)" if code == "missing_scope" else ""
        raise FileFetchError(f"Slack answered {code}{hint}", "fetch_scope" if hint else "fetch_slack_error",
                             error=code) from None
    name = file_name(info, file_id)
    if int(info.get("size") or 0) > max_bytes:
        raise FileFetchError(f"the file is larger than {max_bytes // (1024 * 1024)} MB", "fetch_too_large",
                             mb=max_bytes // (1024 * 1024))
    url = info.get("url_private_download") or info.get("url_private")
    if not url:
        raise FileFetchError("Slack gave no download link (is it an external file, e.g. Google Drive?)",
                             "fetch_no_link")
    if not _trusted(url, api_url):
        raise FileFetchError("the download link is not on slack.com", "fetch_untrusted")
    # Links are percent-encoded already; quote anything that is not (a name in Chinese, a space).
    request = urllib.request.Request(quote(url, safe=":/?&=%#+@;,~"), headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            content_type = response.headers.get("Content-Type", "")
            data = response.read(max_bytes + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        why = str(getattr(exc, "reason", exc.__class__.__name__))
        raise FileFetchError(f"the download failed ({why})", "fetch_failed", why=why) from None
    if len(data) > max_bytes:
        raise FileFetchError(f"the file is larger than {max_bytes // (1024 * 1024)} MB", "fetch_too_large",
                             mb=max_bytes // (1024 * 1024))
    if content_type.startswith("text/html") and not name.lower().endswith((".htm", ".html")):
        # What Slack sends instead of the file when the token may not read it.
        raise FileFetchError("Slack sent a sign-in page instead of the file (add the files:read scope "
                             "to the Slack app and reinstall it)", "fetch_sign_in")
    return name, data
