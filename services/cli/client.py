"""A thin HTTP client of the gateway for the ``kbm`` command."""

from __future__ import annotations

from typing import Any

import httpx

from shared.errors import KbmError


class GatewayError(KbmError):
    """The gateway could not be reached or refused a request; the message says why."""


class GatewayClient:
    """Call the gateway's JSON routes and unwrap ``{"success", "data"}``."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=30.0, transport=transport
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request; return its ``data`` or raise ``GatewayError``."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as ex:
            raise GatewayError(
                f"cannot reach the gateway at {self.base_url} ({ex}); start it with "
                "`kbm api` or `make up`, or set API_URL"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 401:
            # The gateway speaks of headers; kbm sends the one API_TOKEN holds.
            raise GatewayError(
                f"the gateway at {self.base_url} refused the token: set API_TOKEN to the "
                "gateway's (or to a read token for commands that only read)"
            )
        if response.is_error or not isinstance(body, dict):
            raise GatewayError(self._describe(response, body))
        return body.get("data")

    @staticmethod
    def _describe(response: httpx.Response, body: Any) -> str:
        where = f"{response.request.method} {response.request.url.path}"
        if isinstance(body, dict) and ("detail" in body or "title" in body):
            field = f" [{body['field']}]" if body.get("field") else ""
            return f"{where}: {response.status_code} {body.get('title', '')}{field}: " + str(
                body.get("detail", "")
            )
        return f"{where}: HTTP {response.status_code} {response.text[:200]}"

    def submit(
        self,
        *,
        urls: list[str],
        stages: list[str] | None = None,
        priority: str = "normal",
        run_at: str | None = None,
    ) -> dict[str, Any]:
        """Create a pipeline task for URLs (to start at ``run_at``, ISO 8601, if given)."""
        body: dict[str, Any] = {"urls": urls, "priority": priority}
        if stages:
            body["stages"] = stages
        if run_at:
            body["run_at"] = run_at
        data: dict[str, Any] = self.request("POST", "/api/pipeline", json=body)
        return data

    def task(self, task_id: int) -> dict[str, Any]:
        """Return a task's status."""
        data: dict[str, Any] = self.request("GET", f"/api/tasks/history/{task_id}")
        return data

    def items(self, task_id: int, *, status: str | None = None) -> list[dict[str, Any]]:
        """Return all of a task's items (every page)."""
        items: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"limit": 1000, "offset": len(items)}
            if status:
                params["status"] = status
            page = self.request("GET", f"/api/tasks/history/{task_id}/items", params=params)
            items.extend(page["items"])
            if not page["items"] or len(items) >= page["total"]:
                return items

    def retry(self, task_id: int) -> dict[str, Any]:
        """Retry a task's failed items."""
        data: dict[str, Any] = self.request("POST", f"/api/tasks/history/{task_id}/retry")
        return data

    def cancel(self, task_id: int) -> dict[str, Any]:
        """Cancel a task."""
        data: dict[str, Any] = self.request("POST", f"/api/tasks/history/{task_id}/cancel")
        return data

    def queues(self) -> dict[str, Any]:
        """Return queue depths."""
        data: dict[str, Any] = self.request("GET", "/api/monitoring/queues")
        return data

    def workers(self) -> dict[str, Any]:
        """Return the workers seen by Redis."""
        data: dict[str, Any] = self.request("GET", "/api/monitoring/workers")
        return data

    def dead_letters(self, *, queue: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return dead letters with their recorded error."""
        params: dict[str, Any] = {"limit": limit}
        if queue:
            params["queue"] = queue
        data = self.request("GET", "/api/monitoring/dead-letters", params=params)
        letters: list[dict[str, Any]] = data["dead_letters"]
        return letters

    def requeue(self, ids: list[str] | None) -> dict[str, Any]:
        """Send dead letters again (``None``: all of them)."""
        body: dict[str, Any] = {"all": True} if ids is None else {"ids": ids}
        data: dict[str, Any] = self.request(
            "POST", "/api/monitoring/dead-letters/requeue", json=body
        )
        return data

    def add_feed(
        self,
        url: str,
        *,
        every: str | None = None,
        stages: list[str] | None = None,
        priority: str | None = None,
    ) -> dict[str, Any]:
        """Register a feed (or change what is given of the one with this URL)."""
        body: dict[str, Any] = {"url": url}
        if priority:
            body["priority"] = priority
        if every:
            body["every"] = every
        if stages:
            body["stages"] = stages
        data: dict[str, Any] = self.request("POST", "/api/feeds", json=body)
        return data

    def feeds(self) -> list[dict[str, Any]]:
        """Return every registered feed."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", "/api/feeds", params={"limit": 200, "offset": len(found)})
            found += page["feeds"]
            if not page["feeds"] or len(found) >= page["total"]:
                return found

    def feed(self, feed_id: int) -> dict[str, Any]:
        """Return one feed."""
        data: dict[str, Any] = self.request("GET", f"/api/feeds/{feed_id}")
        return data

    def set_feed_paused(self, feed_id: int, paused: bool) -> dict[str, Any]:
        """Pause or resume a feed."""
        data: dict[str, Any] = self.request(
            "PATCH", f"/api/feeds/{feed_id}", json={"paused": paused}
        )
        return data

    def remove_feed(self, feed_id: int) -> dict[str, Any]:
        """Forget a feed."""
        data: dict[str, Any] = self.request("DELETE", f"/api/feeds/{feed_id}")
        return data
