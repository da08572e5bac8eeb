"""Inventory rules of the infrastructure layer: address plan, subnets, data exposure, encryption.

Each problem names the key and the file where the value is normally set, because the fix is
always an edit there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mnops import units
from mnops.data import backup_schedules, vault_tiers
from mnops.data.managed import IN_CLUSTER, OPERATOR_CHARTS, STORES, data_services
from mnops.errors import Problem
from mnops.infra.edge import fronted_by_cloudfront, web_acl_name
from mnops.infra.model import edge_namespace
from mnops.infra.network import AddressError, allocate, carve, overlaps
from mnops.inventory.layers import effective_service
from mnops.k8s.gatewayapi import ORIGIN_TLS_MIN_VERSION
from mnops.kapitan_inventory import compiles_manifests

Params = Mapping[str, Any]
PLAN_FILE = "inventory/classes/platform/infra.yml"
EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"
CLOUD_FILE = "inventory/classes/cloud/{cloud}.yml"
# GCP project IDs: 6 to 30 characters, lower-case letters, digits and hyphens, a letter first, no hyphen last.
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _target_file(target: str) -> str:
    return f"inventory/targets/{target}.yml"


def network_is_planned(target: str, params: Params) -> Iterator[Problem]:
    """A cluster without a range in the address plan would get one nobody checked for overlaps."""
    if compiles_manifests(params) and target not in params["infra"]["networks"]:
        yield Problem(
            target,
            f"parameters.infra.networks.{target}",
            "nothing",
            "an address range for this cluster",
            f"add it to the address plan in {PLAN_FILE}",
        )


def networks_do_not_overlap(target: str, params: Params) -> Iterator[Problem]:
    """Overlapping ranges can never be peered or routed between: the plan must be disjoint."""
    infra = params["infra"]
    named = {
        **{f"networks.{k}": v for k, v in infra["networks"].items()},
        **{f"peered_networks.{k}": v for k, v in infra["peered_networks"].items()},
    }
    try:
        found = overlaps(named, "parameters.infra")
    except AddressError as error:
        yield Problem(target, error.key, error.found, error.expected, f"in {PLAN_FILE}")
        return
    for key, cidr, other in found:
        yield Problem(
            target,
            f"parameters.infra.{key}",
            f"{cidr}, which overlaps {other}",
            "a range no other network uses",
            f"address plan in {PLAN_FILE}",
        )


@dataclass(frozen=True)
class LayerNeeds:
    """What a non-AWS layer needs beyond the cloud-neutral settings (AWS's are all in platform/infra.yml)."""

    kubernetes: str  # how the cloud calls its clusters, in messages
    account: re.Pattern[str]
    account_text: str
    sizes: str  # infra.<cloud>.<sizes>: the cloud's node size for each instance type
    size_text: str
    cloud_keys: tuple[tuple[str, str], ...] = ()  # (cloud.<key>, why) the target file must set


LAYERS = {
    "gcp": LayerNeeds(
        "GKE",
        PROJECT_ID,
        "a GCP project ID (6-30 lower-case letters, digits and hyphens, starting with a letter)",
        "machine_types",
        "a machine type",
        (("project_number", "the project's number (it names the service agents granted the CMEK keys)"),),
    ),
    "azure": LayerNeeds("AKS", GUID, "an Azure subscription ID (a lower-case GUID)", "vm_sizes", "a VM size"),
}


def subnets_fit_the_network(target: str, params: Params) -> Iterator[Problem]:
    """AWS: a private and a public subnet per zone; GKE and AKS: the blocks by purpose of their cloud
    class (their subnets are regional)."""
    infra = params["infra"]
    if not compiles_manifests(params) or target not in infra["networks"]:
        return
    cloud = params["cloud"]["provider"]
    try:
        if cloud in LAYERS and cloud in infra:
            allocate(infra["networks"][target], infra[cloud]["ranges"], f"parameters.infra.{cloud}.ranges")
        elif cloud == "aws":
            carve(infra["networks"][target], params["cluster"]["zones"], infra["subnets"])
    except AddressError as error:
        where = CLOUD_FILE.format(cloud=cloud) if cloud != "aws" else _target_file(target)
        yield Problem(target, error.key, error.found, error.expected, f"set in {where} or {PLAN_FILE}")


def _managed(target: str, params: Params) -> bool:
    """A cluster whose cloud layer a management cluster generates."""
    manager = params["infra"].get("management_cluster")
    return compiles_manifests(params) and bool(manager) and manager != target


def cloud_layer_has_its_settings(target: str, params: Params) -> Iterator[Problem]:
    """What the GKE or AKS layer needs beyond the cloud-neutral settings, each named where it is set."""
    cloud = params["cloud"]["provider"]
    needs = LAYERS.get(cloud)
    if needs is None or not _managed(target, params):
        return
    cloud_file = CLOUD_FILE.format(cloud=cloud)
    account = str(params["cloud"].get("account", ""))
    if not needs.account.match(account):
        yield Problem(target, "parameters.cloud.account", repr(account), needs.account_text, f"set in {_target_file(target)}")
    for key, why in needs.cloud_keys:
        if key not in params["cloud"]:
            yield Problem(target, f"parameters.cloud.{key}", "nothing", why, f"set in {_target_file(target)}")
    if cloud not in params.get("crossplane", {}):
        yield Problem(target, f"parameters.crossplane.{cloud}", "nothing", f"the {cloud} provider pin", f"set in {PLAN_FILE}")
    if cloud not in params["infra"]:
        yield Problem(target, f"parameters.infra.{cloud}", "nothing", f"the {needs.kubernetes} settings", f"set in {cloud_file}")
        return
    sizes = params["infra"][cloud][needs.sizes]
    known = ", ".join(sorted(sizes))
    for index, instance_type in enumerate(params["infra"]["nodes"]["instance_types"]):
        if instance_type not in sizes:
            yield Problem(target, f"parameters.infra.nodes.instance_types[{index}]", repr(instance_type),
                          f"an instance type with {needs.size_text} in parameters.infra.{cloud}.{needs.sizes} ({known})",
                          f"add it to {cloud_file}")  # fmt: skip


def databases_are_private(target: str, params: Params) -> Iterator[Problem]:
    if params["infra"]["data_services"].get("publicly_accessible", False):
        yield Problem(
            target,
            "parameters.infra.data_services.publicly_accessible",
            "true",
            "false: databases and caches are reachable only from the cluster's private subnets",
            f"remove it from {_target_file(target)}",
        )


def buckets_are_encrypted(target: str, params: Params) -> Iterator[Problem]:
    for purpose, settings in sorted(params["infra"].get("buckets", {}).items()):
        if settings.get("encrypted") is False:
            yield Problem(
                target,
                f"parameters.infra.buckets.{purpose}.encrypted",
                "false",
                "true: every bucket is encrypted with the cluster's KMS key",
                f"remove it from {_target_file(target)}",
            )


def edge_origin_is_published(target: str, params: Params) -> Iterator[Problem]:
    """CloudFront connects to the origin name; external-dns must point it at the gateway's load balancer."""
    if not compiles_manifests(params) or not fronted_by_cloudfront(params):
        return
    origin = params["infra"]["edge"].get("origin_hostname")
    hostnames = params["gateway"]["hostnames"]
    if not origin:
        expected = "the name CloudFront connects to (origin.<zone>)"
        yield Problem(target, "parameters.infra.edge.origin_hostname", "nothing", expected, "set it in the environment class")
        return
    if origin in hostnames:
        expected = "a name other than the public hostnames (they resolve to CloudFront itself)"
        yield Problem(target, "parameters.infra.edge.origin_hostname", origin, expected)
    annotations = {**params["cloud"]["load_balancer_annotations"], **params["gateway"]["load_balancer_annotations"]}
    if annotations.get(EXTERNAL_DNS_HOSTNAME) != origin:
        yield Problem(
            target,
            f"parameters.gateway.load_balancer_annotations.{EXTERNAL_DNS_HOSTNAME}",
            repr(annotations.get(EXTERNAL_DNS_HOSTNAME)),
            f"{origin!r} (infra.edge.origin_hostname), so that external-dns publishes the origin CloudFront connects to",
        )


def edge_origin_certificate_is_public(target: str, params: Params) -> Iterator[Problem]:
    if compiles_manifests(params) and fronted_by_cloudfront(params) and params["tls"]["issuer"] == "private-ca":
        yield Problem(
            target,
            "parameters.infra.edge.cloudfront",
            "true",
            "false while tls.issuer is private-ca: CloudFront accepts only publicly trusted certificates at the origin",
        )


def edge_outputs_are_this_clusters(target: str, params: Params) -> Iterator[Problem]:
    """Values copied from the management cluster: from this cluster's account (its environment's edge folder's),
    the environment's web ACL, this cluster's hostnames."""
    outputs = params["infra"]["edge"].get("outputs") or {}
    # Not the management cluster, which shares the environment class but runs no gateway CloudFront fronts.
    if not outputs or not compiles_manifests(params) or not fronted_by_cloudfront(params):
        return
    key = "parameters.infra.edge.outputs"
    account = str(params["cloud"].get("account", ""))
    folder = edge_namespace(params["cluster"]["environment"])
    for field in ("certificate_arn", "web_acl_arn"):
        arn = outputs.get(field)
        if arn and arn.split(":")[4] != account:
            yield Problem(target, f"{key}.{field}", arn, f"an ARN in this cluster's account {account}", f"copy it from {folder}")
    acl, name = outputs.get("web_acl_arn"), web_acl_name(params["cluster"]["environment"])
    if acl and acl.split("/")[2] != name:
        yield Problem(target, f"{key}.web_acl_arn", acl, f"the ARN of web ACL {name}", f"copy it from {folder}")
    hostnames = params["gateway"].get("hostnames", [])
    for index, record in enumerate(outputs.get("validation_records", [])):
        if not any(record["name"].rstrip(".").endswith("." + host) for host in hostnames):
            yield Problem(target, f"{key}.validation_records[{index}].name", record["name"], f"a record for one of {hostnames}")
    if outputs.get("distribution_domain") and not (outputs.get("certificate_arn") and outputs.get("web_acl_arn")):
        expected = "certificate_arn and web_acl_arn first (the distribution is created from them)"
        yield Problem(target, f"{key}.distribution_domain", outputs["distribution_domain"], expected)


def edge_cut_over_reaches_the_gateway(target: str, params: Params) -> Iterator[Problem]:
    """Moving the public names to CloudFront must not cut every client off the gateway: CloudFront speaks TLS 1.2
    at most to origins, which the gateway's origin listener must accept (mnops.k8s.gatewayapi)."""
    domain = (params["infra"]["edge"].get("outputs") or {}).get("distribution_domain")
    if domain and compiles_manifests(params) and ORIGIN_TLS_MIN_VERSION > "1.2":
        yield Problem(
            target,
            "parameters.infra.edge.outputs.distribution_domain",
            domain,
            "an origin listener that accepts TLS 1.2: CloudFront connects to origins with TLS 1.2 at most, and the "
            f"gateway's origin listener accepts only TLS {ORIGIN_TLS_MIN_VERSION} and later",
            "ORIGIN_TLS_MIN_VERSION in lib/mnops/k8s/gatewayapi.py",
        )


def cloudfront_addresses_are_known(target: str, params: Params) -> Iterator[Problem]:
    """The gateway's security group admits CloudFront's origin-facing range, one prefix list ID per region."""
    region = params["cluster"]["region"]
    known = params["infra"]["edge"].get("origin_facing_prefix_lists", {})
    if compiles_manifests(params) and fronted_by_cloudfront(params) and region not in known:
        yield Problem(
            target,
            "parameters.infra.edge.origin_facing_prefix_lists",
            f"no entry for {region}",
            "the ID of com.amazonaws.global.cloudfront.origin-facing in the cluster's region",
            f"aws ec2 describe-managed-prefix-lists --region {region}; in {PLAN_FILE}",
        )


_MANAGED_CLOUDS = frozenset({"aws"})
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def managed_data_runs_on_aws(target: str, params: Params) -> Iterator[Problem]:
    """RDS and ElastiCache exist only on AWS; Cloud SQL / Azure Database are not built yet."""
    cloud = params["cloud"]["provider"]
    if not compiles_manifests(params) or cloud in _MANAGED_CLOUDS:
        return
    choice = data_services(params)
    for store in STORES:
        if choice.managed(store):
            yield Problem(target, f"parameters.infra.data_services.{store}", repr(choice.of(store)),
                          f"{IN_CLUSTER[store]!r} on {cloud}", "managed data services are built for AWS only so far")  # fmt: skip


def operator_charts_follow_data_services(target: str, params: Params) -> Iterator[Problem]:
    """The operator charts run exactly where their data store runs in the cluster: an operator without
    objects is waste and attack surface; objects without their operator never become a database."""
    if not compiles_manifests(params):
        return
    choice = data_services(params)
    for store in STORES:
        want = choice.in_cluster(store)
        for key in OPERATOR_CHARTS[store]:
            chart = params["charts"].get(key)
            if chart is not None and chart["enabled"] != want:
                why = "nothing in this cluster uses it" if not want else "the in-cluster objects need their operator"
                yield Problem(target, f"parameters.charts.{key}.enabled", str(chart["enabled"]).lower(),
                              f"{str(want).lower()} like parameters.infra.data_services.{store} ({choice.of(store)!r})",
                              f"{why}; set it in the same class as the choice")  # fmt: skip


def managed_data_is_encrypted_and_protected(target: str, params: Params) -> Iterator[Problem]:
    """Switches that exist only so that turning them off fails by name, in every environment."""
    chosen = params["infra"]["data_services"]
    checks = (
        ("rds", "encrypted", "true: storage, backups and replicas are encrypted with the cluster's KMS key"),
        ("rds", "deletion_protection", "true: a database is never deleted by a change in git or a console slip"),
        ("elasticache", "transit_encryption", "true: clients reach Redis over TLS only"),
        ("elasticache", "at_rest_encryption", "true: snapshots and swap are encrypted with the cluster's KMS key"),
    )
    for service, key, expected in checks:
        if chosen[service].get(key) is False:
            yield Problem(target, f"parameters.infra.data_services.{service}.{key}", "false", expected,
                          "remove the key: it cannot be turned off")  # fmt: skip


def production_managed_data_survives_a_zone_loss(target: str, params: Params) -> Iterator[Problem]:
    if params["cluster"]["environment"] != "prod" or not compiles_manifests(params):
        return
    choice, chosen = data_services(params), params["infra"]["data_services"]
    if choice.managed("postgres") and chosen["rds"].get("multi_az") is False:
        yield Problem(target, "parameters.infra.data_services.rds.multi_az", "false", "true in prod",
                      "a synchronous standby in another zone takes over in about a minute")  # fmt: skip
    if choice.managed("redis") and chosen["elasticache"]["replicas"] < 1:
        yield Problem(target, "parameters.infra.data_services.elasticache.replicas", str(chosen["elasticache"]["replicas"]),
                      "at least 1 in prod", "automatic failover and Multi-AZ need a replica to promote")  # fmt: skip


def rds_keeps_the_recovery_window(target: str, params: Params) -> Iterator[Problem]:
    """Moving to RDS must not shorten how far back a restore can go (postgres.backup.retention)."""
    if not compiles_manifests(params) or not data_services(params).managed("postgres"):
        return
    days = params["infra"]["data_services"]["rds"]["backup_retention_days"]
    window = params["postgres"]["backup"]["retention"]
    if days * 86400 < units.duration_seconds(window):
        yield Problem(target, "parameters.infra.data_services.rds.backup_retention_days", str(days),
                      f"at least the recovery window postgres.backup.retention ({window})",
                      "RDS keeps at most 35 days of automated backups")  # fmt: skip


def _minutes(clock: str) -> int:
    hours, minutes = (int(part) for part in clock.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(clock)
    return hours * 60 + minutes


def _weekly(window: str) -> tuple[int, int]:
    """'sun:04:00-sun:05:00' as minutes of the week, end after start (wrapping past Sunday)."""
    start, end = window.split("-")
    begin = _DAYS.index(start[:3]) * 1440 + _minutes(start[4:])
    finish = _DAYS.index(end[:3]) * 1440 + _minutes(end[4:])
    return begin, finish if finish > begin else finish + 7 * 1440


def _daily(window: str) -> tuple[int, int]:
    start, end = (_minutes(t) for t in window.split("-"))
    return start, end if end > start else end + 1440


def _overlaps(daily: tuple[int, int], weekly: tuple[int, int]) -> bool:
    """Whether the daily window, repeated over two weeks, meets the weekly one (also a week later)."""
    week = 7 * 1440
    return any(
        daily[0] + day * 1440 < weekly[1] + shift and weekly[0] + shift < daily[1] + day * 1440
        for day in range(14)
        for shift in (0, week)
    )


def data_service_windows_are_sound(target: str, params: Params) -> Iterator[Problem]:
    """AWS refuses a backup window that overlaps the maintenance window, and snapshot windows under an hour."""
    chosen = params["infra"]["data_services"]
    for service, key, least in (("rds", "backup_window", 30), ("elasticache", "snapshot_window", 60)):
        settings = chosen[service]
        for name in (key, "maintenance_window"):
            try:
                (_daily if name == key else _weekly)(settings[name])
            except (ValueError, IndexError):
                yield Problem(target, f"parameters.infra.data_services.{service}.{name}", repr(settings[name]),
                              "valid UTC times (hours 00-23)")  # fmt: skip
                return
        daily, weekly = _daily(settings[key]), _weekly(settings["maintenance_window"])
        if daily[1] - daily[0] < least:
            yield Problem(target, f"parameters.infra.data_services.{service}.{key}", repr(settings[key]),
                          f"a window of at least {least} minutes")  # fmt: skip
        elif _overlaps(daily, weekly):
            yield Problem(target, f"parameters.infra.data_services.{service}.{key}", repr(settings[key]),
                          f"a window apart from maintenance_window {settings['maintenance_window']!r}",
                          "AWS refuses overlapping backup and maintenance windows")  # fmt: skip


def rds_covers_every_backup_tier(target: str, params: Params) -> Iterator[Problem]:
    """With RDS, the plan's retention table (backup.schedules) is kept by point-in-time recovery (tiers taken
    more often than daily) and AWS Backup rules (the others, mnops.infra.aws_data): each must fit its tier."""
    if not compiles_manifests(params) or not data_services(params).managed("postgres"):
        return
    days = params["infra"]["data_services"]["rds"]["backup_retention_days"]
    in_vault = {t.name for t in vault_tiers(backup_schedules(params["backup"]))}
    for name, tier in sorted(params["backup"]["schedules"].items()):
        if name not in in_vault and units.duration_seconds(tier["ttl"]) > days * 86400:
            yield Problem(target, f"parameters.backup.schedules.{name}.ttl", repr(tier["ttl"]),
                          f"at most infra.data_services.rds.backup_retention_days ({days} d)",
                          "on RDS a tier taken more often than daily is its point-in-time recovery window")  # fmt: skip
        fields = units.standard_cron(tier["schedule"]).split()
        if name in in_vault and fields[2] not in ("*", "?") and fields[4] not in ("*", "?"):
            yield Problem(target, f"parameters.backup.schedules.{name}.schedule", repr(tier["schedule"]),
                          "a day of the month or a weekday, not both",
                          "AWS Backup rules cannot run on both (one of them must be *)")  # fmt: skip


def service_cloud_identities_are_scoped(target: str, params: Params) -> Iterator[Problem]:
    """A service's cloud role may do only what the service declares it needs (mnops.infra.identities: read its
    own `secret_refs`): a service that declares nothing would get a role scoped to nothing, or to everything."""
    for name in sorted(params["services"]):
        service = effective_service(params, name)
        if service["cloud_identity"] and not service.get("secret_refs"):
            own = "cloud_identity" in params["services"][name]
            key = f"parameters.services.{name}.cloud_identity" if own else "parameters.service_defaults.cloud_identity"
            yield Problem(
                target, key, "true", f"false: {name} declares nothing its cloud role could be scoped to (no secret_refs)"
            )


RULES = (
    network_is_planned,
    networks_do_not_overlap,
    subnets_fit_the_network,
    cloud_layer_has_its_settings,
    databases_are_private,
    buckets_are_encrypted,
    edge_origin_is_published,
    edge_origin_certificate_is_public,
    edge_outputs_are_this_clusters,
    edge_cut_over_reaches_the_gateway,
    managed_data_runs_on_aws,
    operator_charts_follow_data_services,
    managed_data_is_encrypted_and_protected,
    production_managed_data_survives_a_zone_loss,
    rds_keeps_the_recovery_window,
    data_service_windows_are_sound,
    rds_covers_every_backup_tier,
    cloudfront_addresses_are_known,
    service_cloud_identities_are_scoped,
)


def standby_postgres_follows_its_primary(parameters_by_target: Mapping[str, Params]) -> Iterator[Problem]:
    """A standby replicates its primary's PostgreSQL: a CloudNativePG replica cluster follows a
    CloudNativePG archive, an RDS read replica an RDS instance; mixing them replicates nothing."""
    for name, params in sorted(parameters_by_target.items()):
        if params["cluster"]["role"] != "standby" or not compiles_manifests(params):
            continue
        primary = parameters_by_target.get(params["data"]["primary_cluster"])
        if primary is None:
            continue  # standby_primary_exists reports it
        mine, theirs = data_services(params).postgres, data_services(primary).postgres
        if mine != theirs:
            yield Problem(name, "parameters.infra.data_services.postgres", repr(mine),
                          f"{theirs!r} like its primary {params['data']['primary_cluster']!r}",
                          "a standby replicates its primary's PostgreSQL of the same kind")  # fmt: skip


def declared_first(cluster: str, networks: Mapping[str, Any]) -> tuple[int, str]:
    """Sort key: clusters in the order the address plan declares them (a new cluster comes last)."""
    order = list(networks)
    return (order.index(cluster) if cluster in order else len(order), cluster)


def _writes_environment_zone(target: str, params: Params) -> bool:
    """A managed AWS workload cluster serving hostnames: its external-dns, cert-manager and edge write the zone."""
    manager = params.get("infra", {}).get("management_cluster")
    return bool(
        compiles_manifests(params)
        and params["cloud"]["provider"] == "aws"
        and manager not in (None, target)
        and params["gateway"].get("hostnames")
    )


def environment_zone_has_one_account(parameters_by_target: Mapping[str, Params]) -> Iterator[Problem]:
    """An environment's hosted zone (infra-dns-<environment>) is in one account; a cluster of the environment
    in another account could not write its records with its own roles."""
    first: dict[str, tuple[str, str]] = {}
    writers = [(n, p) for n, p in parameters_by_target.items() if _writes_environment_zone(n, p)]
    # The environment's first cluster in the address plan sets the account (and owns the zone: mnops.infra.management).
    for name, params in sorted(writers, key=lambda item: declared_first(item[0], item[1]["infra"]["networks"])):
        environment, account = params["cluster"]["environment"], str(params["cloud"].get("account", ""))
        owner, expected = first.setdefault(environment, (name, account))
        if account != expected:
            yield Problem(
                name,
                "parameters.cloud.account",
                repr(account),
                f"{expected!r} like {owner!r}: the {environment} environment's hosted zone is in one account",
                f"set it in {_target_file(name)}",
            )


def _fronted_managed(target: str, params: Params) -> bool:
    """A managed AWS workload cluster behind its environment's CloudFront (infra-edge-<environment>)."""
    return _writes_environment_zone(target, params) and fronted_by_cloudfront(params)


def environment_edge_is_one(parameters_by_target: Mapping[str, Params]) -> Iterator[Problem]:
    """An environment has one distribution (infra-edge-<environment>), built from its first cluster in the address
    plan: each of its clusters must say the same `infra.edge` (outputs included: recorded once, in the environment
    class) and serve the same hostnames, else a value set for one cluster only would be silently ignored or, were
    it read, move the distribution on a role swap."""
    first: dict[str, tuple[str, Params]] = {}
    fronted = [(n, p) for n, p in parameters_by_target.items() if _fronted_managed(n, p)]
    for name, params in sorted(fronted, key=lambda item: declared_first(item[0], item[1]["infra"]["networks"])):
        environment = params["cluster"]["environment"]
        owner, expected = first.setdefault(environment, (name, params))
        if owner == name:
            continue
        env_file = f"inventory/classes/env/{environment}.yml"
        mine, theirs = params["infra"]["edge"], expected["infra"]["edge"]
        for key in sorted(set(mine) | set(theirs)):
            if key != "origin_facing_prefix_lists" and (mine.get(key) or None) != (theirs.get(key) or None):
                yield Problem(
                    name,
                    f"parameters.infra.edge.{key}",
                    repr(mine.get(key)),
                    f"{theirs.get(key)!r} like {owner!r}: the {environment} environment has one CloudFront distribution",
                    f"set it once in {env_file}, not in a target file",
                )
        if list(params["gateway"]["hostnames"]) != list(expected["gateway"]["hostnames"]):
            yield Problem(
                name,
                "parameters.gateway.hostnames",
                repr(params["gateway"]["hostnames"]),
                f"{expected['gateway']['hostnames']!r} like {owner!r}: its CloudFront distribution serves one set of names",
                f"in {env_file}",
            )


FLEET_RULES = (standby_postgres_follows_its_primary, environment_zone_has_one_account, environment_edge_is_one)
