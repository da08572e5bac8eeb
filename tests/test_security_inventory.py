"""The security sections of the inventory: bad values are rejected, and the objects follow the
inventory (dependency graph, routes, secret references, mesh switch, chart values)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from conftest import CRD_SCHEMAS
from security_support import TARGETS, folder_documents, kinds, parameters, with_monitoring

from mnops.errors import BuildError
from mnops.inventory import problems_in
from mnops.inventory.model import build_target
from mnops.k8s import access, tls
from mnops.k8s.meta import Identity
from mnops.k8s.netpol import Peer, Rule, network_policy
from mnops.security.model import security_settings
from mnops.security.network import network_policies
from mnops.security.objects import mesh_objects, secret_objects
from mnops.security.values import chart_values

IDENT = Identity("x", "test", "machine-native-ops", "dev", "dev")


def mutated(target: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    params = copy.deepcopy(dict(parameters()[target]))
    change(params)
    return params


def problem_paths(target: str, params: dict[str, Any]) -> set[str]:
    return {p.path for p in problems_in(target, params)}


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_passes_the_security_rules(target: str) -> None:
    assert problems_in(target, parameters()[target]) == []


def switch_mesh(params: dict[str, Any], *, on: bool) -> None:
    """The mesh and its charts together (so only the folder rule can complain)."""
    params["mesh"]["enabled"] = on
    for chart in ("istio-base", "istio-cni", "istiod"):
        params["charts"][chart]["enabled"] = on


REJECTED: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    ("prod", "prod_rejects_a_private_ca", lambda p: p["tls"].update(issuer="private-ca"), "parameters.tls.issuer"),
    ("prod", "prod_rejects_audit_only_admission", lambda p: p["admission"].update(failure_action="Audit"),
     "parameters.admission.failure_action"),
    ("prod", "prod_rejects_a_single_controller", lambda p: p["security_controllers"].update(replicas=1),
     "parameters.security_controllers.replicas"),
    ("staging", "late_renewal_is_rejected", lambda p: p["tls"]["certificate"].update(renew_before="5d"),
     "parameters.tls.certificate.renew_before"),
    ("staging", "dns01_of_another_cloud_is_rejected", lambda p: p["tls"]["dns01"].update(provider="cloud-dns", project="x"),
     "parameters.tls.dns01.provider"),
    ("dev", "overlapping_public_paths_are_rejected",
     lambda p: p["services"]["reporting-service"].update(public_path="/api/memory/reports"),
     "parameters.services.reporting-service.public_path"),
    ("dev", "route_on_an_internal_service_is_rejected",
     lambda p: p["services"]["memory-service"].pop("public_path"), "parameters.services.memory-service.route"),
    ("dev", "per_client_limit_above_route_limit_is_rejected",
     lambda p: p["gateway"]["route_defaults"]["rate_limit_per_client"].update(requests=5000),
     "parameters.services.memory-service.route.rate_limit_per_client"),
    ("dev", "mesh_charts_without_the_mesh_are_rejected", lambda p: p["charts"]["istiod"].update(enabled=True),
     "parameters.charts.istiod.enabled"),
    ("dev", "mesh_without_its_folder_is_rejected", lambda p: switch_mesh(p, on=True), "parameters.apps.mesh"),
    ("staging", "mesh_folder_without_the_mesh_is_rejected", lambda p: switch_mesh(p, on=False), "parameters.apps.mesh"),
    ("dev", "unknown_gateway_key_is_rejected", lambda p: p["gateway"].update(tls_version="1.2"), "parameters.gateway"),
    ("dev", "wildcard_cors_origin_is_rejected", lambda p: p["gateway"]["cors"].update(allow_origins=["*"]),
     "parameters.gateway.cors.allow_origins[0]"),
]  # fmt: skip


@pytest.mark.parametrize(("target", "name", "change", "path"), REJECTED, ids=[r[1] for r in REJECTED])
def test_bad_security_inventory_is_rejected(target: str, name: str, change: Callable[[dict[str, Any]], None], path: str) -> None:
    if name == "route_on_an_internal_service_is_rejected":
        base = change

        def change(p: dict[str, Any]) -> None:
            base(p)
            p["services"]["memory-service"]["route"] = {"timeout": "5s"}

    paths = problem_paths(target, mutated(target, change))
    assert any(p.startswith(path) for p in paths), paths


def policies_by_name(params: dict[str, Any], target: str = "dev") -> dict[str, dict[str, Any]]:
    t = build_target(params)
    return {
        p["metadata"]["name"]: p
        for p in network_policies(t, security_settings(t))
        if p["metadata"]["namespace"] == t.namespaces["apps"]
    }


def ingress_names(policy: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for rule in policy["spec"]["ingress"]:
        for peer in rule["from"]:
            for expr in peer.get("podSelector", {}).get("matchExpressions", []):
                names.update(expr.get("values", []))
    return names


def test_a_new_dependency_opens_exactly_one_path() -> None:
    before = policies_by_name(mutated("dev", lambda p: None))
    after = policies_by_name(
        mutated("dev", lambda p: p["services"]["configuration-service"]["dependencies"].update(services=["supply-chain-service"]))
    )
    assert "configuration-service" not in ingress_names(before["supply-chain-service"])
    assert "configuration-service" in ingress_names(after["supply-chain-service"])
    assert ingress_names(before["memory-service"]) == ingress_names(after["memory-service"])


def test_a_service_without_dependents_is_reachable_only_from_gateway_and_prometheus() -> None:
    policy = policies_by_name(mutated("dev", lambda p: None))["reporting-service"]
    namespaces = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for r in policy["spec"]["ingress"]
        for peer in r["from"]
    }
    assert ingress_names(policy) == set()
    assert namespaces == {"envoy-gateway-system", "monitoring"}


def test_data_stores_accept_only_their_declared_users() -> None:
    params = mutated("dev", lambda p: None)
    t = build_target(params)
    data = {
        p["metadata"]["name"]: p
        for p in network_policies(t, security_settings(t))
        if p["metadata"]["namespace"] == t.namespaces["data"]
    }
    redis_users = set(data["redis"]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"])
    assert redis_users == {s.name for s in t.services if s.dependencies.redis} != set()
    pg_users = set(data["postgres"]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"])
    assert pg_users == {s.name for s in t.services if s.dependencies.postgres} != set()


@pytest.mark.parametrize("target", TARGETS)
def test_one_external_secret_per_secret_reference_with_the_rotation_refresh(target: str) -> None:
    params = parameters()[target]
    refs = sorted(r["name"] for s in params["services"].values() for r in s.get("secret_refs", []))
    from mnops.security.objects import namespace_exists

    t = build_target(params)
    platform = [n for n, p in params["secrets"]["platform_secrets"].items() if namespace_exists(t, p["namespace"])]
    refs = sorted(refs + platform)
    secrets = [d for d in folder_documents(target, "secrets") if d["kind"] == "ExternalSecret"]
    assert sorted(s["metadata"]["name"] for s in secrets) == refs
    assert {s["spec"]["refreshInterval"] for s in secrets} == {params["secrets"]["refresh_interval"]}


def test_connection_strings_are_templates_over_the_remote_secret() -> None:
    t = build_target(mutated("prod", lambda p: None))
    (es,) = [o for o in secret_objects(t, security_settings(t)) if o["metadata"]["name"] == "memory-service-db"]
    url = es["spec"]["target"]["template"]["data"]["DATABASE_URL"]
    assert url.startswith("postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}@")
    assert {d["remoteRef"]["property"] for d in es["spec"]["data"]} == {"username", "password", "database"}


@pytest.mark.parametrize("target", TARGETS)
def test_every_public_path_has_a_route(target: str) -> None:
    params = parameters()[target]
    expected = {name: s["public_path"] for name, s in params["services"].items() if s.get("public_path")}
    routes = {
        r["metadata"]["name"]: r["spec"]["rules"][0]["matches"][0]["path"]["value"]
        for r in kinds(target, "HTTPRoute")
        if r["spec"]["rules"][0].get("backendRefs")
    }
    assert routes == expected


def test_mesh_switch_controls_every_istio_object() -> None:
    for target in TARGETS:
        istio = kinds(target, "PeerAuthentication") + kinds(target, "AuthorizationPolicy")
        assert bool(istio) == parameters()[target]["mesh"]["enabled"], target
    t = build_target(mutated("dev", lambda p: p["mesh"].update(enabled=True)))
    assert mesh_objects(t, security_settings(t))


def test_prod_chart_values_are_highly_available_and_hardened() -> None:
    t = build_target(mutated("prod", lambda p: None))
    values = chart_values(t, security_settings(t))
    assert set(values) == {"cert-manager", "external-secrets", "envoy-gateway", "kyverno"}
    assert values["cert-manager"]["replicaCount"] >= 2
    assert values["cert-manager"]["containerSecurityContext"]["readOnlyRootFilesystem"] is True
    annotation = t.cloud["workload_identity"]["annotation"]
    assert values["external-secrets"]["serviceAccount"]["annotations"][annotation].endswith(
        "prod-external-secrets-external-secrets"
    )
    assert values["kyverno"]["admissionController"]["replicas"] == 3
    assert values["envoy-gateway"]["deployment"]["replicas"] >= 2


def test_staging_gets_mesh_chart_values() -> None:
    t = build_target(mutated("staging", lambda p: None))
    assert {"istio-base", "istio-cni", "istiod"} <= set(chart_values(t, security_settings(t)))


def test_network_rule_without_peers_is_refused() -> None:
    with pytest.raises(BuildError, match="at least one peer"):
        network_policy("x", "ns", IDENT, pod_selector={}, ingress=[Rule([], tcp_ports=[80])])


def test_network_rule_without_ports_is_refused() -> None:
    with pytest.raises(BuildError, match="at least one port"):
        network_policy("x", "ns", IDENT, pod_selector={}, ingress=[Rule([Peer(all_pods=True)])])


def test_default_deny_keeps_its_empty_selector() -> None:
    policy = network_policy("default-deny", "ns", IDENT, pod_selector={}, ingress=[], egress=[])
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_certificate_renewed_too_late_is_refused() -> None:
    with pytest.raises(BuildError, match="a third of the lifetime"):
        tls.certificate("c", "ns", IDENT, issuer="i", secret_name="s",  # noqa: S106 - a Secret name
                        dns_names=["a.example.com"],
                        duration_seconds=90 * 86400, renew_before_seconds=86400)  # fmt: skip


def test_role_with_wildcard_or_secrets_is_refused() -> None:
    with pytest.raises(BuildError, match="wildcard"):
        access.role("r", "ns", IDENT, [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}])
    with pytest.raises(BuildError, match="secrets"):
        access.role("r", "ns", IDENT, [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])


def test_gcp_and_azure_secret_stores_use_workload_identity() -> None:
    from mnops.k8s.external_secrets import cluster_secret_store

    gcp = cluster_secret_store("s", IDENT, provider="gcp-secret-manager", settings={"project": "p"}, service_account="eso",
                               service_account_namespace="eso", cluster_name="c", cluster_region="r")  # fmt: skip
    azure = cluster_secret_store("s", IDENT, provider="azure-key-vault", settings={"vault_url": "https://v"},
                                 service_account="eso", service_account_namespace="eso", cluster_name="c",
                                 cluster_region="r")  # fmt: skip
    assert "workloadIdentity" in gcp["spec"]["provider"]["gcpsm"]["auth"]
    assert azure["spec"]["provider"]["azurekv"]["authType"] == "WorkloadIdentity"


def test_other_clouds_secret_stores_and_issuers_are_schema_valid() -> None:
    """Targets are all AWS today; the GCP and Azure variants must already validate against the CRDs."""
    import os

    from mnops.k8s.external_secrets import cluster_secret_store
    from mnops.manifest_validation import validate_document

    location = CRD_SCHEMAS
    if not os.path.isdir(location):
        pytest.skip("no local CRD schemas")
    common = {
        "service_account": "external-secrets",
        "service_account_namespace": "external-secrets",
        "cluster_name": "c",
        "cluster_region": "r",
    }
    docs = [
        cluster_secret_store("gcp", IDENT, provider="gcp-secret-manager", settings={"project": "p"}, **common),
        cluster_secret_store("azure", IDENT, provider="azure-key-vault", settings={"vault_url": "https://v.vault.azure.net"},
                             **common),
        tls.acme_issuer("gcp", IDENT, server="https://acme.example/dir", email="a@b.io",
                        dns01={"provider": "cloud-dns", "project": "p", "hosted_zone": "example.com"}),
        tls.acme_issuer("azure", IDENT, server="https://acme.example/dir", email="a@b.io",
                        dns01={"provider": "azure-dns", "subscription_id": "s", "resource_group": "g",
                               "hosted_zone": "example.com"}),
    ]  # fmt: skip
    findings = [f.render() for d in docs for f in validate_document(d, "test", ("1.33",), location)]
    assert findings == []
    broken = copy.deepcopy(docs[0])
    broken["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]["bogus"] = True
    assert list(validate_document(broken, "test", ("1.33",), location))


def test_data_jobs_reach_only_what_they_declare() -> None:
    t = build_target(mutated("prod", lambda p: None))
    (job,) = [p for p in network_policies(t, security_settings(t)) if p["metadata"]["name"] == "redis-rdb-copy"]
    assert "ingress" not in job["spec"]  # nothing may connect to the job
    assert job["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ports = sorted(port["port"] for rule in job["spec"]["egress"] for port in rule["ports"])
    # Redis, object storage, and the cloud's credential endpoint the job's identity is fetched from.
    credentials = t.cloud["workload_identity"].get("credential_endpoints") or []
    assert ports == sorted([443, 6379, *(e["port"] for e in credentials)])
    cidrs = {peer["ipBlock"]["cidr"] for rule in job["spec"]["egress"] for peer in rule["to"] if "ipBlock" in peer}
    assert cidrs == {"0.0.0.0/0", *(e["cidr"] for e in credentials)}


def test_unmanaged_namespaces_are_exempt_only_when_listed() -> None:
    """Listing a role as unmanaged removes its policies, and the policy check then accepts that."""
    from mnops.security.policy import CHECKS, Expectations

    params = mutated(
        "dev", lambda p: p["network"]["unmanaged_namespaces"].update(data="Written by the data team for now, see their docs.")
    )
    t = build_target(params)
    data_ns = t.namespaces["data"]
    namespaces_with_policies = {p["metadata"]["namespace"] for p in network_policies(t, security_settings(t))}
    assert data_ns not in namespaces_with_policies
    exp = Expectations.from_parameters(params)
    assert data_ns in exp.unmanaged_namespaces and data_ns not in exp.project_namespaces
    namespace_doc = {"kind": "Namespace", "metadata": {"name": data_ns}}

    def reported(expectations: Expectations) -> set[str]:
        return {v.document for v in CHECKS["default-deny"]([namespace_doc], expectations)}

    assert f"Namespace/{data_ns}" not in reported(exp)
    assert f"Namespace/{data_ns}" in reported(Expectations.from_parameters(parameters()["dev"]))


def with_delivery(target: str, strategy: str) -> dict[str, Any]:
    """Progressive delivery (the cicd layer) sets `delivery.strategy` per service: here
    memory-service gets `strategy`, every other service rolls (the committed inventory makes most
    services canary in staging and prod)."""

    def edit(p: dict[str, Any]) -> None:
        for name, svc in p["services"].items():
            svc["delivery"] = {"strategy": strategy if name == "memory-service" else "rolling"}

    return mutated(target, edit)


def test_canary_services_get_a_weighted_canary_backend_on_their_route() -> None:
    from mnops.security.objects import route_objects

    t = build_target(with_delivery("prod", "canary"))
    routes = {o["metadata"]["name"]: o for o in route_objects(t, security_settings(t)) if o["kind"] == "HTTPRoute"}
    backends = routes["memory-service"]["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [("memory-service", 100), ("memory-service-canary", 0)]
    assert len(routes["configuration-service"]["spec"]["rules"][0]["backendRefs"]) == 1
    t = build_target(with_delivery("prod", "bluegreen"))
    routes = {o["metadata"]["name"]: o for o in route_objects(t, security_settings(t)) if o["kind"] == "HTTPRoute"}
    assert len(routes["memory-service"]["spec"]["rules"][0]["backendRefs"]) == 1


def test_canary_with_the_mesh_uses_a_schema_valid_virtual_service() -> None:
    import os

    from mnops.manifest_validation import validate_document

    t = build_target(with_delivery("staging", "canary"))
    (vs,) = [o for o in mesh_objects(t, security_settings(t)) if o["kind"] == "VirtualService"]
    assert [r["destination"]["host"] for r in vs["spec"]["http"][0]["route"]] == ["memory-service", "memory-service-canary"]
    location = CRD_SCHEMAS
    if os.path.isdir(location):
        assert list(validate_document(vs, "test", ("1.33",), location)) == []


def test_platform_secrets_copy_only_their_keys_and_label_the_secret() -> None:
    (repo,) = [s for s in kinds("prod", "ExternalSecret") if s["metadata"]["name"] == "repo-machine-native-ops-gitops"]
    template = repo["spec"]["target"]["template"]
    assert template["metadata"]["labels"] == {"argocd.argoproj.io/secret-type": "repository"}
    assert template["data"]["url"] == parameters()["prod"]["project"]["repo_url"]
    assert {d["remoteRef"]["key"] for d in repo["spec"]["data"]} == {"argocd/repositories/machine-native-ops-gitops"}
    t = build_target(with_monitoring(parameters()["prod"]))
    (receivers,) = [s for s in secret_objects(t, security_settings(t)) if s["metadata"]["name"] == "alertmanager-receivers"]
    assert receivers["spec"]["target"]["template"]["data"]["pager-routing-key"] == '{{ index . "pager-routing-key" }}'


SECURITY_FOLDERS = ("gateway", "routes", "certificates", "secrets", "network-policies", "rbac", "policies", "mesh")


@pytest.mark.parametrize("target", TARGETS)
def test_every_declared_security_folder_has_manifests(target: str) -> None:
    """Argo CD gets one Application per declared folder: each must exist, and none may go undeclared."""
    from security_support import COMPILED

    declared = {f for f in parameters()[target]["apps"] if f in SECURITY_FOLDERS}
    present = {p.name for p in (COMPILED / target / "manifests").iterdir() if p.name in SECURITY_FOLDERS}
    assert declared == present


def test_ambient_mode_opens_the_tunnel_port_only_between_declared_peers() -> None:
    params = mutated("staging", lambda p: p["mesh"].update(mode="ambient"))
    policy = policies_by_name(params)["configuration-service"]
    assert all(15008 in [p["port"] for p in rule["ports"]] for rule in policy["spec"]["ingress"][:2])
    sidecar = policies_by_name(mutated("staging", lambda p: None))["configuration-service"]
    assert not any(15008 in [p["port"] for p in rule["ports"]] for rule in sidecar["spec"]["ingress"])
