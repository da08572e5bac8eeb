"""Cost and capacity section (lib/mnops/review/cost.py) on real compiles of one-value changes."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from conftest import ROOT, real_parameters
from review_support import env_class, kept_clusters

from mnops import yamlio
from mnops.review import cost, registry
from mnops.review.compiled import fingerprint, managed_folder
from mnops.review.registry import SECTIONS


def autoscaled_service() -> tuple[str, str, int]:
    """A kept cluster where an HPA scales a service: (cluster, service, its minReplicas)."""
    parameters = real_parameters()
    for cluster in kept_clusters():
        for service in sorted(parameters[cluster]["services"]):
            hpa = ROOT / "compiled" / cluster / "manifests" / service / "horizontalpodautoscaler.yaml"
            if hpa.exists() and parameters[cluster].get("pricing"):
                return cluster, service, int(yamlio.load(hpa.read_text())["spec"]["minReplicas"])
    pytest.fail("no kept cluster autoscales a service")


def more_replicas(review_sides):
    """The change under review: two more minimum replicas for one autoscaled service."""
    cluster, service, minimum = autoscaled_service()
    edit = {
        "file": env_class(real_parameters(), cluster),
        "set": {f"parameters.services.{service}.autoscaling.min_replicas": minimum + 2},
    }
    return review_sides([edit])


def test_section_is_registered():
    assert cost.build in SECTIONS


def test_more_replicas_show_their_monthly_cost_delta(review_sides):
    cluster, service, minimum = autoscaled_service()
    parameters = real_parameters()
    review = more_replicas(review_sides)
    section = cost.build(review)
    assert section is not None
    [changed] = [c for c in (cost.cluster_cost(review, name) for name in (cluster,)) if c]
    rates = parameters[cluster]["pricing"]
    rollout_or_deployment = next(line for line in changed.changes if f"/{service}:" in line)
    assert f"{minimum}-" in rollout_or_deployment.split(" -> ")[0] and f"{minimum + 2}-" in rollout_or_deployment.split(" -> ")[1]
    # Two more replicas at the lower bound, each with the service's requests, priced at the cloud's rates.
    folder = ROOT / "compiled" / cluster / "manifests" / service
    workload = yamlio.load(
        (folder / "rollout.yaml" if (folder / "rollout.yaml").exists() else folder / "deployment.yaml").read_text()
    )
    cpu, memory = cost._pod_requests(workload["spec"]["template"]["spec"])
    per_replica = (cpu * rates["cpu_core_hour"] + memory * rates["memory_gib_hour"]) * cost.HOURS_PER_MONTH
    assert changed.delta[0] == pytest.approx(2 * per_replica, abs=0.02)
    assert changed.delta[1] == pytest.approx(0, abs=0.01), "the HPA maximum did not move"
    assert f"| {cluster} |" in section.markdown and "| **total** |" in section.markdown
    assert rates["source"] in section.markdown and rates["date"] in section.markdown
    assert not section.risks, "below review.cost_risk_monthly_delta"


def test_a_delta_past_the_inventory_threshold_is_risky(review_sides):
    cluster, _service, _minimum = autoscaled_service()
    review = more_replicas(review_sides)
    head = copy.deepcopy(dict(review.head_parameters))
    head[cluster]["review"]["cost_risk_monthly_delta"] = 1
    section = cost.build(dataclasses.replace(review, head_parameters=head))
    assert section is not None
    [risk] = section.risks
    assert (risk.risk_class, risk.target) == ("cost", cluster)
    assert "more than review.cost_risk_monthly_delta 1.00 USD" in risk.message


def test_no_change_gives_no_section(review_sides):
    assert cost.build(review_sides([])) is None


def docs(*yaml_docs: str) -> list[dict]:
    return [doc for text in yaml_docs for doc in yamlio.load_all(text)]


def test_capacity_of_each_kind_that_reserves_something():
    caps = cost.capacities(
        docs(
            """
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  replicas: 2
  template: {spec: {containers: [{name: a, resources: {requests: {cpu: 250m, memory: 512Mi}}},
                                 {name: b, resources: {requests: {cpu: "1", memory: 1Gi}}}]}}
""",
            "kind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: app}\n"
            "spec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 3, maxReplicas: 9}\n",
            "kind: PersistentVolumeClaim\nmetadata: {name: data, namespace: app}\n"
            "spec: {storageClassName: gp3, resources: {requests: {storage: 100Gi}}}\n",
            "kind: Service\nmetadata: {name: lb, namespace: app}\nspec: {type: LoadBalancer}\n",
            "kind: Service\nmetadata: {name: internal, namespace: app}\nspec: {type: ClusterIP}\n",
            "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg, namespace: db}\n"
            "spec: {instances: 3, resources: {requests: {cpu: '1', memory: 2Gi}},"
            " storage: {size: 20Gi}, walStorage: {size: 5Gi}}\n",
            "apiVersion: redis.redis.opstreelabs.in/v1beta2\nkind: RedisReplication\nmetadata: {name: r, namespace: db}\n"
            "spec: {clusterSize: 3, kubernetesConfig: {resources: {requests: {cpu: 250m, memory: 512Mi}}},"
            " storage: {volumeClaimTemplate: {spec: {resources: {requests: {storage: 5Gi}}}}}}\n",
        )
    )
    assert caps["Deployment app/web"] == cost.Capacity(1.25, 1.5, (3, 9))
    assert caps["PersistentVolumeClaim app/data"] == cost.Capacity(volumes=(("gp3", 100.0),))
    assert caps["Service app/lb"].load_balancers == 1 and "Service app/internal" not in caps
    assert caps["Cluster db/pg"] == cost.Capacity(1.0, 2.0, (3, 3), (("", 20.0), ("", 5.0)))
    assert caps["RedisReplication db/r"] == cost.Capacity(0.25, 0.5, (3, 3), (("", 5.0),))
    rates = cost.Rates("USD", 0.04, 0.005, {"gp3": 0.08}, 0.025, "https://example.invalid", "2025-06")
    # 3 x (1.25 x 0.04 + 1.5 x 0.005) x 730 = 125.925; a LoadBalancer costs the same whatever the replicas.
    assert rates.monthly(caps["Deployment app/web"], 3, "gp3") == pytest.approx(125.925)
    assert rates.monthly(caps["Service app/lb"], 0, "gp3") == pytest.approx(18.25)
    assert rates.monthly(caps["Cluster db/pg"], 3, "gp3") == pytest.approx(3 * ((0.04 + 2 * 0.005) * 730 + 25 * 0.08))


def test_pricing_must_state_source_date_and_currency():
    from mnops.inventory.schema_check import check_schema

    cluster, _service, _minimum = autoscaled_service()
    parameters = real_parameters()[cluster]
    assert not [p for p in check_schema(cluster, parameters) if "pricing" in str(p)]
    del parameters["pricing"]["date"]
    parameters["pricing"]["currency"] = "dollars"
    problems = [str(p) for p in check_schema(cluster, parameters) if "pricing" in str(p)]
    assert len(problems) == 2, problems


def test_new_rates_alone_reprice_a_cluster_whose_manifests_did_not_change(review_sides):
    review = review_sides([])
    cluster = kept_clusters()[0]
    head = copy.deepcopy(dict(review.head_parameters))
    head[cluster]["pricing"]["cpu_core_hour"] *= 2
    section = cost.build(dataclasses.replace(review, head_parameters=head))
    assert (
        section is not None
        and section.text.startswith(f"{cluster}: ")
        and f"\n  rates: {real_parameters()[cluster]['pricing']['cpu_core_hour']:g}/core-h" in section.text
    )
    [changed] = [c for c in (cost.cluster_cost(dataclasses.replace(review, head_parameters=head), cluster),) if c]
    assert changed.delta[0] > 0 and changed.delta[1] > changed.delta[0]


def managed_cluster() -> tuple[str, str]:
    """A kept AWS cluster whose node group, NAT and data services a management cluster creates (from the inventory)."""
    parameters = real_parameters()
    for cluster in kept_clusters():
        p = parameters[cluster]
        manager = p["infra"].get("management_cluster")
        if p["cloud"]["provider"] == "aws" and manager not in (None, cluster) and p["pricing"].get("infrastructure"):
            return cluster, manager
    pytest.fail("no kept AWS cluster is created by a management cluster")


def node_month(parameters: dict, instance_type: str) -> float:
    """One system node for a month at the cloud class's infrastructure rates: the instance and its gp3 disk."""
    rates = parameters["pricing"]["infrastructure"]
    disk = parameters["infra"]["nodes"]["disk_gib"] * rates["monthly"]["ebs_gp3_per_gib"]
    return rates["hourly"]["instance"][instance_type] * rates["hours_per_month"] + disk


@pytest.mark.slow  # compiles the cluster and its management cluster
def test_a_larger_node_group_is_a_cost_change_of_the_cluster_it_serves(review_sides):
    cluster, manager = managed_cluster()
    parameters = real_parameters()[cluster]
    nodes = parameters["infra"]["nodes"]
    more = nodes["max_size"] if nodes["max_size"] > nodes["desired_size"] else nodes["desired_size"] + 1
    edit = {
        "file": f"targets/{cluster}.yml",
        "set": {"parameters.infra.nodes.desired_size": more, "parameters.infra.nodes.max_size": max(more, nodes["max_size"])},
    }
    review = review_sides([edit], keep=(cluster, manager))
    # The node group is compiled under the management cluster: its tree changed for this cluster.
    base_tree, head_tree = (managed_folder(root, cluster, manager) for root in (review.base_root, review.head_root))
    assert fingerprint(base_tree) != fingerprint(head_tree)
    section = cost.build(review)
    assert section is not None
    changed = cost.cluster_cost(review, cluster)
    assert changed is not None and manager not in [line.split(":")[0] for line in section.text.splitlines()]
    expected = (more - nodes["desired_size"]) * node_month(parameters, nodes["instance_types"][0])
    assert changed.delta == pytest.approx((expected, expected), abs=0.02)
    line = next(line for line in changed.changes if line.startswith("managed resources: "))
    assert f"nodes {nodes['desired_size']} (" in line.split(" -> ")[0] and f"nodes {more} (" in line.split(" -> ")[1]
    assert f"| {cluster} |" in section.markdown and "pricing.infrastructure" in section.markdown
    limit = cost.threshold(review.head_parameters[cluster])
    assert (cluster in [r.target for r in section.risks]) == (limit is not None and expected > limit)
    # Past the threshold, the cost reviewers own the management cluster's folder the change is in,
    # not compiled/<cluster>/, which it leaves as it was.
    assert cluster not in review.changed_clusters and cluster in review.touched_clusters
    head = copy.deepcopy(dict(review.head_parameters))
    head[cluster]["review"]["cost_risk_monthly_delta"] = 1
    routing = registry.review(dataclasses.replace(review, head_parameters=head)).routing
    owners = " ".join(sorted(real_parameters()[cluster]["review"]["reviewers_by_risk"]["cost"]))
    assert f"/compiled/{manager}/infra/infra-{cluster}/ {owners}" in routing.codeowners, routing.codeowners


def test_another_instance_type_alone_reprices_the_cluster_and_past_the_threshold_is_risky(review_sides):
    cluster, _manager = managed_cluster()
    review = review_sides([])
    head = copy.deepcopy(dict(review.head_parameters))
    nodes = head[cluster]["infra"]["nodes"]
    table = head[cluster]["pricing"]["infrastructure"]["hourly"]["instance"]
    current = nodes["instance_types"][0]
    # The dearest other rate in the table (a cluster already on the dearest one moves down).
    other = max((name for name in table if table[name] != table[current]), key=lambda name: table[name], default=None)
    assert other is not None, f"the rate table has no instance type priced unlike {current}"
    nodes["instance_types"] = [other, *nodes["instance_types"][1:]]
    head[cluster]["review"]["cost_risk_monthly_delta"] = 1
    section = cost.build(dataclasses.replace(review, head_parameters=head))
    assert section is not None
    per_node = (table[other] - table[current]) * head[cluster]["pricing"]["infrastructure"]["hours_per_month"]
    changed = cost.cluster_cost(dataclasses.replace(review, head_parameters=head), cluster)
    assert changed is not None and changed.delta == pytest.approx((nodes["desired_size"] * per_node,) * 2, abs=0.02)
    assert f" x {current} " in changed.changes[-1] and f" x {other} " in changed.changes[-1]
    [risk] = [r for r in section.risks if r.target == cluster]
    assert risk.risk_class == "cost" and "more than review.cost_risk_monthly_delta 1.00 USD" in risk.message
