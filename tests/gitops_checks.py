"""Structure checks of a compiled Argo CD setup, shared by the tests/test_gitops_*.py files.

A cluster is loaded into plain data (folders of documents, values files, bootstrap documents) so
that each check can run on the committed tree and on a deliberately broken copy of it: every
check returns a list of problems, empty when the setup is sound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
Doc = dict[str, Any]

# Which catalog chart (by key) provides the custom resources of an API group, or of one kind in
# it. "bootstrap" means installed before Argo CD syncs anything (Argo CD's own CRDs).
CRD_PROVIDERS: dict[str, str] = {
    "argoproj.io/Application": "bootstrap",
    "argoproj.io/AppProject": "bootstrap",
    "argoproj.io/ApplicationSet": "bootstrap",
    "argoproj.io": "argo-rollouts",
    "monitoring.coreos.com": "kube-prometheus-stack",
    "karpenter.sh": "karpenter",
    "karpenter.k8s.aws": "karpenter",
    "cert-manager.io": "cert-manager",
    "acme.cert-manager.io": "cert-manager",
    "external-secrets.io": "external-secrets",
    "generators.external-secrets.io": "external-secrets",
    "gateway.networking.k8s.io": "envoy-gateway",
    "gateway.envoyproxy.io": "envoy-gateway",
    "postgresql.cnpg.io": "cloudnative-pg",
    "barmancloud.cnpg.io": "plugin-barman-cloud",
    "redis.redis.opstreelabs.in": "redis-operator",
    "velero.io": "velero",
    "security.istio.io": "istio-base",
    "networking.istio.io": "istio-base",
    "telemetry.istio.io": "istio-base",
    "opentelemetry.io": "opentelemetry-operator",
    "jaegertracing.io": "jaeger",
    "kyverno.io": "kyverno",
    "policies.kyverno.io": "kyverno",
}
BUILTIN_CLUSTER_SCOPED = {
    ("", "Namespace"), ("", "PersistentVolume"), ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"), ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("storage.k8s.io", "StorageClass"), ("scheduling.k8s.io", "PriorityClass"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"), ("apiregistration.k8s.io", "APIService"),
    ("external-secrets.io", "ClusterSecretStore"), ("external-secrets.io", "ClusterExternalSecret"),
    ("cert-manager.io", "ClusterIssuer"), ("postgresql.cnpg.io", "ClusterImageCatalog"),
    ("gateway.networking.k8s.io", "GatewayClass"), ("policies.kyverno.io", "ValidatingPolicy"),
    ("kyverno.io", "ClusterPolicy"), ("karpenter.sh", "NodePool"), ("karpenter.k8s.aws", "EC2NodeClass"),
}  # fmt: skip


def group_of(doc: Doc) -> str:
    return str(doc["apiVersion"]).rpartition("/")[0]


def provider_of(doc: Doc) -> str | None:
    group = group_of(doc)
    return CRD_PROVIDERS.get(f"{group}/{doc['kind']}", CRD_PROVIDERS.get(group))


def is_cluster_scoped(doc: Doc) -> bool:
    return (group_of(doc), doc["kind"]) in BUILTIN_CLUSTER_SCOPED


@dataclass
class Cluster:
    """One target's Argo CD-relevant output."""

    name: str
    folders: dict[str, list[Doc]] = field(default_factory=dict)
    values: set[str] = field(default_factory=set)  # helm-values/<key>.yaml files
    bootstrap: list[Doc] = field(default_factory=list)

    @property
    def applications(self) -> list[Doc]:
        return [d for d in self.folders.get("argocd", []) if d["kind"] == "Application"]

    @property
    def projects(self) -> dict[str, Doc]:
        return {d["metadata"]["name"]: d for d in self.folders.get("argocd", []) if d["kind"] == "AppProject"}


def _docs(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


def load_cluster(root: Path, name: str) -> Cluster:
    base = root / "compiled" / name
    cluster = Cluster(name)
    for folder in sorted(p for p in (base / "manifests").iterdir() if p.is_dir()):
        cluster.folders[folder.name] = [d for f in sorted(folder.glob("*.yaml")) for d in _docs(f)]
    cluster.values = {p.stem for p in (base / "helm-values").glob("*.yaml")}
    cluster.bootstrap = [d for f in sorted((root / "argocd" / name).glob("*.yaml")) for d in _docs(f)]
    return cluster


def targets(root: Path = ROOT) -> list[str]:
    return sorted(p.name for p in (root / "compiled").iterdir() if (p / "manifests").is_dir())


def wave(app: Doc) -> int:
    return int(app["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def sources(app: Doc) -> list[Doc]:
    spec = app["spec"]
    return list(spec["sources"]) if "sources" in spec else [spec["source"]]


def folder_of(cluster: Cluster, app: Doc) -> str | None:
    prefix = f"compiled/{cluster.name}/manifests/"
    paths = [s["path"] for s in sources(app) if "path" in s and "helm" not in s]  # an OCI chart has path "." and helm
    if not paths:
        return None
    if len(paths) != 1 or not paths[0].startswith(prefix):
        return "!" + ",".join(paths)
    return str(paths[0][len(prefix) :])


def chart_of(app: Doc) -> str | None:
    """The catalog key of a chart Application (its Helm release name)."""
    for source in sources(app):
        if "chart" in source or "helm" in source:
            return str(source["helm"].get("releaseName", source.get("chart")))
    return None


# --- checks: each returns human-readable problems ------------------------------------------------


def folders_and_applications_match(cluster: Cluster) -> list[str]:
    """Every manifests folder has exactly one Application and every directory Application a folder."""
    problems = []
    owners: dict[str, list[str]] = {}
    for app in cluster.applications:
        folder = folder_of(cluster, app)
        if folder is None:
            continue
        if folder.startswith("!") or folder not in cluster.folders:
            problems.append(f"Application {app['metadata']['name']} syncs {folder.lstrip('!')}, which is not a manifests folder")
        elif not cluster.folders[folder]:
            problems.append(f"Application {app['metadata']['name']} syncs an empty folder {folder}")
        owners.setdefault(folder, []).append(app["metadata"]["name"])
    for folder in cluster.folders:
        apps = owners.get(folder, [])
        if len(apps) != 1:
            problems.append(f"folder manifests/{folder} is synced by {len(apps)} Applications {apps}, not exactly one")
    return problems


def chart_values_exist(cluster: Cluster) -> list[str]:
    problems = []
    for app in cluster.applications:
        for source in sources(app):
            for value_file in source.get("helm", {}).get("valueFiles", []):
                key = Path(value_file).stem
                expected = f"$values/compiled/{cluster.name}/helm-values/{key}.yaml"
                if value_file != expected or key not in cluster.values:
                    problems.append(f"Application {app['metadata']['name']}: values file {value_file} does not exist")
        if chart_of(app) and not any(s.get("ref") == "values" for s in sources(app)):
            problems.append(f"Application {app['metadata']['name']}: chart without the `ref: values` source")
    return problems


def projects_allow_applications(cluster: Cluster) -> list[str]:
    """Project exists; its sourceRepos, destinations and cluster allow-list admit what the app syncs."""
    problems = []
    projects = cluster.projects
    for app in cluster.applications:
        name, spec = app["metadata"]["name"], app["spec"]
        project = projects.get(spec["project"])
        if project is None:
            problems.append(f"Application {name}: project {spec['project']} does not exist")
            continue
        p = project["spec"]
        for source in sources(app):
            if source["repoURL"] not in p.get("sourceRepos", []):
                problems.append(f"Application {name}: repo {source['repoURL']} not allowed by project {spec['project']}")
        allowed_ns = {(d["server"], d["namespace"]) for d in p.get("destinations", [])}
        server = spec["destination"]["server"]
        namespaces = {spec["destination"]["namespace"]}
        folder = folder_of(cluster, app)
        objects = cluster.folders.get(folder or "", [])
        namespaces |= {d["metadata"]["namespace"] for d in objects if "namespace" in d["metadata"]}
        for ns in sorted(namespaces):
            if (server, ns) not in allowed_ns:
                problems.append(f"Application {name}: namespace {ns} not a destination of project {spec['project']}")
        whitelist = {(w["group"], w["kind"]) for w in p.get("clusterResourceWhitelist", [])}
        for doc in objects:
            if is_cluster_scoped(doc) and (group_of(doc), doc["kind"]) not in whitelist:
                problems.append(f"Application {name}: cluster-scoped {doc['kind']} not allowed by project {spec['project']}")
    return problems


def namespaces_have_one_owner(cluster: Cluster) -> list[str]:
    """Every namespace used is created by exactly one Application (Namespace object or CreateNamespace)."""
    owners: dict[str, list[str]] = {}
    used: set[str] = set()
    for app in cluster.applications:
        name, spec = app["metadata"]["name"], app["spec"]
        if "CreateNamespace=true" in spec.get("syncPolicy", {}).get("syncOptions", []):
            owners.setdefault(spec["destination"]["namespace"], []).append(name)
        if chart_of(app):
            used.add(spec["destination"]["namespace"])
        for doc in cluster.folders.get(folder_of(cluster, app) or "", []):
            if doc["kind"] == "Namespace":
                owners.setdefault(doc["metadata"]["name"], []).append(name)
            elif "namespace" in doc["metadata"]:
                used.add(doc["metadata"]["namespace"])
    problems = [f"namespace {ns} is used but no Application creates it" for ns in sorted(used - set(owners))]
    problems += [
        f"namespace {ns} is created by {len(a)} Applications {sorted(a)}" for ns, a in sorted(owners.items()) if len(a) > 1
    ]
    return problems


def namespaced_objects_name_their_namespace(cluster: Cluster) -> list[str]:
    return [
        f"{folder}: {doc['kind']}/{doc['metadata']['name']} has no namespace"
        for folder, docs in sorted(cluster.folders.items())
        for doc in docs
        if not is_cluster_scoped(doc) and "namespace" not in doc["metadata"]
    ]


def crd_providers_sync_first(cluster: Cluster) -> list[str]:
    """A custom resource's Application syncs in a later wave than the chart providing its CRD."""
    problems = []
    chart_apps = {chart_of(a): a for a in cluster.applications if chart_of(a)}
    for app in cluster.applications:
        for doc in cluster.folders.get(folder_of(cluster, app) or "", []):
            group, provider = group_of(doc), provider_of(doc)
            if provider is None and ("." not in group or group.endswith(".k8s.io")):
                continue  # built-in Kubernetes kinds (gateway.networking.k8s.io is in CRD_PROVIDERS)
            if provider == "bootstrap":
                continue
            if provider is None:
                problems.append(f"{doc['apiVersion']} {doc['kind']}: no chart known to provide it (add it to CRD_PROVIDERS)")
            elif provider not in chart_apps:
                problems.append(f"{doc['kind']} in {app['metadata']['name']}: its CRD provider chart {provider} is not installed")
            elif wave(chart_apps[provider]) >= wave(app):
                problems.append(
                    f"{doc['kind']} in {app['metadata']['name']} (wave {wave(app)}) syncs no later than its CRD "
                    f"provider {provider} (wave {wave(chart_apps[provider])})"
                )
    return problems


def prod_is_windowed(cluster: Cluster, environment: str) -> list[str]:
    """In prod every automated Application's project has an allow window for all applications."""
    if environment != "prod":
        return []
    problems = []
    for name, project in sorted(cluster.projects.items()):
        windows = project["spec"].get("syncWindows", [])
        if not any(w["kind"] == "allow" and "*" in w.get("applications", []) for w in windows):
            problems.append(f"prod project {name} has no allow window for all applications")
        for w in windows:
            if "manualSync" not in w:
                problems.append(f"prod project {name}: window {w['schedule']} leaves the manual override flag implicit")
    for app in cluster.applications:
        automated = "automated" in app["spec"].get("syncPolicy", {})
        project = cluster.projects.get(app["spec"]["project"], {"spec": {}})
        if automated and not project["spec"].get("syncWindows"):
            problems.append(f"prod Application {app['metadata']['name']} syncs automatically outside any window")
    return problems


def hpa_replicas_ignored(cluster: Cluster) -> list[str]:
    """Apps whose folder holds an HPA ignore /spec/replicas of its target kind, and only those."""
    problems = []
    for app in cluster.applications:
        docs = cluster.folders.get(folder_of(cluster, app) or "", [])
        scaled = {d["spec"]["scaleTargetRef"]["kind"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
        ignored = {d["kind"] for d in app["spec"].get("ignoreDifferences", []) if "/spec/replicas" in d.get("jsonPointers", [])}
        name = app["metadata"]["name"]
        problems += [
            f"Application {name}: HPA owns {k} replicas but the diff does not ignore them" for k in sorted(scaled - ignored)
        ]
        if ignored and not scaled:
            problems.append(f"Application {name}: ignores replicas without an HPA (drift would go unnoticed)")
        options = app["spec"].get("syncPolicy", {}).get("syncOptions", [])
        for option in ("ServerSideApply=true", "PruneLast=true"):
            if option not in options:
                problems.append(f"Application {name}: missing sync option {option}")
        if "retry" not in app["spec"].get("syncPolicy", {}):
            problems.append(f"Application {name}: no retry with backoff")
    return problems


def bootstrap_matches(cluster: Cluster) -> list[str]:
    """argocd/<target>/ holds the same AppProjects and root Application as the compiled argocd folder."""
    compiled = {(d["kind"], d["metadata"]["name"]): d for d in cluster.folders.get("argocd", [])}
    problems = []
    kinds = sorted(d["kind"] for d in cluster.bootstrap)
    if kinds.count("Application") != 1 or kinds.count("AppProject") != len(cluster.projects):
        problems.append(f"bootstrap of {cluster.name} holds {kinds}, expected every AppProject and one root Application")
    for doc in cluster.bootstrap:
        key = (doc["kind"], doc["metadata"]["name"])
        if compiled.get(key) != doc:
            problems.append(f"bootstrap {key} differs from compiled/{cluster.name}/manifests/argocd")
        if doc["kind"] == "Application" and folder_of(cluster, doc) != "argocd":
            problems.append(f"root Application {doc['metadata']['name']} does not sync manifests/argocd")
    return problems


# --- fixture repositories for make diff / make promote ---------------------------------------------

PROJECT_PARTS = ("inventory", "components", "lib", "scripts", "docs/templates", "pyproject.toml", "charts.lock")


def copy_project(destination: Path) -> Path:
    """The files a compile needs, copied from this checkout (caches left out)."""
    import shutil

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        else:
            (destination / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / part)
    return destination


def git_commit(repo: Path, message: str) -> None:
    import subprocess

    env_args = ["-c", "user.email=test@example.invalid", "-c", "user.name=test", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *env_args, "commit", "-q", "-m", message], check=True)


def init_repo(repo: Path) -> Path:
    import subprocess

    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    copy_project(repo)
    git_commit(repo, "base")
    return repo
