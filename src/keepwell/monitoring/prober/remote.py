"""The client of a remote prober: pull assignments from the hub and push results to it, with a prober token.

No database and no Django here: a remote prober runs on another machine with nothing but the hub's address,
its token and its location's name.
"""

import httpx

from .runner import FatalError
from .wire import assignment_from_json, outcome_to_json

API = "/api/v1/prober"


class RemoteBackend:
    """Claim, report and release through the hub's prober API."""

    def __init__(self, hub: str, token: str, location: str, *, horizon: float = 2.0, client=None):
        self.hub = hub.rstrip("/")
        self.location = location
        self.horizon = horizon
        self.client = client or httpx.AsyncClient(timeout=30.0)
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": "keepwell-prober"}

    async def _post(self, path: str, payload: dict) -> dict:
        response = await self.client.post(f"{self.hub}{API}{path}", json=payload, headers=self.headers)
        # A refusal (bad token, wrong location, wrong address) does not heal by retrying: stop and say why.
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            detail = _detail(response)
            if response.status_code == 404:
                detail = f"{self.hub} has no prober API ({detail}); check --hub"
            raise FatalError(f"The hub refused this prober: {detail}")
        response.raise_for_status()
        return response.json()

    async def claim(self, limit: int):
        data = await self._post(
            "/lease", {"location": self.location, "limit": min(limit, 1000), "horizon": self.horizon}
        )
        return [assignment_from_json(item) for item in data["items"]]

    async def report(self, outcomes) -> None:
        await self._post(
            "/results", {"location": self.location, "results": [outcome_to_json(o) for o in outcomes]}
        )

    async def release(self, ids) -> None:
        await self._post("/release", {"location": self.location, "ids": list(ids)})

    async def close(self) -> None:
        await self.client.aclose()


def _detail(response) -> str:
    try:
        return str(response.json().get("detail") or response.text)[:300]
    except ValueError:
        return f"HTTP {response.status_code}"
