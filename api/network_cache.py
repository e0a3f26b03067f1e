"""The service network as the API sees it: loaded from the database, kept for a few seconds.

Networks change rarely (an admin import); every request needs one (rule checks, scopes), so it is
cached with a short lifetime, and dropped at once when this process imports a new one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from domain.network import Network

DEFAULT_TTL_SECONDS = 5.0


class NetworkCache:
    def __init__(self, load: Callable[[], Network], ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self._load = load
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._network: Network | None = None
        self._loaded_at = 0.0
        self._subtrees: dict[str, frozenset[str]] = {}

    def get(self) -> Network:
        with self._lock:
            if self._network is None or time.monotonic() - self._loaded_at > self._ttl:
                self._network = self._load()
                self._loaded_at = time.monotonic()
                self._subtrees = {}
            return self._network

    def subtree(self, point_id: str) -> frozenset[str]:
        network = self.get()
        with self._lock:
            found = self._subtrees.get(point_id)
            if found is None:
                found = self._subtrees[point_id] = frozenset(network.subtree(point_id))
            return found

    def invalidate(self) -> None:
        with self._lock:
            self._network = None
