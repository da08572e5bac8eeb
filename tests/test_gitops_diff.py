"""`make diff` (scripts/diff.py): exactly the changed objects per target, each change once, and the risky ones.

Behaviours are checked on small synthetic compiled trees (diff_trees on two folders); one real
compile of a two-commit copy of this repository checks the whole command end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from conftest import real_parameters
from diff_support import seed_base_cache
from gitops_checks import ROOT, git_commit, init_repo

from mnops.delivery.model import PROGRESSIVE
from mnops.gitops.diff_render import COMMENT_LIMIT, render_markdown, render_text
from mnops.gitops.diffing import Key, TargetChanges, changed_fields, diff_trees, risks_of
from mnops.inventory.layers import effective_service
from mnops.kapitan_inventory import compiles_manifests
from mnops.review import RiskItem, Section

# --- synthetic trees --------------------------------------------------------------------------------


def obj(kind, name, spec=None, *, namespace="ns", labels=None, api="v1", **top):
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec or {},
        **top,
    }


def write_tree(root, files):
    """files: {"compiled/<target>/<path>": [documents] | str}; returns root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump_all(content, sort_keys=True))
    return root


def diff_of(tmp_path, base_files, head_files):
    return diff_trees(write_tree(tmp_path / "base", base_files), write_tree(tmp_path / "head", head_files))


def deployment(containers, replicas=2, labels=None):
    return obj(
        "Deployment",
        "api",
        {"replicas": replicas, "template": {"spec": {"containers": containers}}},
        labels=labels,
        api="apps/v1",
    )


def container(name, image, env=(), memory="512Mi"):
    return {
        "name": name,
        "image": image,
        "env": [{"name": k, "value": v} for k, v in env],
        "resources": {"limits": {"memory": memory}, "requests": {"memory": memory}},
    }


def reasons(changes):
    return sorted(f"{r.key.kind}: {r.reason}" for target in changes for r in risks_of(target, changes[target]))


def test_inserting_a_container_or_env_var_reports_only_the_insertion(tmp_path):
    app = container("app", "app:1", env=[("A", "1"), ("B", "2")])
    sidecar = container("proxy", "envoy:1")
    app_with_env = container("app", "app:1", env=[("A", "1"), ("NEW", "x"), ("B", "2")])
    changes = diff_of(
        tmp_path,
        {"compiled/prod/manifests/api/deployment.yaml": [deployment([app])]},
        {"compiled/prod/manifests/api/deployment.yaml": [deployment([sidecar, app_with_env])]},
    )
    # By index this would be "containers[0].image app:1 -> envoy:1" and an env shift; by name it is
    # one new container and one new variable.
    assert reasons(changes) == [
        "Deployment: image: None -> envoy:1",
        "Deployment: resources: spec.template.spec.containers[proxy].resources.limits.memory None -> 512Mi",
        "Deployment: resources: spec.template.spec.containers[proxy].resources.requests.memory None -> 512Mi",
    ]
    text = render_text(changes)
    assert "spec.template.spec.containers[app].env[NEW].value: (none) -> x" in text
    assert "containers[proxy].image: (none) -> envoy:1" in text
    assert "containers[app].image" not in text


def test_a_doubled_memory_limit_and_hpa_bounds_are_risky(tmp_path):
    hpa = obj("HorizontalPodAutoscaler", "api", {"minReplicas": 2, "maxReplicas": 6}, api="autoscaling/v2")
    bigger_hpa = obj("HorizontalPodAutoscaler", "api", {"minReplicas": 2, "maxReplicas": 12}, api="autoscaling/v2")
    changes = diff_of(
        tmp_path,
        {"compiled/prod/manifests/api/all.yaml": [deployment([container("app", "app:1")]), hpa]},
        {"compiled/prod/manifests/api/all.yaml": [deployment([container("app", "app:1", memory="1Gi")]), bigger_hpa]},
    )
    assert reasons(changes) == [
        "Deployment: resources: spec.template.spec.containers[app].resources.limits.memory 512Mi -> 1Gi (x2.00)",
        "Deployment: resources: spec.template.spec.containers[app].resources.requests.memory 512Mi -> 1Gi (x2.00)",
        "HorizontalPodAutoscaler: HPA bounds: spec.maxReplicas 6 -> 12",
    ]


def rule_object(threshold, objective="0.999", services=("a", "b")):
    rules = []
    for service in services:
        rules.append(
            {"alert": "HighErrorRate", "expr": f"errors{{service='{service}'}} > {threshold}", "labels": {"service": service}}
        )
    rules.append({"record": "service:slo_objective:ratio", "expr": f"vector({objective})", "labels": {"service": "a"}})
    return obj("PrometheusRule", "mnops-alerts", {"groups": [{"name": "alerts", "rules": rules}]}, api="monitoring.coreos.com/v1")


def test_a_moved_alert_threshold_and_slo_target_are_risky_and_the_raw_rule_file_is_shown_once(tmp_path):
    base_rule, head_rule = rule_object("0.05"), rule_object("0.1", objective="0.995")
    changes = diff_of(
        tmp_path,
        {
            "compiled/prod/manifests/monitoring/rules.yaml": [base_rule],
            "compiled/prod/rules/mnops-alerts.yaml": yaml.safe_dump({"groups": base_rule["spec"]["groups"]}),
        },
        {
            "compiled/prod/manifests/monitoring/rules.yaml": [head_rule],
            "compiled/prod/rules/mnops-alerts.yaml": yaml.safe_dump({"groups": head_rule["spec"]["groups"]}),
        },
    )
    assert reasons(changes) == [
        "PrometheusRule: SLO target: service:slo_objective:ratio 0.999 -> 0.995",
        "PrometheusRule: alert threshold: HighErrorRate{service=a} expr 0.05 -> 0.1",
        "PrometheusRule: alert threshold: HighErrorRate{service=b} expr 0.05 -> 0.1",
    ]
    assert changes["prod"].files == {}
    assert changes["prod"].mirrored == {
        "compiled/prod/rules/mnops-alerts.yaml": Key("prod", "PrometheusRule", "ns", "mnops-alerts", "monitoring.coreos.com")
    }
    text = render_text(changes)
    assert "(same change in compiled/prod/rules/mnops-alerts.yaml)" in text
    assert "~ file" not in text


def test_a_rule_file_that_differs_from_its_object_is_still_shown(tmp_path):
    base_rule, head_rule = rule_object("0.05"), rule_object("0.1")
    changes = diff_of(
        tmp_path,
        {"compiled/prod/m/r.yaml": [base_rule], "compiled/prod/rules/x.yaml": yaml.safe_dump({"groups": []})},
        {"compiled/prod/m/r.yaml": [head_rule], "compiled/prod/rules/x.yaml": yaml.safe_dump({"groups": [{"name": "other"}]})},
    )
    assert list(changes["prod"].files) == ["compiled/prod/rules/x.yaml"]
    assert changes["prod"].mirrored == {}


def test_a_dashboard_file_and_its_configmap_are_one_change(tmp_path):
    def files(title):
        board = json.dumps({"title": title, "panels": []}, indent=2)
        config_map = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "grafana-dashboard-x", "namespace": "monitoring"},
        }
        return {
            "compiled/prod/manifests/dashboards/configmap.yaml": [{**config_map, "data": {"x.json": board}}],
            "compiled/prod/dashboards/x.json": board,
        }

    changes = diff_of(tmp_path, files("old"), files("new"))
    assert list(changes["prod"].mirrored) == ["compiled/prod/dashboards/x.json"]
    assert changes["prod"].files == {}


def test_a_digest_pin_lost_is_risky(tmp_path):
    pinned = "ghcr.io/o/app:1.2.0@sha256:" + "ab" * 32
    changes = diff_of(
        tmp_path,
        {"compiled/prod/d.yaml": [deployment([container("app", pinned)])]},
        {"compiled/prod/d.yaml": [deployment([container("app", "ghcr.io/o/app:1.3.0")])]},
    )
    assert reasons(changes) == [f"Deployment: digest pin lost: {pinned} -> ghcr.io/o/app:1.3.0"]


def application(name, cascade):
    meta = {"finalizers": ["resources-finalizer.argocd.argoproj.io"]} if cascade else {}
    app = obj(
        "Application",
        name,
        {"source": {"path": f"compiled/prod/manifests/{name}"}, "destination": {"namespace": "apps"}},
        namespace="argocd",
        api="argoproj.io/v1alpha1",
    )
    app["metadata"].update(meta)
    return app


@pytest.mark.parametrize(
    ("cascade", "expected"),
    [
        (True, "pruned with the cascade finalizer, Argo CD deletes 1 Deployment, 1 Service"),
        (False, "no cascade finalizer, so 1 Deployment, 1 Service are orphaned and left running unmanaged"),
    ],
)
def test_a_removed_application_says_what_happens_to_its_objects(tmp_path, cascade, expected):
    base = {
        "compiled/prod/manifests/argocd/apps.yaml": [application("api", cascade), application("web", cascade)],
        "compiled/prod/manifests/api/d.yaml": [deployment([container("app", "app:1")])],
        "compiled/prod/manifests/api/s.yaml": [obj("Service", "api")],
    }
    head = {"compiled/prod/manifests/argocd/apps.yaml": [application("web", cascade)]}
    changes = diff_of(tmp_path, base, head)
    app_risks = [r for r in risks_of("prod", changes["prod"]) if r.key.kind == "Application"]
    assert [r.reason for r in app_risks] == [f"removes Argo CD Application: {expected}"]
    assert app_risks[0].risk_class == ("data-deletion" if cascade else "delivery")


def test_a_removed_application_whose_parent_does_not_prune_stays(tmp_path):
    root = application("root", cascade=False)
    root["spec"]["source"]["path"] = "compiled/prod/manifests/argocd"
    root["spec"]["syncPolicy"] = {"automated": {"prune": False}}
    base = {
        "compiled/prod/manifests/argocd/apps.yaml": [root, application("api", cascade=True)],
        "compiled/prod/manifests/api/s.yaml": [obj("Service", "api")],
    }
    changes = diff_of(tmp_path, base, {"compiled/prod/manifests/argocd/apps.yaml": [root]})
    app_risks = [r.reason for r in risks_of("prod", changes["prod"]) if r.key.kind == "Application"]
    assert app_risks == [
        "removes Argo CD Application: its parent root does not prune, so it and 1 Service stay until deleted by hand"
    ]
    root["spec"]["syncPolicy"]["automated"]["prune"] = True
    changes = diff_of(tmp_path / "pruning", base, {"compiled/prod/manifests/argocd/apps.yaml": [root]})
    app_risks = [r.reason for r in risks_of("prod", changes["prod"]) if r.key.kind == "Application"]
    assert app_risks == ["removes Argo CD Application: pruned with the cascade finalizer, Argo CD deletes 1 Service"]


def test_a_namespace_move_is_a_delete_and_recreate(tmp_path):
    changes = diff_of(
        tmp_path,
        {"compiled/prod/s.yaml": [obj("Service", "api", namespace="old")]},
        {"compiled/prod/s.yaml": [obj("Service", "api", namespace="new")]},
    )
    assert reasons(changes) == ["Service: namespace move old -> new (deleted and recreated, not moved)"]


def test_a_label_only_change_is_one_line_per_object(tmp_path):
    def tree(version):
        labels = {"app.kubernetes.io/version": version}
        return {
            "compiled/prod/x.yaml": [obj("ServiceAccount", "api", labels=labels), obj("Service", "api", {"p": 1}, labels=labels)]
        }

    changes = diff_of(tmp_path, tree("1.0"), tree("1.1"))
    text = render_text(changes)
    changed = [line for line in text.splitlines() if line.startswith("  ~ ")]
    assert changed == [
        "  ~ Service ns/api: only labels/annotations: labels.app.kubernetes.io/version: 1.0 -> 1.1",
        "  ~ ServiceAccount ns/api: only labels/annotations: labels.app.kubernetes.io/version: 1.0 -> 1.1",
    ]
    assert "---" not in text  # no unified diff for a label change
    assert reasons(changes) == []


def big_config_map(seed):
    return obj("ConfigMap", "big", data={f"key-{i:03d}": f"{seed}-{i}" for i in range(300)})


def test_a_large_object_change_is_summarised_with_counts(tmp_path):
    changes = diff_of(tmp_path, {"compiled/prod/c.yaml": [big_config_map("a")]}, {"compiled/prod/c.yaml": [big_config_map("b")]})
    text = render_text(changes)
    assert "~ ConfigMap ns/big: 300 fields changed (+300 -300 YAML lines, summarised, first 12 below)" in text
    assert len(text.splitlines()) < 40
    assert len(render_text(changes, full=True).splitlines()) > 600


def test_added_and_removed_files_are_one_line_each(tmp_path):
    long_text = "".join(f"line {i}\n" for i in range(5000))
    changes = diff_of(tmp_path, {"compiled/prod/README.md": long_text}, {"compiled/prod/NOTES.md": "x\n"})
    text = render_text(changes)
    assert "~ removed file compiled/prod/README.md (5000 lines)" in text
    assert "~ added file compiled/prod/NOTES.md (1 lines)" in text
    assert len(text.splitlines()) < 10


def test_the_markdown_fits_a_pr_comment_and_says_what_it_cut(tmp_path):
    base = {f"compiled/t{i}/c.yaml": [obj("ConfigMap", f"c{j}", data={"k": "a" * 40}) for j in range(60)] for i in range(6)}
    head = {f"compiled/t{i}/c.yaml": [obj("ConfigMap", f"c{j}", data={"k": "b" * 40}) for j in range(60)] for i in range(6)}
    changes = diff_of(tmp_path, base, head)
    whole = render_markdown(changes, limit=10**9)
    assert len(whole) > COMMENT_LIMIT  # the fixture really is too big for one comment
    markdown = render_markdown(changes)
    assert len(markdown) <= COMMENT_LIMIT
    assert ":scissors: Cut to fit GitHub's 65,536-character comment limit: " in markdown
    cut = markdown.rsplit("limit: ", 1)[1].split(".", 1)[0]
    assert cut.endswith("object diffs")
    assert markdown.count("<details>") == markdown.count("</details>")
    assert int(cut.split()[0]) == whole.count("```diff") - markdown.count("```diff")


def test_a_small_markdown_is_not_cut(tmp_path):
    changes = diff_of(
        tmp_path, {"compiled/prod/c.yaml": [obj("ConfigMap", "c")]}, {"compiled/prod/c.yaml": [obj("ConfigMap", "d")]}
    )
    markdown = render_markdown(changes)
    assert "Cut to fit" not in markdown
    assert "- added `ConfigMap ns/d`" in markdown and "- removed `ConfigMap ns/c`" in markdown


def test_the_summary_counts_the_same_risky_changes_as_the_heading(tmp_path):
    # A removed StatefulSet is an object risk; a section's risks (secret mappings, ...) are listed
    # under the same heading, so the one-line summary counts them too.
    changes = diff_of(tmp_path, {"compiled/prod/s.yaml": [obj("StatefulSet", "redis")]}, {"compiled/prod/s.yaml": []})
    section = Section(
        "secrets", "Secret mappings", "text\n", "markdown\n",
        (RiskItem("secrets", "prod", "one"), RiskItem("secrets", "prod", "two")),
    )  # fmt: skip
    object_risks = len(risks_of("prod", changes["prod"]))
    assert object_risks >= 1
    total = object_risks + 2
    markdown = render_markdown(changes, sections=[section])
    assert f"### :warning: Risky changes ({total})" in markdown
    assert f"; {total} risky change(s)" in markdown
    text = render_text(changes, [section])
    assert f"Risky changes ({total}):" in text and f"; {total} risky change(s)" in text


def test_risky_changes_cover_pdbs_network_rbac_secrets_images_and_stateful_deletions():
    def key(kind, name, namespace="ns"):
        return Key("prod", kind, namespace, name)

    changes = TargetChanges()
    changes.added[key("PodDisruptionBudget", "a")] = obj("PodDisruptionBudget", "a")
    changes.removed[key("StatefulSet", "redis")] = obj("StatefulSet", "redis")
    changes.changed[key("NetworkPolicy", "deny")] = (
        obj("NetworkPolicy", "deny", {"x": 1}),
        obj("NetworkPolicy", "deny", {"x": 2}),
    )
    changes.changed[key("ClusterRole", "r", "")] = (obj("ClusterRole", "r", {"v": 1}), obj("ClusterRole", "r", {"v": 2}))
    env = {"template": {"spec": {"containers": [{"name": "c", "image": "app:1", "envFrom": [{"secretRef": {"name": "old"}}]}]}}}
    env2 = {"template": {"spec": {"containers": [{"name": "c", "image": "app:2", "envFrom": [{"secretRef": {"name": "new"}}]}]}}}
    changes.changed[key("Deployment", "api")] = (obj("Deployment", "api", env), obj("Deployment", "api", env2))
    found = sorted(f"{r.key.kind}: {r.reason} [{r.risk_class}]" for r in risks_of("prod", changes))
    assert found == [
        "ClusterRole: changes RBAC (roles, bindings or Argo CD project rights) [rbac]",
        "Deployment: image: app:1 -> app:2 [delivery]",
        "Deployment: secret reference: spec.template.spec.containers[c].envFrom[0].secretRef.name [secrets]",
        "NetworkPolicy: changes a network policy [network]",
        "PodDisruptionBudget: adds a PodDisruptionBudget [delivery]",
        "StatefulSet: deletes a stateful object (data may be lost) [data-deletion]",
    ]


def test_a_new_version_label_alone_is_not_risky():
    changes = TargetChanges()
    old = obj("PodDisruptionBudget", "a", {"maxUnavailable": 1}, labels={"app.kubernetes.io/version": "1"})
    new = obj("PodDisruptionBudget", "a", {"maxUnavailable": 1}, labels={"app.kubernetes.io/version": "2"})
    changes.changed[Key("prod", "PodDisruptionBudget", "ns", "a")] = (old, new)
    assert risks_of("prod", changes) == []
    new["spec"]["maxUnavailable"] = 0
    assert [r.reason for r in risks_of("prod", changes)] == ["changes a PodDisruptionBudget"]


# --- one real compile of both sides ------------------------------------------------------------------


ERROR_RATE = "      error_rate_percent: 5\n"


@pytest.fixture(scope="module")
def two_commit_repo(tmp_path_factory):
    """A copy of this repository whose second commit changes dev's replicas and the org-wide error-rate threshold."""
    repo = init_repo(tmp_path_factory.mktemp("diff-fixture") / "repo")
    dev = repo / "inventory" / "classes" / "env" / "dev.yml"
    text = dev.read_text()
    assert "  service_defaults:\n    replicas: 1\n" in text
    dev.write_text(text.replace("  service_defaults:\n    replicas: 1\n", "  service_defaults:\n    replicas: 2\n"))
    common = repo / "inventory" / "classes" / "common.yml"
    assert common.read_text().count(ERROR_RATE) == 1
    common.write_text(common.read_text().replace(ERROR_RATE, ERROR_RATE.replace("5", "10")))
    git_commit(repo, "dev: two replicas per service; error-rate alerts at 10%")
    seed_base_cache(tmp_path_factory, repo)  # HEAD~1 is the cold diff's base: only HEAD is compiled
    return repo


def run_diff(repo, *args):
    command = [sys.executable, str(ROOT / "scripts" / "diff.py"), "--repo", str(repo), "--color", "never", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def diff_run(two_commit_repo, tmp_path_factory):
    out = tmp_path_factory.mktemp("diff-out")
    result = run_diff(two_commit_repo, "--base", "HEAD~1", "--markdown", str(out / "diff.md"), "--labels", str(out / "labels"))
    markdown = (out / "diff.md").read_text() if (out / "diff.md").exists() else ""
    labels = (out / "labels").read_text() if (out / "labels").exists() else ""
    return result, markdown, labels


def clusters(environment=None):
    return sorted(
        t
        for t, p in real_parameters().items()
        if compiles_manifests(p) and (environment is None or p["cluster"]["environment"] == environment)
    )


def dev_workloads():
    """Each dev service's workload: a Rollout where progressive delivery is on, else a Deployment."""
    found = []
    for target in clusters("dev"):
        params = real_parameters()[target]
        for service in params["services"]:
            progressive = effective_service(params, service)["delivery"]["strategy"] in PROGRESSIVE
            found.append(f"{target}: {'Rollout' if progressive else 'Deployment'} {params['namespaces']['apps']}/{service}")
    return sorted(found)


def risky_lines(stdout):
    return [line.strip().removeprefix("! ") for line in stdout.splitlines() if line.startswith("  ! ")]


def test_diff_flags_exactly_the_dev_workloads_replica_change(diff_run):
    result, markdown, _ = diff_run
    assert result.returncode == 0, result.stderr
    replicas = [line for line in risky_lines(result.stdout) if "replicas:" in line]
    assert sorted(line.rsplit(": replicas:", 1)[0] for line in replicas) == dev_workloads()
    assert all(line.endswith("replicas: spec.replicas 1 -> 2") for line in replicas)
    assert markdown.count("replicas: spec.replicas 1 -&gt; 2") + markdown.count("replicas: spec.replicas 1 -> 2") == len(replicas)


def test_a_moved_alert_threshold_is_risky_in_every_cluster_and_its_rule_file_is_not_repeated(diff_run):
    result, _, _ = diff_run
    risky = risky_lines(result.stdout)
    for target in clusters():
        for service in real_parameters()[target]["services"]:
            moved = [
                line
                for line in risky
                if line.startswith(f"{target}: PrometheusRule ")
                and "alert threshold: HighErrorRate{" in line
                and f"service={service}" in line
            ]
            assert len(moved) == 1 and moved[0].endswith("expr 0.05 -> 0.1"), (target, service, moved)
    assert "(same change in compiled/" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("  ~ ") and "/rules/" in line and "file" in line]


def test_each_changed_inventory_value_names_its_file_line_and_clusters(diff_run):
    result, _, _ = diff_run
    common = (ROOT / "inventory" / "classes" / "common.yml").read_text().splitlines(keepends=True)
    line = common.index(ERROR_RATE) + 1
    reached = ", ".join(
        sorted(t for t, p in real_parameters().items() if p["service_defaults"]["alerts"]["error_rate_percent"] == 5)
    )
    assert (
        f"  service_defaults.alerts.error_rate_percent: 5 -> 10  [inventory/classes/common.yml:{line}] ({reached})"
        in result.stdout
    )
    dev = ", ".join(t for t, p in sorted(real_parameters().items()) if p["cluster"]["environment"] == "dev")
    assert "  service_defaults.replicas: 1 -> 2  [inventory/classes/env/dev.yml:" in result.stdout and f"({dev})" in result.stdout


def test_the_markdown_and_labels_route_the_risks(diff_run):
    _, markdown, labels = diff_run
    assert "### :warning: Risky changes" in markdown and "Where each change came from" in markdown
    assert "Required reviewers by risk" in markdown and "| `cost` |" in markdown and "| `observability` |" in markdown
    assert {"risk/cost", "risk/observability"} <= set(labels.split())
    assert len(markdown) <= COMMENT_LIMIT


def test_a_second_run_reads_the_cached_base_tree(two_commit_repo, diff_run):
    cached = list((two_commit_repo / ".cache" / "diff").iterdir())
    assert len(cached) == 1 and (cached[0] / "parameters.json").is_file()
    # Remove one unchanged file from the cached base: if the run reads the cache, it shows as added.
    # A cluster's README, not a chart values file: a changed values file has that cluster's charts rendered again.
    tree = cached[0] / "tree"
    readmes = sorted(p.relative_to(tree).as_posix() for p in tree.glob("compiled/*/README.md"))
    untouched = next(rel for rel in readmes if rel not in diff_run[0].stdout)
    (tree / untouched).unlink()
    again = run_diff(two_commit_repo, "--base", "HEAD~1")
    assert again.returncode == 0, again.stderr
    added = [line for line in again.stdout.splitlines() if line.startswith("  ~ added file")]
    assert len(added) == 1 and added[0].startswith(f"  ~ added file {untouched} ("), added
    assert list((two_commit_repo / ".cache" / "diff").iterdir()) == cached


def test_diff_without_changes_says_so(two_commit_repo):
    result = run_diff(two_commit_repo, "--base", "HEAD")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no changes in compiled/ or argocd/")


def test_diff_rejects_an_unknown_base(two_commit_repo):
    result = run_diff(two_commit_repo, "--base", "no-such-branch")
    assert result.returncode == 2
    assert "unknown base revision 'no-such-branch'" in result.stderr


def test_a_markdown_path_in_a_missing_folder_is_one_line_before_any_compile(tmp_path):
    # tmp_path is no git checkout: the path is refused before the base is even looked up.
    missing = tmp_path / "no" / "such" / "dir" / "x.md"
    result = run_diff(tmp_path, "--markdown", str(missing))
    assert result.returncode == 2
    assert result.stderr == f"diff: cannot write {missing}: no folder {missing.parent}\n"
    assert result.stdout == ""


def test_a_value_inside_a_json_configmap_entry_is_one_named_field():
    def board(threshold):
        panels = [{"title": "Latency", "max": 1}, {"title": "Errors", "max": threshold}]
        return obj("ConfigMap", "board", data={"board.json": json.dumps({"panels": panels}), "note": "plain text"})

    fields = [(f.dotted, f.before, f.after) for f in changed_fields(board(0.05), board(0.1))]
    assert fields == [("data.board.json.panels[Errors].max", 0.05, 0.1)]
