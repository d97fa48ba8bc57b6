"""The sandbox's browser for Spotify's consent page: what a person does in `infra.ops auth spotify`
— open the authorize URL, pick the account, agree — played against the accounts simulator, after
which the simulator's redirect is followed to the CLI's real loopback server."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx

_REQUEST_FIELD = re.compile(r'name="request" value="([^"]+)"')


class ConsentBrowser:
    def __init__(self, accounts: httpx.BaseTransport, user_id: str, *, approve: bool = True):
        self._client = httpx.Client(transport=accounts, follow_redirects=False)
        self.user_id = user_id
        self.approve = approve
        self.pages_seen: list[str] = []

    def open(self, authorize_url: str) -> None:
        page = self._client.get(authorize_url)
        self.pages_seen.append(page.text)
        if page.status_code != 200:
            raise RuntimeError(f"the consent page answered {page.status_code}: {page.text[:200]}")
        found = _REQUEST_FIELD.search(page.text)
        if found is None:
            raise RuntimeError("the consent page has no authorisation form")
        decision = self._client.post(
            urljoin(authorize_url, "/authorize/decision"),
            data={"request": found.group(1), "user": self.user_id, "decision": "approve" if self.approve else "deny"},
        )
        location = decision.headers.get("Location")
        if decision.status_code not in (302, 303) or not location:
            raise RuntimeError(f"the consent decision answered {decision.status_code}: {decision.text[:200]}")
        if not location.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the consent decision redirected away from the CLI's loopback server: {location}")
        # The loopback redirect: a real request to the CLI's plain-HTTP server. No certificate to check
        # there, and httpx would load the CA bundle for it (~23 ms for each account authorised).
        httpx.get(location, timeout=10.0, verify=False)
