"""Cross-field rules of the GitOps sections (`argocd`, `charts`, `apps`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping

from mnops.errors import Problem
from mnops.infra import rules as infra_rules
from mnops.inventory.rules import Params, Rule

# The seed's branch strategy (3.3): main -> production, develop -> staging, feature/* for dev.
TRACKED_BRANCH = {"prod": ("main",), "staging": ("develop",)}
DEV_BRANCH_PREFIXES = ("develop", "feature/", "release/", "hotfix/")


def revision_follows_branch_strategy(target: str, params: Params) -> Iterator[Problem]:
    env = params["cluster"]["environment"]
    revision = params["argocd"]["revision"]
    allowed = TRACKED_BRANCH.get(env)
    if allowed is not None and revision not in allowed:
        yield Problem(target, "parameters.argocd.revision", repr(revision), f"'{allowed[0]}' for {env}",
                      "the seed's branch strategy: main -> production, develop -> staging")  # fmt: skip
    elif allowed is None and not revision.startswith(DEV_BRANCH_PREFIXES):
        yield Problem(
            target, "parameters.argocd.revision", repr(revision), "develop or a feature/*, release/* or hotfix/* branch"
        )


def application_names_are_unique(target: str, params: Params) -> Iterator[Problem]:
    """Folders, services and enabled charts each become an Application named after them."""
    # The argocd folder's Application is the root app-of-apps, named after the cluster.
    folders = [target if name == "argocd" else name for name in params["apps"]]
    charts = [k for k, c in params["charts"].items() if c["enabled"]]
    # Where a clash is reported: at the folder, else at the service (a chart key is the oldest name).
    kinds = {"apps": ("folder", folders), "services": ("service", list(params["services"])), "charts": ("chart", charts)}
    names = Counter(name for _, listed in kinds.values() for name in listed)
    for name, count in sorted(names.items()):
        if count > 1:
            section = next(key for key, (_, listed) in kinds.items() if name in listed)
            what = " and ".join(label for label, listed in kinds.values() if name in listed)
            yield Problem(target, f"parameters.{section}.{name}", f"{count} Applications named {name!r} ({what})",
                          "one name per folder, service and chart", "rename one of them")  # fmt: skip
    if "argocd" not in params["apps"]:
        yield Problem(target, "parameters.apps.argocd", "nothing", "the argocd folder (AppProjects and Applications)",
                      "include the class platform.argocd")  # fmt: skip


def prod_automation_is_windowed(target: str, params: Params) -> Iterator[Problem]:
    a = params["argocd"]
    if params["cluster"]["environment"] != "prod" or not a["sync"]["automated"]:
        return
    allow_all = [w for w in a["windows"] if w["kind"] == "allow" and "*" in w["applications"]]
    if not allow_all:
        yield Problem(target, "parameters.argocd.windows", "no allow window for all applications",
                      "an allow window with applications ['*'] when prod syncs automatically",
                      "production changes only inside the agreed window (docs/deployment-guide.md)")  # fmt: skip


def charts_stay_out_of_argocd_namespace(target: str, params: Params) -> Iterator[Problem]:
    """A chart may not install into the Argo CD namespace unless it is Argo CD itself."""
    argocd_ns = params["argocd"]["namespace"]
    for key, chart in sorted(params["charts"].items()):
        if chart["namespace"] == argocd_ns and chart["chart"] != "argo-cd":
            yield Problem(target, f"parameters.charts.{key}.namespace", repr(chart["namespace"]),
                          "a namespace of its own", "Argo CD's namespace holds only Argo CD")  # fmt: skip


RULES: tuple[Rule, ...] = (
    revision_follows_branch_strategy,
    application_names_are_unique,
    prod_automation_is_windowed,
    charts_stay_out_of_argocd_namespace,
)


# Rules over the whole fleet: one cluster's inventory may name another that must exist.
FleetRule = Callable[[Mapping[str, Params]], Iterator[Problem]]


def standby_primary_exists(parameters_by_target: Mapping[str, Params]) -> Iterator[Problem]:
    """A standby replicates its primary's archive: deleting the primary's target file would leave
    the standby recovering from backups nobody writes any more, and fail over to nothing."""
    for name, params in sorted(parameters_by_target.items()):
        if params["cluster"]["role"] != "standby":
            continue
        primary = params["data"]["primary_cluster"]
        if primary not in parameters_by_target:
            yield Problem(name, "parameters.data.primary_cluster", f"no target file inventory/targets/{primary}.yml",
                          f"the primary cluster {primary!r} that standby {name!r} replicates",
                          f"restore inventory/targets/{primary}.yml, or remove inventory/targets/{name}.yml "
                          "(or point data.primary_cluster at another primary) first")  # fmt: skip


def hostnames_belong_to_one_environment(parameters_by_target: Mapping[str, Params]) -> Iterator[Problem]:
    """One public name, two environments: each cluster's external-dns claims the record with its own
    TXT owner, so one of them never gets it and its users reach the other environment. Clusters of
    one environment (a primary and its standby) share their names on purpose."""
    first: dict[str, tuple[str, str]] = {}  # hostname -> (environment, target) that serves it first
    for name, params in sorted(parameters_by_target.items()):
        environment = params["cluster"]["environment"]
        for index, host in enumerate(params.get("gateway", {}).get("hostnames", [])):
            other_environment, other = first.setdefault(host, (environment, name))
            if other_environment != environment:
                found = f"{host!r}, which {other} ({other_environment}) serves too"
                yield Problem(name, f"parameters.gateway.hostnames[{index}]", found, f"a hostname of {environment} only",
                              "two environments' external-dns would fight over one DNS record")  # fmt: skip


FLEET_RULES: tuple[FleetRule, ...] = (standby_primary_exists, hostnames_belong_to_one_environment, *infra_rules.FLEET_RULES)


def fleet_problems(parameters_by_target: Mapping[str, Params]) -> list[Problem]:
    """Problems no single target shows; run only when every target passed its own rules."""
    return [problem for rule in FLEET_RULES for problem in rule(parameters_by_target)]
