"""Who can call whom (lib/mnops/review/reachability.py): NetworkPolicy and Istio AuthorizationPolicy
semantics on small hand-written clusters, and the section on a real compile of a one-value change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, real_parameters
from review_support import kept_clusters

from mnops import yamlio
from mnops.review import ReviewInput, reachability
from mnops.review.compiled import managed_folder
from mnops.review.reachability import ALL_PORTS, INTERNET
from mnops.review.registry import SECTIONS

APP = """
kind: Deployment
metadata: {name: %(name)s, namespace: %(ns)s}
spec:
  template:
    metadata: {labels: {app: %(name)s, tier: %(tier)s}}
    spec:
      serviceAccountName: %(name)s
      containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
"""


def app(name: str, ns: str = "shop", tier: str = "web") -> str:
    return APP % {"name": name, "ns": ns, "tier": tier}


def policy(ns: str, name: str, spec: str) -> str:
    return f"kind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n"


def edges(*texts: str) -> dict[tuple[str, str], frozenset[str]]:
    return reachability.reachability([d for t in texts for d in yamlio.load_all(t) if d])


def test_without_policies_everything_reaches_everything_including_the_internet():
    result = edges(app("a"), app("b"))
    assert result[("shop/a", "shop/b")] == ALL_PORTS
    assert result[("shop/a", INTERNET)] == ALL_PORTS and result[(INTERNET, "shop/a")] == ALL_PORTS


def test_default_deny_isolates_both_directions():
    result = edges(app("a"), app("b"), policy("shop", "deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}"))
    assert result == {}


def test_an_egress_only_policy_leaves_ingress_open():
    result = edges(app("a"), app("b"), policy("shop", "eg", "{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress]}"))
    assert ("shop/a", "shop/b") not in result and result[("shop/b", "shop/a")] == ALL_PORTS


def test_without_policy_types_an_empty_egress_list_isolates_ingress_only():
    result = edges(app("a"), app("b"), policy("shop", "eg", "{podSelector: {matchLabels: {app: a}}, egress: []}"))
    assert result[("shop/a", "shop/b")] == ALL_PORTS and ("shop/b", "shop/a") not in result


def test_a_connection_needs_egress_and_ingress_on_the_same_port():
    deny = policy("shop", "deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}")
    out = policy(
        "shop",
        "a-out",
        "{podSelector: {matchLabels: {app: a}},"
        " egress: [{to: [{podSelector: {matchLabels: {app: b}}}], ports: [{port: 8080}, {port: 9090}]}]}",
    )
    into = policy(
        "shop",
        "b-in",
        "{podSelector: {matchLabels: {app: b}},"
        " ingress: [{from: [{podSelector: {matchLabels: {app: a}}}], ports: [{port: http}]}]}",
    )
    assert edges(app("a"), app("b"), deny, out, into) == {("shop/a", "shop/b"): frozenset({"TCP/8080"})}
    assert edges(app("a"), app("b"), deny, out) == {}, "egress alone is not enough"
    assert edges(app("a"), app("b"), deny, into) == {}, "ingress alone is not enough"


def test_pod_and_namespace_selectors_combine_as_documented():
    ns = "kind: Namespace\nmetadata: {name: data, labels: {team: data}}\n"
    deny = policy("data", "deny", "{podSelector: {}, policyTypes: [Ingress]}")
    both = policy(
        "data",
        "db-in",
        "{podSelector: {matchLabels: {app: db}},"
        " ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}},"
        " podSelector: {matchExpressions: [{key: tier, operator: In, values: [web]}]}}]}]}",
    )
    result = edges(ns, app("a"), app("batch", tier="jobs"), app("db", ns="data"), app("other", ns="data"), deny, both)
    assert ("shop/a", "data/db") in result
    assert ("shop/batch", "data/db") not in result, "the podSelector narrows the namespaceSelector"
    assert ("data/other", "data/db") not in result, "a namespaceSelector does not mean the policy's own namespace"
    alone = policy("data", "db-in", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {}}]}]}")
    result = edges(ns, app("a"), app("db", ns="data"), app("other", ns="data"), deny, alone)
    assert ("data/other", "data/db") in result and ("shop/a", "data/db") not in result, (
        "a podSelector alone stays in the namespace"
    )


def test_ip_blocks_reach_the_internet_only_when_they_are_public():
    deny = policy("shop", "deny", "{podSelector: {}, policyTypes: [Egress]}")
    private = policy("shop", "p", "{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]}")
    public = policy("shop", "i", "{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: 443}]}]}")
    assert (("shop/a", INTERNET)) not in edges(app("a"), deny, private)
    assert edges(app("a"), deny, private)[("shop/a", "private 10.0.0.0/8")] == ALL_PORTS
    assert edges(app("a"), deny, public)[("shop/a", INTERNET)] == frozenset({"TCP/443"})


INJECTED_SHOP = "kind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n"
ALLOW_NOTHING = "kind: AuthorizationPolicy\nmetadata: {name: none, namespace: shop}\nspec: {action: ALLOW}\n"
STRICT = "kind: PeerAuthentication\nmetadata: {name: default, namespace: shop}\nspec: {mtls: {mode: STRICT}}\n"


def allow_principal(principal: str, operation: str = "{ports: ['8080']}") -> str:
    return (
        "kind: AuthorizationPolicy\nmetadata: {name: b, namespace: shop}\n"
        "spec: {action: ALLOW, selector: {matchLabels: {app: b}},"
        f" rules: [{{from: [{{source: {{principals: [{principal}]}}}}], to: [{{operation: {operation}}}]}}]}}\n"
    )


def scraper(labels: str = "{app: prometheus}") -> str:
    """A pod in another namespace (no injection label there): in the mesh only by its own label."""
    return (
        "kind: Deployment\nmetadata: {name: prometheus, namespace: monitoring}\n"
        f"spec: {{template: {{metadata: {{labels: {labels}}}, spec: {{serviceAccountName: prometheus}}}}}}\n"
    )


def test_istio_allow_rules_narrow_what_network_policies_allow():
    allow_a = allow_principal("cluster.local/ns/shop/sa/a")
    result = edges(INJECTED_SHOP, app("a"), app("b"), app("c"), ALLOW_NOTHING, allow_a)
    assert result[("shop/a", "shop/b")] == frozenset({"TCP/8080"})
    assert ("shop/c", "shop/b") not in result and ("shop/a", "shop/c") not in result
    deny = (
        "kind: AuthorizationPolicy\nmetadata: {name: d, namespace: shop}\n"
        "spec: {action: DENY, rules: [{from: [{source: {namespaces: [shop]}}]}]}\n"
    )
    assert ("shop/a", "shop/b") not in edges(INJECTED_SHOP, app("a"), app("b"), allow_a, deny), "DENY wins over ALLOW"


def test_a_principal_rule_admits_only_a_source_with_a_sidecar():
    """Istio takes principals and namespaces from the peer's certificate: a pod without a sidecar has none."""
    allow = allow_principal("cluster.local/ns/monitoring/sa/prometheus", "{ports: ['8080'], paths: [/metrics], methods: [GET]}")
    with_sidecar = edges(INJECTED_SHOP, app("b"), scraper("{app: prometheus, sidecar.istio.io/inject: 'true'}"), allow)
    assert with_sidecar[("monitoring/prometheus", "shop/b")] == frozenset({"TCP/8080"}), "paths narrow requests, not ports"
    assert ("monitoring/prometheus", "shop/b") not in edges(INJECTED_SHOP, app("b"), scraper(), allow)
    opted_out = "kind: Namespace\nmetadata: {name: monitoring, labels: {istio-injection: disabled}}\n"
    labelled = scraper("{app: prometheus, sidecar.istio.io/inject: 'true'}")
    assert ("monitoring/prometheus", "shop/b") not in edges(INJECTED_SHOP, opted_out, app("b"), labelled, allow)


def test_strict_mtls_refuses_sources_outside_the_mesh_on_every_port_but_relaxed_ones():
    plain = edges(INJECTED_SHOP, app("b"), scraper(), STRICT)
    assert ("monitoring/prometheus", "shop/b") not in plain
    assert (
        edges(INJECTED_SHOP, app("b"), scraper("{app: prometheus, sidecar.istio.io/inject: 'true'}"), STRICT)[
            ("monitoring/prometheus", "shop/b")
        ]
        == ALL_PORTS
    )
    relaxed = STRICT.replace("{mtls: {mode: STRICT}}", "{mtls: {mode: STRICT}, portLevelMtls: {9090: {mode: PERMISSIVE}}}")
    assert edges(INJECTED_SHOP, app("b"), scraper(), relaxed)[("monitoring/prometheus", "shop/b")] == frozenset({"TCP/9090"})
    assert ("monitoring/prometheus", "shop/b") in edges(app("b"), scraper(), STRICT), "a pod without a sidecar enforces nothing"
    opted_out = app("b").replace("{app: b, tier: web}", "{app: b, tier: web, sidecar.istio.io/inject: 'false'}")
    assert ("monitoring/prometheus", "shop/b") in edges(INJECTED_SHOP, opted_out, scraper(), STRICT)


def test_section_is_registered():
    assert reachability.build in SECTIONS


def service_without_redis() -> str:
    parameters = real_parameters()[kept_clusters()[0]]
    if not parameters["redis"].get("enabled", True):
        pytest.skip("the kept cluster runs no Redis")
    candidates = sorted(s for s, v in parameters["services"].items() if not (v.get("dependencies") or {}).get("redis"))
    if not candidates:
        pytest.skip("every service already uses Redis")
    return candidates[0]


def test_a_new_dependency_on_redis_is_an_added_risky_edge(review_sides):
    service = service_without_redis()
    edit = {"file": f"classes/services/{service}.yml", "set": {f"parameters.services.{service}.dependencies.redis": True}}
    section = reachability.build(review_sides([edit]))
    assert section is not None
    for cluster in kept_clusters():
        assert f"{cluster}:\n  added: machine-native-ops/{service} -> machine-native-ops-data/redis (TCP/6379)" in section.text
        assert any(
            r.target == cluster and r.risk_class == "network" and "can now reach data store" in r.message for r in section.risks
        )
    assert "==>|added|" in section.markdown and "```mermaid" in section.markdown
    assert "-.->|removed|" not in section.markdown


def test_removing_a_dependency_is_a_removed_edge_and_not_risky(review_sides):
    service = service_without_redis()
    edit = {"file": f"classes/services/{service}.yml", "set": {f"parameters.services.{service}.dependencies.redis": True}}
    forward = review_sides([edit])
    backward = type(forward)(forward.head_repo, forward.base_repo, forward.head_root, forward.base_root,
                             forward.head_parameters, forward.base_parameters)  # fmt: skip
    section = reachability.build(backward)
    assert section is not None and not section.risks
    assert "-.->|removed|" in section.markdown and "removed: " in section.text


def test_no_change_gives_no_section(review_sides):
    assert reachability.build(review_sides([])) is None


def _managed_tree(root: Path, cluster: str, manager: str, opened: bool) -> None:
    """The cluster's committed security groups under a copy of the management cluster's tree, with an RDS
    instance in the group its PostgreSQL rule opens; `opened`: that rule admits every address instead."""
    folder = managed_folder(root, cluster, manager)
    folder.mkdir(parents=True)
    source = managed_folder(ROOT, cluster, manager) / "securitygroupingressrule.yaml"
    rules = list(yamlio.load_all(source.read_text()))
    postgres = next(r for r in rules if r["spec"]["forProvider"].get("fromPort") == 5432)
    if opened:
        del postgres["spec"]["forProvider"]["referencedSecurityGroupIdRef"]
        postgres["spec"]["forProvider"]["cidrIpv4"] = "0.0.0.0/0"
    (folder / "securitygroupingressrule.yaml").write_text("\n---\n".join(json.dumps(rule) for rule in rules))  # JSON is YAML
    group = postgres["spec"]["forProvider"]["securityGroupIdRef"]
    instance = {"apiVersion": "rds.aws.m.upbound.io/v1beta1", "kind": "Instance", "metadata": {"name": "postgres"},
                "spec": {"forProvider": {"vpcSecurityGroupIdRefs": [group]}}}  # fmt: skip
    (folder / "instance.yaml").write_text(json.dumps(instance))


def test_an_rds_security_group_opened_to_the_internet_is_the_clusters_risky_edge(tmp_path):
    parameters = real_parameters()
    cluster, manager = next(
        (c, p["infra"]["management_cluster"])
        for c, p in sorted(parameters.items())
        if p["infra"].get("management_cluster") not in (None, c)
        and (managed_folder(ROOT, c, p["infra"]["management_cluster"]) / "securitygroupingressrule.yaml").is_file()
    )
    _managed_tree(tmp_path / "base", cluster, manager, opened=False)
    _managed_tree(tmp_path / "head", cluster, manager, opened=True)
    review = ReviewInput(ROOT, ROOT, tmp_path / "base", tmp_path / "head", parameters, parameters)
    section = reachability.build(review)
    assert section is not None
    store = next(line for line in section.text.splitlines() if "added: internet -> security group " in line)
    assert store.endswith("(TCP/5432)"), section.text
    [risk] = section.risks
    assert risk.target == cluster and risk.message.startswith("internet can now reach data store security group ")


def test_host_network_pods_are_left_out_of_the_graph():
    """Their traffic is the node's: NetworkPolicies do not govern it, so they are no node of ours."""
    node_agent = app("agent").replace("    spec:\n", "    spec:\n      hostNetwork: true\n")
    result = edges(app("a"), node_agent)
    assert not any("shop/agent" in edge for edge in result)
    assert ("shop/a", INTERNET) in result


def test_prometheus_and_alertmanager_objects_are_pods_with_the_operator_labels():
    prometheus = (
        "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: k8s, namespace: mon}\nspec: {portName: web}\n"
    )
    (pod,) = reachability.pods([d for d in yamlio.load_all(prometheus) if d])
    assert pod.name == "mon/prometheus-k8s" and pod.ports["web"] == 9090
    assert {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": "k8s"}.items() <= pod.labels.items()
    deny = policy("mon", "deny", "{podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}, policyTypes: [Ingress]}")
    assert (INTERNET, "mon/prometheus-k8s") not in edges(prometheus, deny)
    assert (INTERNET, "mon/prometheus-k8s") in edges(prometheus)


def test_between_replicas_a_group_has_an_edge_to_itself_only_on_request():
    into = policy(
        "shop",
        "a-in",
        "{podSelector: {matchLabels: {app: a}},"
        " ingress: [{from: [{podSelector: {matchLabels: {app: a}}}], ports: [{port: 7946}]}]}",
    )
    docs = [d for t in (app("a"), into) for d in yamlio.load_all(t) if d]
    assert ("shop/a", "shop/a") not in reachability.reachability(docs)
    assert reachability.reachability(docs, between_replicas=True)[("shop/a", "shop/a")] == frozenset({"TCP/7946"})
