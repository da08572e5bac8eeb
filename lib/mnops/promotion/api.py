"""Where the evidence comes from: the Argo CD and Prometheus HTTP APIs, or recorded answers.

A recording is one JSON file: {"argocd": {"<path?query>": <answer>}, "prometheus": {"<PromQL>":
<answer>}}; the same answers stand for every cluster of the source environment. Tests and offline
demos use recordings; the promote workflow uses the live APIs.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class EvidenceUnavailable(Exception):
    """An API could not answer (unreachable, refused, no recording for the request)."""


class Evidence(Protocol):
    """Answers the two questions the health gate asks a cluster."""

    def argocd(self, cluster: str, path: str, query: Mapping[str, str] | None = None) -> Any: ...

    def prometheus(self, cluster: str, promql: str) -> list[dict[str, Any]]: ...


def request_key(path: str, query: Mapping[str, str] | None) -> str:
    """Path plus the query in sorted order: the key of one request in a recording."""
    return path + ("?" + urllib.parse.urlencode(sorted(query.items())) if query else "")


def vector_of(answer: Any, promql: str) -> list[dict[str, Any]]:
    """The result list of a Prometheus instant-query answer, or EvidenceUnavailable."""
    if not isinstance(answer, dict) or answer.get("status") != "success":
        raise EvidenceUnavailable(f"Prometheus did not answer {promql!r} with success: {str(answer)[:200]}")
    data = answer.get("data") or {}
    if data.get("resultType") != "vector":
        raise EvidenceUnavailable(f"Prometheus answered {promql!r} with {data.get('resultType')!r}, not a vector")
    return list(data.get("result") or [])


@dataclass(frozen=True)
class Recorded:
    """Answers read from a recording file (see the module docstring)."""

    path: Path
    answers: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Recorded:
        try:
            text = path.read_text()
            answers = json.loads(text)
        except (OSError, json.JSONDecodeError) as error:
            raise EvidenceUnavailable(f"{path}: cannot read the recording: {error}") from error
        # The scenarios in tests/fixtures/promotion/ are templates the tests fill in per release: used
        # as they are, every request would be "not recorded", which says nothing about why.
        placeholders = sorted(set(re.findall(r"\{\{(\w+)\}\}", text)))
        if placeholders:
            raise EvidenceUnavailable(
                f"{path}: a template, not a recording: replace {', '.join('{{' + p + '}}' for p in placeholders)} "
                "with the release's names and image first"
            )
        return cls(path, answers)

    def argocd(self, cluster: str, path: str, query: Mapping[str, str] | None = None) -> Any:
        key = request_key(path, query)
        recorded = self.answers.get("argocd") or {}
        if key not in recorded:
            raise EvidenceUnavailable(f"{self.path.name}: no recorded Argo CD answer for GET {key}")
        return recorded[key]

    def prometheus(self, cluster: str, promql: str) -> list[dict[str, Any]]:
        recorded = self.answers.get("prometheus") or {}
        if promql not in recorded:
            raise EvidenceUnavailable(f"{self.path.name}: no recorded Prometheus answer for {promql}")
        return vector_of(recorded[promql], promql)


@dataclass(frozen=True)
class Live:
    """The real APIs. URLs may contain {cluster}; the Argo CD token is a bearer token."""

    argocd_url: str
    prometheus_url: str
    argocd_token: str = field(default="", repr=False)
    timeout_seconds: float = 15.0

    def _get(self, url: str, headers: Mapping[str, str]) -> Any:
        if not url.startswith(("https://", "http://")):
            raise EvidenceUnavailable(f"refusing to fetch {url!r}: only http(s) URLs")
        request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310 (scheme checked above)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                return json.load(response)
        except (OSError, ValueError) as error:
            raise EvidenceUnavailable(f"GET {url}: {error}") from error

    def argocd(self, cluster: str, path: str, query: Mapping[str, str] | None = None) -> Any:
        url = self.argocd_url.format(cluster=cluster).rstrip("/") + request_key(path, query)
        headers = {"Authorization": f"Bearer {self.argocd_token}"} if self.argocd_token else {}
        return self._get(url, headers)

    def prometheus(self, cluster: str, promql: str) -> list[dict[str, Any]]:
        base = self.prometheus_url.format(cluster=cluster).rstrip("/")
        answer = self._get(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}", {})
        return vector_of(answer, promql)
