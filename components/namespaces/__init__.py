"""Namespaces the project owns, with Pod Security Admission labels.

Output: manifests/namespaces/namespace.yaml. Synced first (Argo CD wave -10).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.inventory import Target
from mnops.k8s.core import namespace


def namespaces(target: Target) -> list[dict[str, Any]]:
    return [
        namespace(name, identity(target, name, "namespace"), pod_security="restricted")
        for name in sorted(set(target.namespaces.values()))
    ]


def main(input_params: dict[str, Any]) -> Any:
    return output({"namespaces": namespaces(current_target())})
