"""The security policy suite: every object of every compiled target passes every check, and
every check is shown to fail on a bad fixture (tests/fixtures/policy/ and the planted Secret)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from security_support import ROOT, TARGETS, documents, kinds, parameters

from mnops.security.policy import CHECKS, Expectations, Violation, check_all

FIXTURES = ROOT / "tests" / "fixtures" / "policy"
PLANTED_SECRET = ROOT / "tests" / "fixtures" / "secrets" / "kubernetes-secret-with-data.yaml"

# Expectations the bad fixtures are judged against (a small apps namespace with the real graph).
FIXTURE_EXPECTATIONS = Expectations(
    environment="dev",
    project_namespaces=("apps",),
    apps_namespace="apps",
    callers={"configuration-service": frozenset({"memory-service"}), "memory-service": frozenset()},
    public_services=frozenset({"memory-service"}),
    external_callers=(("envoy-gateway-system", (("app.kubernetes.io/component", "proxy"),)),),
)


def load(path: Path) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


@pytest.mark.parametrize("target", TARGETS)
def test_every_compiled_object_passes_the_security_policy(target: str) -> None:
    violations = check_all(documents(target), Expectations.from_parameters(parameters()[target]))
    assert violations == [], "\n".join(v.render() for v in violations)


@pytest.mark.parametrize("target", TARGETS)
def test_the_policy_sees_the_objects_it_judges(target: str) -> None:
    """Guards against a vacuous pass: the checks above had real objects to look at."""
    for kind in ("Namespace", "NetworkPolicy", "Gateway", "ClientTrafficPolicy", "HTTPRoute", "ServiceAccount"):
        assert kinds(target, kind), f"{target} has no {kind}"
    # Service workloads: Deployments, or Rollouts for canary/blue-green services (progressive delivery).
    assert kinds(target, "Deployment") or kinds(target, "Rollout"), f"{target} has no service workload"


# fixture file, check name, expectations override, fragment of the expected message
BAD_FIXTURES = [
    ("namespace-without-default-deny.yaml", "default-deny", {}, "denies all ingress and egress"),
    ("undeclared-caller.yaml", "reachability", {}, "reachable from supply-chain-service without a declared dependency"),
    ("ingress-from-anywhere.yaml", "reachability", {}, "without `from` opens memory-service to everyone"),
    ("tls12-listener.yaml", "tls13", {}, "allows TLS 1.2"),
    ("https-without-client-policy.yaml", "tls13", {}, "no ClientTrafficPolicy"),
    ("origin-listener-weak-cipher.yaml", "tls13", {"cloudfront_origin": True}, "ciphers ['ECDHE-RSA-AES128-SHA']"),
    ("origin-listener-weak-cipher.yaml", "tls13", {}, "allows TLS 1.2 to 1.3 on listener origin; only 1.3"),
    ("latest-tag.yaml", "image", {}, "uses the latest tag"),
    ("prod-without-digest.yaml", "image", {"environment": "prod"}, "not pinned by digest in prod"),
    ("missing-limits-and-probes.yaml", "resources-probes", {}, "has no limits for cpu, memory"),
    ("missing-limits-and-probes.yaml", "resources-probes", {}, "has no livenessProbe"),
    ("privileged-container.yaml", "pod-security", {}, "container shell is privileged"),
    ("privileged-container.yaml", "pod-security", {}, "hostNetwork is set"),
    ("privileged-container.yaml", "pod-security", {}, "mounts a service account token"),
    ("automounted-service-account.yaml", "service-accounts", {}, "automountServiceAccountToken is not false"),
    ("wildcard-role.yaml", "roles", {}, "wildcard in verbs"),
    ("wildcard-role.yaml", "roles", {}, "grants access to Secrets"),
    ("wildcard-role.yaml", "roles", {}, "cluster-wide RBAC"),
    ("unprotected-route.yaml", "routes", {}, "no BackendTrafficPolicy rate-limits"),
    ("unprotected-route.yaml", "routes", {}, "no SecurityPolicy requires a JWT"),
    ("unprotected-route.yaml", "routes", {}, "do not carry Strict-Transport-Security"),
    ("istio-while-disabled.yaml", "mesh", {}, "while the mesh is disabled"),
    ("mesh-not-strict.yaml", "mesh", {"mesh_enabled": True}, "not STRICT"),
]


@pytest.mark.parametrize(("fixture", "check", "override", "message"), BAD_FIXTURES, ids=lambda v: str(v)[:40])
def test_each_check_fails_on_its_bad_fixture(fixture: str, check: str, override: dict[str, object], message: str) -> None:
    expectations = Expectations(**{**FIXTURE_EXPECTATIONS.__dict__, **override})  # type: ignore[arg-type]
    violations: list[Violation] = CHECKS[check](load(FIXTURES / fixture), expectations)
    assert any(message in v.message for v in violations), [v.render() for v in violations]


def test_secret_check_fails_on_the_planted_secret() -> None:
    violations = CHECKS["secret-data"](load(PLANTED_SECRET), FIXTURE_EXPECTATIONS)
    assert [v.document for v in violations] == ["Secret/planted"]


def test_every_check_has_a_bad_fixture() -> None:
    covered = {check for _, check, _, _ in BAD_FIXTURES} | {"secret-data"}
    assert covered == set(CHECKS)


def test_every_fixture_file_is_used() -> None:
    used = {fixture for fixture, *_ in BAD_FIXTURES}
    assert used == {p.name for p in FIXTURES.glob("*.yaml")}


def test_the_gateway_itself_passes_only_with_its_client_policy() -> None:
    """Removing the compiled ClientTrafficPolicy from prod makes the TLS check fail."""
    docs = [d for d in documents("prod") if d["kind"] != "ClientTrafficPolicy"]
    assert CHECKS["tls13"](docs, Expectations.from_parameters(parameters()["prod"]))


def fronted_targets() -> list[str]:
    return [t for t in TARGETS if Expectations.from_parameters(parameters()[t]).cloudfront_origin]


def test_the_inventory_puts_cloudfront_in_front_of_some_gateway() -> None:
    assert fronted_targets(), "no gateway has CloudFront's origin listener: the test below would check nothing"


@pytest.mark.parametrize("target", fronted_targets())
def test_only_cloudfronts_origin_listener_accepts_tls_1_2(target: str) -> None:
    """CloudFront reaches origins with TLS 1.2 at most: its listener alone accepts 1.2, with AEAD ECDHE suites,
    and reads the client address from X-Forwarded-For with one trusted hop (CloudFront's); every other listener
    stays 1.3 only. The same 1.2 policy aimed at the whole Gateway is refused."""
    docs = copy.deepcopy(list(documents(target)))  # edited below: the parsed documents are cached
    exp = Expectations.from_parameters(parameters()[target])
    (gateway,) = [d for d in docs if d["kind"] == "Gateway"]
    listeners = {item["name"]: item for item in gateway["spec"]["listeners"] if item["protocol"] == "HTTPS"}
    assert listeners.pop("origin")["port"] == 8443 and listeners
    (origin,) = [d for d in docs if d["kind"] == "ClientTrafficPolicy" and d["spec"]["targetRefs"][0].get("sectionName")]
    assert origin["spec"]["targetRefs"][0]["sectionName"] == "origin"
    assert origin["spec"]["tls"]["minVersion"] == "1.2" and origin["spec"]["tls"]["ciphers"]
    assert origin["spec"]["clientIPDetection"] == {"xForwardedFor": {"numTrustedHops": 1}}
    others = [d for d in docs if d["kind"] == "ClientTrafficPolicy" and d is not origin]
    assert [p["spec"]["tls"]["minVersion"] for p in others] == ["1.3"]
    assert CHECKS["tls13"](docs, exp) == []
    del origin["spec"]["targetRefs"][0]["sectionName"]
    wide = [d for d in docs if d is not others[0]]
    assert {v.message.split(";")[0] for v in CHECKS["tls13"](wide, exp)} == {
        f"allows TLS 1.2 to 1.3 on listener {name}" for name in listeners
    }


def test_removing_a_default_deny_from_the_compiled_tree_is_caught() -> None:
    """Every namespace the inventory declares (the platform ones included) is reported once its deny is gone."""
    docs = [d for d in documents("prod") if d["metadata"]["name"] != "default-deny"]
    expectations = Expectations.from_parameters(parameters()["prod"])
    violations = CHECKS["default-deny"](docs, expectations)
    assert {v.document for v in violations} == {f"Namespace/{ns}" for ns in set(parameters()["prod"]["namespaces"].values())}
    assert not CHECKS["default-deny"](documents("prod"), expectations)


def test_an_undeclared_dependency_in_the_inventory_is_caught_on_the_compiled_tree() -> None:
    """If the graph the policies were built from differs from the inventory, the check notices."""
    params = parameters()["prod"]
    exp = Expectations.from_parameters(params)
    narrowed = dict(exp.callers)
    narrowed["configuration-service"] = frozenset({"memory-service"})  # pretend the others never declared it
    violations = CHECKS["reachability"](documents("prod"), Expectations(**{**exp.__dict__, "callers": narrowed}))
    assert any("reporting-service" in v.message and "supply-chain-service" in v.message for v in violations)
