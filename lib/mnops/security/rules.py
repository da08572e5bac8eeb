"""Cross-field rules of the security sections (run after the schema passed; see mnops.inventory)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mnops import units
from mnops.errors import Problem
from mnops.inventory.layers import deep_merge
from mnops.inventory.rules import Rule
from mnops.security.secret_names import RULES as RULES_OF_STORE
from mnops.security.secret_names import secret_paths, store_names

Params = Mapping[str, Any]

# Which DNS-01 provider can answer for which cloud.
DNS01_FOR_CLOUD = {"aws": "route53", "gcp": "cloud-dns", "azure": "azure-dns"}
DNS01_REQUIRED_FIELDS = {
    "route53": ("region",),
    "cloud-dns": ("project",),
    "azure-dns": ("subscription_id", "resource_group", "hosted_zone"),
}
PUBLIC_CA_ENVIRONMENTS = ("staging", "prod")


def routes_are_consistent(target: str, params: Params) -> Iterator[Problem]:
    """Public paths are unique and never prefixes of one another; route settings need a public path."""
    paths: dict[str, str] = {}
    for name in sorted(params["services"]):
        service = params["services"][name]
        path = service.get("public_path")
        if "route" in service and not path:
            yield Problem(target, f"parameters.services.{name}.route", "route settings", "a public_path for the route",
                          "an internal service has no gateway route to configure")  # fmt: skip
        if not path:
            continue
        for other_path, other in paths.items():
            a, b = path.rstrip("/") + "/", other_path.rstrip("/") + "/"
            if a.startswith(b) or b.startswith(a):
                yield Problem(target, f"parameters.services.{name}.public_path", repr(path),
                              f"a path that does not overlap {other}'s {other_path!r}",
                              "overlapping prefixes route requests to the wrong service")  # fmt: skip
        paths[path] = name
        route = deep_merge(params["gateway"]["route_defaults"], service.get("route", {}))
        if units.duration_seconds(route["per_try_timeout"]) > units.duration_seconds(route["timeout"]):
            yield Problem(target, f"parameters.services.{name}.route.per_try_timeout", repr(route["per_try_timeout"]),
                          f"at most the whole-request timeout {route['timeout']!r}")  # fmt: skip
        per_client, total = route["rate_limit_per_client"], route["rate_limit_total"]
        if per_client["unit"] == total["unit"] and per_client["requests"] > total["requests"]:
            yield Problem(target, f"parameters.services.{name}.route.rate_limit_per_client", str(per_client["requests"]),
                          f"at most the route's total limit ({total['requests']} per {total['unit']})")  # fmt: skip


def certificates_renew_early(target: str, params: Params) -> Iterator[Problem]:
    cert = params["tls"]["certificate"]
    lifetime, renew = units.duration_seconds(cert["duration"]), units.duration_seconds(cert["renew_before"])
    if not lifetime // 3 <= renew < lifetime:
        yield Problem(target, "parameters.tls.certificate.renew_before", repr(cert["renew_before"]),
                      f"between a third of the lifetime and the lifetime ({cert['duration']})",
                      "renewing late leaves no time to fix a failing issuer; renewing always loops")  # fmt: skip
    alert = params["tls"]["expiry_alert"]
    if units.duration_seconds(alert["critical_before"]) >= units.duration_seconds(alert["warning_before"]):
        yield Problem(target, "parameters.tls.expiry_alert.critical_before", repr(alert["critical_before"]),
                      f"shorter than warning_before ({alert['warning_before']})")  # fmt: skip
    if units.duration_seconds(alert["warning_before"]) >= renew:
        yield Problem(target, "parameters.tls.expiry_alert.warning_before", repr(alert["warning_before"]),
                      f"shorter than renew_before ({cert['renew_before']})", "or healthy certificates warn")  # fmt: skip


def issuer_fits_environment(target: str, params: Params) -> Iterator[Problem]:
    env, tls = params["cluster"]["environment"], params["tls"]
    if env in PUBLIC_CA_ENVIRONMENTS and tls["issuer"] != "acme":
        yield Problem(target, "parameters.tls.issuer", repr(tls["issuer"]), f"'acme' in {env}",
                      "clients only trust publicly issued certificates")  # fmt: skip
    if tls["issuer"] != "acme":
        return
    cloud, provider = params["cloud"]["provider"], tls["dns01"]["provider"]
    if DNS01_FOR_CLOUD[cloud] != provider:
        yield Problem(target, "parameters.tls.dns01.provider", repr(provider), repr(DNS01_FOR_CLOUD[cloud]),
                      f"include the DNS-01 solver of cloud.{cloud}")  # fmt: skip
    for key in DNS01_REQUIRED_FIELDS[provider]:
        if not tls["dns01"].get(key):
            yield Problem(target, f"parameters.tls.dns01.{key}", "nothing", f"a value for the {provider} solver")


def production_is_enforced(target: str, params: Params) -> Iterator[Problem]:
    if params["cluster"]["environment"] != "prod":
        return
    if params["admission"]["failure_action"] != "Enforce":
        yield Problem(target, "parameters.admission.failure_action", repr(params["admission"]["failure_action"]),
                      "'Enforce' in prod", "Audit only reports violations")  # fmt: skip
    if params["security_controllers"]["replicas"] < 2:
        yield Problem(target, "parameters.security_controllers.replicas", str(params["security_controllers"]["replicas"]),
                      "at least 2 in prod", "one controller pod is a single point of failure")  # fmt: skip


def secret_keys_are_renderable(target: str, params: Params) -> Iterator[Problem]:
    """A connection string URL has one path: from a database property or a fixed path, not both."""
    used = {key for s in params["services"].values() for ref in s.get("secret_refs", []) for key in ref["keys"]}
    for key, spec in sorted(params["secrets"]["connection_strings"].items()):
        if key in used and "database_property" in spec and "path" in spec:
            yield Problem(target, f"parameters.secrets.connection_strings.{key}", "both database_property and path",
                          "one of them", "the URL has one path")  # fmt: skip


def mesh_charts_follow_mesh(target: str, params: Params) -> Iterator[Problem]:
    enabled = params["mesh"]["enabled"]
    for key in ("istio-base", "istio-cni", "istiod"):
        chart = params["charts"].get(key)
        if chart is not None and chart["enabled"] != enabled:
            yield Problem(target, f"parameters.charts.{key}.enabled", str(chart["enabled"]),
                          f"{enabled} like parameters.mesh.enabled")  # fmt: skip


def mesh_folder_follows_mesh(target: str, params: Params) -> Iterator[Problem]:
    """The `mesh` manifests folder exists exactly where the mesh is on; Argo CD syncs declared folders."""
    enabled, declared = params["mesh"]["enabled"], "mesh" in params["apps"]
    if enabled and not declared:
        yield Problem(target, "parameters.apps.mesh", "nothing", "a folder entry (wave 0) where mesh.enabled is true",
                      "without it Argo CD never syncs the Istio objects")  # fmt: skip
    if declared and not enabled:
        yield Problem(target, "parameters.apps.mesh", "a folder entry", "no mesh folder while mesh.enabled is false",
                      "the folder is empty, so its Argo CD Application would point at nothing")  # fmt: skip


def secret_names_fit_the_store(target: str, params: Params) -> Iterator[Problem]:
    """Each secret path becomes a name the cloud's store accepts (mnops.security.secret_names), and no
    two paths become the same name: one ExternalSecret would read, and one grant name, another's secret."""
    provider = params["cloud"]["secret_store"]["provider"]
    rule = RULES_OF_STORE[provider]
    keys = secret_paths(params)
    taken: dict[str, str] = {}
    for path, name in store_names(params).items():
        if not rule.valid.match(name):
            yield Problem(target, keys[path], f"{path!r} (as {name!r})", f"a {provider} secret name: {rule.text}")
            continue
        same = name.lower() if rule.ignores_case else name
        if same in taken:
            yield Problem(target, keys[path], f"{path!r}, which becomes {name!r} like {taken[same]!r} ({keys[taken[same]]})",
                          f"a path with a {provider} name of its own")  # fmt: skip
        taken.setdefault(same, path)


RULES: tuple[Rule, ...] = (
    routes_are_consistent,
    certificates_renew_early,
    issuer_fits_environment,
    production_is_enforced,
    secret_keys_are_renderable,
    mesh_charts_follow_mesh,
    mesh_folder_follows_mesh,
    secret_names_fit_the_store,
)
