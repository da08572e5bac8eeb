"""Security hardening and the API gateway: one folder per concern under manifests/.

Folders: gateway, routes, certificates, secrets, network-policies, rbac, policies and (only when
mesh.enabled) mesh. The objects are built in lib/mnops/security/objects.py.
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, output
from mnops.security.model import security_settings
from mnops.security.objects import security_folders


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    return output(security_folders(target, security_settings(target)))
