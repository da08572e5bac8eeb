"""A tiny local metrics endpoint speaking the service metric contract (for the preview and tests).

    with FakeServices(["memory-service"]) as fake:      # serves http://127.0.0.1:<port>/metrics
        fake.set_error_share("memory-service", 0.5)       # half of all requests now fail
        fake.set_slow_share("memory-service", 0.02)       # 2% of requests now take SLOW_SECONDS
        fake.set_down("memory-service")                   # its scrapes now fail (up == 0)

Counters grow with wall-clock time at a fixed request rate, so Prometheus sees real rates.
`/metrics?service=<name>` returns only that service's series: one scrape target per service,
as in the cluster (each gets its own `up`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from urllib.parse import parse_qs, urlparse

from mnops.observability.contract import LATENCY_BUCKETS_SECONDS
from mnops.observability.local_http import LocalServer, QuietHandler

REQUESTS_PER_SECOND = 100.0
IDLE_CPU_CORES = 0.05
IDLE_MEMORY_BYTES = 50_000_000
FAST_SECONDS = 0.02  # every healthy request: well inside every latency threshold
SLOW_SECONDS = 2.5  # a slow request: lands in the 2.5 s bucket, above the 1 s P99 alert


class FakeServices(LocalServer):
    def __init__(self, services: Sequence[str], host: str = "127.0.0.1") -> None:
        self.services = tuple(services)
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._error_share = dict.fromkeys(self.services, 0.0)
        self._errors = dict.fromkeys(self.services, 0.0)
        self._slow_share = dict.fromkeys(self.services, 0.0)
        self._slow = dict.fromkeys(self.services, 0.0)
        self._down: set[str] = set()
        self._memory = dict.fromkeys(self.services, IDLE_MEMORY_BYTES)
        self._last = self.started
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path != "/metrics":
                    self.send_error(404)
                    return
                wanted = parse_qs(url.query).get("service")
                if wanted and fake.is_down(wanted[0]):
                    self.send_error(503)  # Prometheus records up == 0 for this target
                    return
                body = fake.exposition(wanted[0] if wanted else None).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler, host)

    def _advance(self) -> float:
        """Accumulate errors at the current share; returns seconds since start."""
        now = time.monotonic()
        for name in self.services:
            self._errors[name] += (now - self._last) * REQUESTS_PER_SECOND * self._error_share[name]
            self._slow[name] += (now - self._last) * REQUESTS_PER_SECOND * self._slow_share[name]
        self._last = now
        return now - self.started

    def set_error_share(self, service: str, share: float) -> None:
        with self._lock:
            self._advance()
            self._error_share[service] = share

    def set_slow_share(self, service: str, share: float) -> None:
        """From now on this share of the service's requests takes SLOW_SECONDS."""
        with self._lock:
            self._advance()
            self._slow_share[service] = share

    def set_down(self, service: str, down: bool = True) -> None:
        """The service's scrapes fail (HTTP 503) until set_down(service, False)."""
        with self._lock:
            if down:
                self._down.add(service)
            else:
                self._down.discard(service)

    def is_down(self, service: str) -> bool:
        with self._lock:
            return service in self._down

    def set_memory_bytes(self, service: str, resident: int) -> None:
        """The service's resident memory (a gauge, so alerts on it react at the next scrape)."""
        with self._lock:
            self._memory[service] = resident

    def exposition(self, only: str | None) -> str:
        with self._lock:
            elapsed = self._advance()
            lines: list[str] = []
            for name in self.services:
                if only and name != only:
                    continue
                total = elapsed * REQUESTS_PER_SECOND
                errors = self._errors[name]
                svc = f'service="{name}"'
                lines += [
                    f'http_requests_total{{{svc},method="GET",route="/",code="200"}} {total - errors:.3f}',
                    f'http_requests_total{{{svc},method="GET",route="/",code="500"}} {errors:.3f}',
                ]
                slow = self._slow[name]
                for bound in LATENCY_BUCKETS_SECONDS:
                    count = (total - slow if bound >= FAST_SECONDS else 0.0) + (slow if bound >= SLOW_SECONDS else 0.0)
                    lines.append(f'http_request_duration_seconds_bucket{{{svc},method="GET",route="/",le="{bound}"}} {count:.3f}')
                lines += [
                    f'http_request_duration_seconds_bucket{{{svc},method="GET",route="/",le="+Inf"}} {total:.3f}',
                    f'http_request_duration_seconds_count{{{svc},method="GET",route="/"}} {total:.3f}',
                    f'http_request_duration_seconds_sum{{{svc},method="GET",route="/"}}'
                    f" {(total - slow) * FAST_SECONDS + slow * SLOW_SECONDS:.3f}",
                    f"process_cpu_seconds_total{{{svc}}} {elapsed * IDLE_CPU_CORES:.3f}",
                    f"process_resident_memory_bytes{{{svc}}} {self._memory[name]}",
                    f'mnops_cache_requests_total{{{svc},result="hit"}} {total * 0.95:.3f}',
                    f'mnops_cache_requests_total{{{svc},result="miss"}} {total * 0.05:.3f}',
                ]
            return "\n".join(lines) + "\n"
