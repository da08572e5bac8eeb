"""The name a secret has in the cloud's secret store, from the path the inventory gives it.

The inventory names secrets by path (`secrets.key_prefix` + a service's secret reference, a platform
secret's `remote_key`, Redis's password, Argo CD's cluster entry). AWS Secrets Manager takes the path as it is; GCP Secret
Manager (`[A-Za-z0-9_-]{1,255}`) and Azure Key Vault (`[0-9A-Za-z-]{1,127}`, case-insensitive) have no `/`, so every
`/` becomes `_` on GCP and `--` on Azure:

    machine-native-ops/prod/redis  ->  machine-native-ops_prod_redis     (gcp-secret-manager)
                                   ->  machine-native-ops--prod--redis   (azure-key-vault)

The ExternalSecrets read these names and the cloud layer grants exactly these names, both through
`store_name`. A path whose name is still invalid, or two paths that end up with the same name, fail the
compile (mnops.security.rules) rather than reading or granting the wrong secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Params = Mapping[str, Any]


@dataclass(frozen=True)
class NameRule:
    separator: str  # what each `/` of a path becomes
    valid: re.Pattern[str]
    text: str  # the store's rule, as the error states it
    ignores_case: bool = False  # Key Vault: `Redis` and `redis` are one secret


RULES: dict[str, NameRule] = {
    "aws-secrets-manager": NameRule("/", re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$"), "1-512 of A-Z a-z 0-9 / _ + = . @ -"),
    "gcp-secret-manager": NameRule("_", re.compile(r"^[A-Za-z0-9_-]{1,255}$"), "1-255 of A-Z a-z 0-9 _ - ('/' becomes '_')"),
    "azure-key-vault": NameRule(
        "--", re.compile(r"^[0-9A-Za-z-]{1,127}$"), "1-127 of A-Z a-z 0-9 - ('/' becomes '--')", ignores_case=True
    ),
}


def store_name(provider: str, path: str) -> str:
    """The secret's name in `provider`'s store (`cloud.secret_store.provider`)."""
    return path.replace("/", RULES[provider].separator)


def installed(params: Params, namespace: str) -> bool:
    """Whether something the target deploys creates the namespace: a declared project namespace or the
    namespace of an enabled chart (a platform secret is only read where its component runs)."""
    charts = params["charts"].values()
    return namespace in params["namespaces"].values() or any(c["enabled"] and c["namespace"] == namespace for c in charts)


def secret_paths(params: Params) -> dict[str, str]:
    """Every secret path the target's ExternalSecrets read -> the inventory key that names it."""
    secrets = params["secrets"]
    found: dict[str, str] = {}
    for name in sorted(params["services"]):
        for index, ref in enumerate(params["services"][name].get("secret_refs", ())):
            found.setdefault(f"{secrets['key_prefix']}{ref['name']}", f"parameters.services.{name}.secret_refs[{index}].name")
    for name, secret in sorted(secrets.get("platform_secrets", {}).items()):
        if installed(params, secret["namespace"]):
            found.setdefault(secret["remote_key"], f"parameters.secrets.platform_secrets.{name}.remote_key")
    redis = params.get("redis", {}).get("password", {}).get("remote_key")
    if redis:
        found.setdefault(redis.format(cluster=params["cluster"]["name"]), "parameters.redis.password.remote_key")
    entry = params.get("argocd", {}).get("cluster_entry", {}).get("remote_key")
    if entry:
        found.setdefault(entry, "parameters.argocd.cluster_entry.remote_key")
    return found


def store_names(params: Params) -> dict[str, str]:
    """Every secret path of the target -> its name in the target's store (checked by the rules)."""
    provider = params["cloud"]["secret_store"]["provider"]
    return {path: store_name(provider, path) for path in sorted(secret_paths(params))}
