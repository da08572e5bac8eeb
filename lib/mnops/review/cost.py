"""Cost and capacity delta: what a change does to the resources a cluster reserves, and their price.

Capacity is what the scheduler and the cloud reserve for our own objects: CPU and memory requests
times replicas (an HPA's min and max when one scales the workload), volumes (PVCs, StatefulSet
volumeClaimTemplates, CloudNativePG data and WAL storage, Redis storage) and load balancers
(Services of type LoadBalancer, and one per Gateway, which Envoy Gateway exposes as such a
Service). Prices are the cluster's `pricing` rates from its cloud class (730 hours a month).
Workloads that charts create from helm-values/ are not counted: their sizes are the charts'.

The managed resources a management cluster creates for a cluster (compiled/<management>/infra/
infra-<cluster>/: node group, NAT gateways, RDS, ElastiCache, and the rest of the fixed baseline)
are priced too, with docs/infrastructure.md's own code (mnops.infra.docs.monthly_cost) at the cloud
class's `pricing.infrastructure` rates, and attributed to that cluster: a node group or RDS change
alone leaves compiled/<cluster>/ as it was, but is a cost change of <cluster>.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mnops.data.managed import data_services
from mnops.infra.docs import monthly_cost
from mnops.infra.model import ClusterInfra, cluster_infra
from mnops.inventory.model import build_target
from mnops.kapitan_inventory import compiles_manifests
from mnops.review import ReviewInput, RiskItem, Section
from mnops.review.compiled import Doc, documents, ref
from mnops.units import cpu_millicores, memory_bytes

TITLE = "Cost and capacity"  # the section's heading; also named when the section finds no change

HOURS_PER_MONTH = 730
GIB = 1024**3


@dataclass(frozen=True)
class Capacity:
    """What one object reserves. Replicas are (min, max); volumes are GiB per StorageClass."""

    cpu_cores: float = 0.0  # per replica
    memory_gib: float = 0.0  # per replica
    replicas: tuple[int, int] = (1, 1)
    volumes: tuple[tuple[str, float], ...] = ()  # per replica: (storage class, GiB)
    load_balancers: int = 0

    def describe(self) -> str:
        low, high = self.replicas
        parts = [f"{low}" if low == high else f"{low}-{high}", f"x ({self.cpu_cores:g} CPU, {self.memory_gib:g} GiB"]
        volumes = ", ".join(f"{size:g} GiB {cls}" for cls, size in self.volumes)
        return (
            " ".join(parts)
            + (f", {volumes}" if volumes else "")
            + ")"
            + (f", {self.load_balancers} LB" if self.load_balancers else "")
        )


@dataclass(frozen=True)
class Rates:
    currency: str
    cpu_core_hour: float
    memory_gib_hour: float
    storage_gib_month: Mapping[str, float]
    load_balancer_hour: float
    source: str
    date: str

    @classmethod
    def of(cls, parameters: Mapping[str, Any]) -> Rates | None:
        pricing = parameters.get("pricing")
        if not pricing:
            return None
        return cls(
            currency=str(pricing["currency"]),
            cpu_core_hour=float(pricing["cpu_core_hour"]),
            memory_gib_hour=float(pricing["memory_gib_hour"]),
            storage_gib_month={str(k): float(v) for k, v in (pricing.get("storage_gib_month") or {}).items()},
            load_balancer_hour=float(pricing["load_balancer_hour"]),
            source=str(pricing["source"]),
            date=str(pricing["date"]),
        )

    def monthly(self, capacity: Capacity, replicas: int, default_class: str) -> float:
        compute = capacity.cpu_cores * self.cpu_core_hour + capacity.memory_gib * self.memory_gib_hour
        storage = sum(size * self._storage_rate(cls or default_class) for cls, size in capacity.volumes)
        return (
            replicas * (compute * HOURS_PER_MONTH + storage) + capacity.load_balancers * self.load_balancer_hour * HOURS_PER_MONTH
        )

    def _storage_rate(self, storage_class: str) -> float:
        if storage_class in self.storage_gib_month:
            return self.storage_gib_month[storage_class]
        return max(self.storage_gib_month.values(), default=0.0)  # unknown class: the dearest known one


def _cores(value: Any) -> float:
    return cpu_millicores(value) / 1000 if value not in (None, "") else 0.0


def _gib(value: Any) -> float:
    return memory_bytes(str(value)) / GIB if value not in (None, "") else 0.0


def _requests(resources: Mapping[str, Any] | None) -> tuple[float, float]:
    requests = (resources or {}).get("requests") or {}
    return _cores(requests.get("cpu")), _gib(requests.get("memory"))


def _pod_requests(pod_spec: Mapping[str, Any]) -> tuple[float, float]:
    """Sum of the containers' requests (init containers run before, not beside them)."""
    totals = [_requests(c.get("resources")) for c in pod_spec.get("containers") or []]
    return sum(t[0] for t in totals), sum(t[1] for t in totals)


def _scaled(docs: list[Doc]) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(kind, namespace, name) -> (minReplicas, maxReplicas) of every HPA's target."""
    bounds: dict[tuple[str, str, str], tuple[int, int]] = {}
    for doc in docs:
        if doc["kind"] == "HorizontalPodAutoscaler":
            spec, meta = doc.get("spec") or {}, doc.get("metadata") or {}
            target = spec.get("scaleTargetRef") or {}
            key = (str(target.get("kind")), str(meta.get("namespace", "")), str(target.get("name")))
            bounds[key] = (int(spec.get("minReplicas", 1)), int(spec["maxReplicas"]))
    return bounds


def _claim(template: Mapping[str, Any]) -> tuple[str, float]:
    spec = template.get("spec") or template
    return str(spec.get("storageClassName") or ""), _gib(((spec.get("resources") or {}).get("requests") or {}).get("storage"))


def _is_load_balancer(doc: Doc) -> bool:
    """A Service of type LoadBalancer, or a Gateway (Envoy Gateway gives each one such a Service)."""
    if doc["kind"] == "Service":
        return bool((doc.get("spec") or {}).get("type") == "LoadBalancer")
    return bool(doc["kind"] == "Gateway" and str(doc.get("apiVersion", "")).startswith("gateway.networking.k8s.io/"))


def capacities(docs: list[Doc]) -> dict[str, Capacity]:
    """Every object of a cluster that reserves capacity, by `Kind namespace/name`."""
    return dict(_capacities(docs))


def _capacities(docs: list[Doc]) -> Iterator[tuple[str, Capacity]]:
    scaled = _scaled(docs)
    for doc in docs:
        kind, spec, meta = doc["kind"], doc.get("spec") or {}, doc.get("metadata") or {}
        if kind in {"Deployment", "Rollout", "StatefulSet"}:
            cpu, memory = _pod_requests((spec.get("template") or {}).get("spec") or {})
            fixed = int(spec.get("replicas", 1))
            replicas = scaled.get((kind, str(meta.get("namespace", "")), str(meta.get("name"))), (fixed, fixed))
            claims = tuple(_claim(t) for t in spec.get("volumeClaimTemplates") or [])
            yield ref(doc), Capacity(cpu, memory, replicas, claims)
        elif kind == "PersistentVolumeClaim":
            yield ref(doc), Capacity(volumes=(_claim(doc),))
        elif _is_load_balancer(doc):
            yield ref(doc), Capacity(replicas=(0, 0), load_balancers=1)
        elif kind == "EnvoyProxy":
            deployment = ((spec.get("provider") or {}).get("kubernetes") or {}).get("envoyDeployment") or {}
            cpu, memory = _requests((deployment.get("container") or {}).get("resources"))
            count = int(deployment.get("replicas", 1))
            yield ref(doc), Capacity(cpu, memory, (count, count))
        elif kind == "Cluster" and doc.get("apiVersion", "").startswith("postgresql.cnpg.io/"):
            cpu, memory = _requests(spec.get("resources"))
            volumes = tuple(
                (str((spec.get(key) or {}).get("storageClass") or ""), _gib((spec.get(key) or {}).get("size")))
                for key in ("storage", "walStorage")
                if spec.get(key)
            )
            count = int(spec.get("instances", 1))
            yield ref(doc), Capacity(cpu, memory, (count, count), volumes)
        elif kind == "Pooler":
            cpu, memory = _pod_requests((spec.get("template") or {}).get("spec") or {})
            count = int(spec.get("instances", 1))
            yield ref(doc), Capacity(cpu, memory, (count, count))
        elif kind in {"RedisReplication", "RedisSentinel", "Redis", "RedisCluster"}:
            cpu, memory = _requests((spec.get("kubernetesConfig") or {}).get("resources"))
            template = (spec.get("storage") or {}).get("volumeClaimTemplate")
            count = int(spec.get("clusterSize", 1))
            yield ref(doc), Capacity(cpu, memory, (count, count), (_claim(template),) if template else ())


@dataclass(frozen=True)
class ClusterCost:
    cluster: str
    currency: str
    before: tuple[float, float]  # monthly (at min replicas, at max replicas)
    after: tuple[float, float]
    changes: tuple[str, ...]  # one line per object whose capacity changed

    @property
    def delta(self) -> tuple[float, float]:
        return self.after[0] - self.before[0], self.after[1] - self.before[1]


@dataclass(frozen=True)
class Managed:
    """A cluster's managed resources as its management cluster creates them, and their monthly price."""

    description: str
    monthly: float


def managed(parameters: Mapping[str, Any]) -> Managed | None:
    """The cloud layer a management cluster creates for this cluster, priced as docs/infrastructure.md
    prices it (at the node group's desired size); None when another cluster does not manage it or its
    cloud class has no `pricing.infrastructure` rates."""
    infra_settings = parameters.get("infra") or {}
    manager = infra_settings.get("management_cluster")
    rates = (parameters.get("pricing") or {}).get("infrastructure")
    # The same test as the management cluster's compile (mnops.infra.management.managed_targets).
    if not manager or manager == (parameters.get("cluster") or {}).get("name") or not rates or not compiles_manifests(parameters):
        return None
    infra = cluster_infra(build_target(parameters))
    return Managed(managed_description(infra), monthly_cost(infra))


def managed_description(infra: ClusterInfra) -> str:
    """What the price depends on: nodes (desired, min-max, type, disk), NAT gateways, RDS, ElastiCache."""
    settings, choice = infra.settings, data_services(infra.parameters)
    nodes = settings["nodes"]
    parts = [
        f"nodes {nodes['desired_size']} ({nodes['min_size']}-{nodes['max_size']}) x {nodes['instance_types'][0]}"
        f" + {nodes['disk_gib']} GiB",
        f"{len(infra.nat_zones)} NAT",
    ]
    if choice.managed("postgres"):
        rds = settings["data_services"]["rds"]
        multi_az = rds.get("multi_az", infra.prod)  # as the compile and docs/infrastructure.md default it
        parts.append(f"RDS {rds['instance_class']} {'Multi-AZ' if multi_az else 'single-AZ'} {rds['allocated_storage_gib']} GiB")
    if choice.managed("redis"):
        cache = settings["data_services"]["elasticache"]
        parts.append(f"ElastiCache {1 + cache['replicas']} x {cache['node_type']}")
    return ", ".join(parts)


def _total(caps: Mapping[str, Capacity], rates: Rates | None, default_class: str) -> tuple[float, float]:
    if rates is None:
        return 0.0, 0.0
    low = sum(rates.monthly(c, c.replicas[0], default_class) for c in caps.values())
    high = sum(rates.monthly(c, c.replicas[1], default_class) for c in caps.values())
    return round(low, 2), round(high, 2)


def _default_class(parameters: Mapping[str, Any]) -> str:
    return str((parameters.get("cloud") or {}).get("storage_class", ""))


def cluster_cost(review: ReviewInput, cluster: str) -> ClusterCost | None:
    """Before/after for one cluster, or None when neither its capacity, its managed resources nor its rates changed."""
    base_params = review.base_parameters.get(cluster) or {}
    head_params = review.head_parameters.get(cluster) or {}
    before_caps = capacities(documents(review.base_root, cluster))
    after_caps = capacities(documents(review.head_root, cluster))
    before_rates, after_rates = Rates.of(base_params), Rates.of(head_params)
    before_managed = managed(base_params) if base_params else None
    after_managed = managed(head_params) if head_params else None
    if before_caps == after_caps and before_rates == after_rates and before_managed == after_managed:
        return None
    changes = tuple(
        f"{name}: {before_caps[name].describe() if name in before_caps else '(none)'} -> "
        f"{after_caps[name].describe() if name in after_caps else '(removed)'}"
        for name in sorted(set(before_caps) | set(after_caps))
        if before_caps.get(name) != after_caps.get(name)
    )
    if before_rates != after_rates:
        changes += (f"rates: {_rates_line(before_rates)} -> {_rates_line(after_rates)}",)
    known = after_rates or before_rates
    currency = known.currency if known else "?"
    if before_managed != after_managed:
        changes += (f"managed resources: {_managed_line(before_managed, currency)} -> {_managed_line(after_managed, currency)}",)
    return ClusterCost(
        cluster,
        currency,
        _plus(_total(before_caps, before_rates, _default_class(base_params)), before_managed),
        _plus(_total(after_caps, after_rates, _default_class(head_params)), after_managed),
        changes,
    )


def _plus(pair: tuple[float, float], extra: Managed | None) -> tuple[float, float]:
    """The managed resources cost the same at the HPAs' minimum and maximum."""
    add = extra.monthly if extra else 0.0
    return round(pair[0] + add, 2), round(pair[1] + add, 2)


def _managed_line(value: Managed | None, currency: str) -> str:
    return "(none)" if value is None else f"{value.description} ({_money(value.monthly, currency)})"


def _rates_line(rates: Rates | None) -> str:
    if rates is None:
        return "(no pricing)"
    return f"{rates.cpu_core_hour:g}/core-h, {rates.memory_gib_hour:g}/GiB-h, LB {rates.load_balancer_hour:g}/h ({rates.date})"


def _money(value: float, currency: str, *, signed: bool = False) -> str:
    amount = Decimal(str(round(value, 2))).quantize(Decimal("0.01"))
    return f"{'+' if signed and amount > 0 else ''}{amount:,} {currency}"


def _range(pair: tuple[float, float], currency: str, *, signed: bool = False) -> str:
    low, high = (_money(v, currency, signed=signed) for v in pair)
    return low if low == high else f"{low} to {high}"


def threshold(parameters: Mapping[str, Any]) -> float | None:
    value = (parameters.get("review") or {}).get("cost_risk_monthly_delta")
    return None if value is None else float(value)


def build(review: ReviewInput) -> Section | None:
    repriced = {
        name
        for name in set(review.base_parameters) & set(review.head_parameters)
        if Rates.of(review.base_parameters[name]) != Rates.of(review.head_parameters[name])
        and (review.head_root / "compiled" / name / "manifests").is_dir()
    }
    # A change under compiled/<management>/infra/infra-<cluster>/ is <cluster>'s; so is a managed-resource
    # setting whose compile is not in this tree (the management cluster left out of a partial compile).
    resized = {
        name
        for name in set(review.base_parameters) & set(review.head_parameters)
        if managed(review.base_parameters[name]) != managed(review.head_parameters[name])
    }
    names = sorted(set(review.touched_clusters) | repriced | resized)
    costs = [c for c in (cluster_cost(review, name) for name in names) if c]
    if not costs:
        return None
    risks: list[RiskItem] = []
    for cost in costs:
        limit = threshold(review.head_parameters.get(cost.cluster) or review.base_parameters.get(cost.cluster) or {})
        worst = max(cost.delta, key=abs)
        if limit is not None and abs(worst) > limit:
            risks.append(
                RiskItem(
                    "cost",
                    cost.cluster,
                    f"monthly cost changes by {_range(cost.delta, cost.currency, signed=True)}, "
                    f"more than review.cost_risk_monthly_delta {_money(limit, cost.currency)}",
                )
            )
    currencies = sorted({c.currency for c in costs})
    totals = {
        currency: tuple(sum(c.delta[i] for c in costs if c.currency == currency) for i in (0, 1)) for currency in currencies
    }
    text_lines, md_rows = [], ["| cluster | before / month | after / month | delta |", "| --- | --- | --- | --- |"]
    for cost in costs:
        before, after = _range(cost.before, cost.currency), _range(cost.after, cost.currency)
        delta = _range(cost.delta, cost.currency, signed=True)
        text_lines.append(f"{cost.cluster}: {before} -> {after} ({delta})")
        text_lines += [f"  {line}" for line in cost.changes]
        md_rows.append(f"| {cost.cluster} | {before} | {after} | **{delta}** |")
    for currency, pair in totals.items():
        total = _range((pair[0], pair[1]), currency, signed=True)
        text_lines.append(f"total delta: {total}")
        md_rows.append(f"| **total** | | | **{total}** |")
    sources = sorted({f"{r.source} ({r.date})" for r in (Rates.of(p) for p in review.head_parameters.values()) if r})
    note = (
        "Where two figures are given, they are at the HPAs' minimum and maximum replicas. "
        "Requests x replicas, volumes and load balancers priced at "
        f"{'; '.join(sources) or 'no rates'}; charts' own workloads are not counted. Managed resources "
        "(node group at its desired size, NAT, RDS, ElastiCache and the rest of docs/infrastructure.md's baseline) "
        "at the cloud class's pricing.infrastructure rates, attributed to the cluster they serve."
    )
    changed = "\n".join(
        f"- {c.cluster}: `{line.split(': ', 1)[0]}`: {line.split(': ', 1)[1]}" for c in costs for line in c.changes
    )
    markdown = "\n".join([*md_rows, "", changed, "", note]) + "\n"
    return Section("cost", TITLE, "\n".join([*text_lines, note]) + "\n", markdown, tuple(risks))
