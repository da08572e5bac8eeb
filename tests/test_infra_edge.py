"""CloudFront and WAF in front of the gateway (mnops.infra.edge): each phase's managed resources are valid
against their CRD schemas and CEL rules, and inventory input that would break the edge is one clear line.

The later phases need values AWS assigns (certificate and web ACL ARNs, validation records, the
distribution's domain), which the real inventory does not have yet: they are added to a copy of a
real cluster's parameters here. Each cluster's objects are built with its environment's edge folder
(infra-edge-<environment>, tests/test_infra_edge_environment.py). Clusters come from the inventory,
never from a list in this file.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from conftest import CRD_SCHEMAS, real_parameters

from mnops.infra import rules as infra_rules
from mnops.infra.addons import external_dns
from mnops.infra.aws import AwsLayer
from mnops.infra.edge import (
    ALL_VIEWER_ORIGIN_REQUEST_POLICY,
    CACHING_DISABLED_POLICY,
    CLOUDFRONT_HOSTED_ZONE,
    LOG_KEY,
    edge_plan,
    environment_edge_objects,
    fronted_by_cloudfront,
    gateway_security_group_name,
    web_acl_name,
)
from mnops.infra.model import cluster_infra, zone_namespace
from mnops.inventory import forget_checks, load_target, problems_in
from mnops.inventory.model import build_target
from mnops.k8s.gatewayapi import ORIGIN_PORT
from mnops.k8s.meta import Identity
from mnops.kapitan_inventory import compiles_manifests
from mnops.manifest_validation import validate_document

IDENT = Identity("infrastructure", "infrastructure", "machine-native-ops", "prod", "management")


def edge_clusters() -> list[str]:
    """Clusters that put CloudFront in front of their gateway, from the inventory."""
    return [
        name
        for name, params in sorted(real_parameters().items())
        if compiles_manifests(params)
        and params["cloud"]["provider"] == "aws"
        and params.get("infra", {}).get("management_cluster") not in (None, name)
        and edge_plan(cluster_infra(build_target(params))) is not None
    ]


EDGE = edge_clusters()


def outputs_for(params: dict[str, Any], phase: str) -> dict[str, Any]:
    """Values of the shape AWS assigns, for this cluster's account, hostnames and its environment's web ACL name."""
    account, acl = params["cloud"]["account"], web_acl_name(params["cluster"]["environment"])
    found: dict[str, Any] = {
        "validation_records": [
            {"name": f"_{'a' * 31}{n}.{host}.", "value": f"_{'b' * 31}{n}.xlfgrmvvlj.acm-validations.aws."}
            for n, host in enumerate(params["gateway"]["hostnames"])
        ]
    }
    if phase in ("distribution", "cut-over"):
        found["certificate_arn"] = f"arn:aws:acm:us-east-1:{account}:certificate/12345678-90ab-cdef-1234-567890abcdef"
        found["web_acl_arn"] = f"arn:aws:wafv2:us-east-1:{account}:global/webacl/{acl}/12345678-90ab-cdef-1234-567890abcdef"
    if phase == "cut-over":
        found["distribution_domain"] = "d111111abcdef8.cloudfront.net"
    return found


def with_outputs(cluster: str, phase: str) -> dict[str, Any]:
    params = copy.deepcopy(real_parameters()[cluster])
    params["infra"]["edge"]["outputs"] = outputs_for(params, phase)
    return params


def cluster_objects(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The cluster's own folder (infra-<cluster>)."""
    return AwsLayer(cluster_infra(build_target(params)), IDENT, "default").all()


def edge_folder_objects(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Its environment's edge folder, as built from this cluster's settings."""
    infra = cluster_infra(build_target(params))
    return environment_edge_objects(AwsLayer(infra, IDENT, "default", namespace=infra.edge_namespace, environment_scope=True))


def layer_objects(params: dict[str, Any]) -> list[dict[str, Any]]:
    return cluster_objects(params) + edge_folder_objects(params)


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def test_the_inventory_puts_cloudfront_in_front_of_some_gateway() -> None:
    assert EDGE, "no cluster gets CloudFront: every test below would check nothing"


@pytest.mark.parametrize("cluster", EDGE)
@pytest.mark.parametrize("phase", ["certificate", "distribution", "cut-over"])
def test_every_phase_is_valid_against_the_crd_schemas_and_cel_rules(cluster: str, phase: str) -> None:
    params = with_outputs(cluster, phase) if phase != "certificate" else real_parameters()[cluster]
    objs = layer_objects(params)
    versions = tuple(params["kubernetes"]["supported_versions"])
    findings = [f.render() for o in objs for f in validate_document(o, cluster, versions, CRD_SCHEMAS)]
    assert findings == []
    kinds = {o["kind"] for o in objs}
    assert {"WebACL", "Certificate", "CertificateValidation", "SecurityGroup"} <= kinds
    assert ("Distribution" in kinds) == (phase != "certificate")


@pytest.mark.parametrize("cluster", EDGE)
def test_the_distribution_protects_the_gateway_without_caching_the_api(cluster: str) -> None:
    params = with_outputs(cluster, "distribution")
    objs = layer_objects(params)
    spec = by_kind(objs, "Distribution")["edge"]["spec"]["forProvider"]
    outputs = params["infra"]["edge"]["outputs"]
    assert spec["aliases"] == params["gateway"]["hostnames"]
    assert spec["webAclId"] == outputs["web_acl_arn"]
    assert spec["viewerCertificate"] == {
        "acmCertificateArn": outputs["certificate_arn"],
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    (origin,) = spec["origin"]
    assert origin["domainName"] == params["infra"]["edge"]["origin_hostname"]
    assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    assert origin["customOriginConfig"]["httpsPort"] == ORIGIN_PORT, "CloudFront's own listener on the gateway"
    behaviour = spec["defaultCacheBehavior"]
    assert behaviour["cachePolicyId"] == CACHING_DISABLED_POLICY
    assert behaviour["originRequestPolicyId"] == ALL_VIEWER_ORIGIN_REQUEST_POLICY  # Host, Authorization, query
    assert behaviour["viewerProtocolPolicy"] == "redirect-to-https" and "POST" in behaviour["allowedMethods"]
    log_bucket = spec["loggingConfig"]["bucket"].removesuffix(".s3.amazonaws.com")
    assert log_bucket in by_kind(objs, "Bucket")
    ownership = by_kind(objs, "BucketOwnershipControls")[log_bucket]["spec"]["forProvider"]["rule"]["objectOwnership"]
    assert ownership == "BucketOwnerPreferred", "CloudFront's standard logs need ACLs on their bucket"
    key_policy = json.loads(by_kind(objs, "Key")[LOG_KEY]["spec"]["forProvider"]["policy"])
    assert any(s["Principal"] == {"Service": "delivery.logs.amazonaws.com"} for s in key_policy["Statement"])
    # The certificate is validated through records in the cluster's own zone.
    records = [r["spec"]["forProvider"] for r in by_kind(objs, "Record").values()]
    assert sorted(r["name"] for r in records) == sorted(v["name"].rstrip(".") for v in outputs["validation_records"])
    zone = {"name": "public", "namespace": zone_namespace(params["cluster"]["environment"])}
    assert all(r["type"] == "CNAME" and r["zoneIdRef"] == zone for r in records)


def gateway_ingress(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The gateway load balancer's ingress rules: name -> (port, source), without region and tags."""
    rules = by_kind(objs, "SecurityGroupIngressRule")
    return {
        name: {k: v for k, v in r["spec"]["forProvider"].items() if k in ("fromPort", "toPort", "cidrIpv4", "prefixListId")}
        for name, r in rules.items()
        if r["spec"]["forProvider"]["securityGroupIdRef"] == {"name": "gateway"}
    }


@pytest.mark.parametrize("cluster", EDGE)
def test_the_cut_over_moves_the_names_to_cloudfront_and_closes_the_load_balancer(cluster: str) -> None:
    before, after = layer_objects(with_outputs(cluster, "distribution")), layer_objects(with_outputs(cluster, "cut-over"))
    params = real_parameters()[cluster]
    prefix_list = params["infra"]["edge"]["origin_facing_prefix_lists"][params["cluster"]["region"]]
    cloudfront = {"fromPort": ORIGIN_PORT, "toPort": ORIGIN_PORT, "prefixListId": prefix_list}
    assert gateway_ingress(before) == {
        "gateway-origin-from-cloudfront": cloudfront,
        "gateway-https": {"fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
        "gateway-http": {"fromPort": 80, "toPort": 80, "cidrIpv4": "0.0.0.0/0"},
    }
    assert gateway_ingress(after) == {"gateway-origin-from-cloudfront": cloudfront}
    group = by_kind(after, "SecurityGroup")["gateway"]["spec"]["forProvider"]["name"]
    assert group == gateway_security_group_name(cluster)
    aliases = [r["spec"]["forProvider"] for r in by_kind(after, "Record").values() if "alias" in r["spec"]["forProvider"]]
    assert sorted((a["name"], a["type"]) for a in aliases) == sorted(
        (h, t) for h in params["gateway"]["hostnames"] for t in ("A", "AAAA")
    )
    assert all(a["alias"]["zoneId"] == CLOUDFRONT_HOSTED_ZONE and a["allowOverwrite"] for a in aliases)


def test_a_standby_admits_cloudfront_on_its_origin_listener_for_a_failover() -> None:
    """The distribution stays in a failover and the origin name moves to the standby's load balancer."""
    standbys = [
        name
        for name, params in sorted(real_parameters().items())
        if compiles_manifests(params) and params["cluster"]["role"] == "standby" and fronted_by_cloudfront(params)
    ]
    assert standbys, "no standby behind CloudFront: nothing to check"
    for cluster in standbys:
        objs = cluster_objects(real_parameters()[cluster])
        assert "Distribution" not in {o["kind"] for o in objs}
        assert gateway_ingress(objs)["gateway-origin-from-cloudfront"]["fromPort"] == ORIGIN_PORT


@pytest.mark.parametrize("cluster", EDGE)
def test_the_gateway_load_balancer_uses_the_managed_security_group_and_publishes_the_origin(cluster: str) -> None:
    params = real_parameters()[cluster]
    annotations = {**params["cloud"]["load_balancer_annotations"], **params["gateway"]["load_balancer_annotations"]}
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-security-groups"] == gateway_security_group_name(cluster)
    assert annotations["external-dns.alpha.kubernetes.io/hostname"] == params["infra"]["edge"]["origin_hostname"]


# --- bad input: one line each ---------------------------------------------------------------------


def problems(cluster: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.path, p.render()) for p in problems_in(cluster, params)]


@pytest.mark.parametrize("cluster", EDGE)
def test_recorded_outputs_up_to_the_distribution_compile(cluster: str) -> None:
    target = load_target(cluster, with_outputs(cluster, "distribution"))
    assert edge_plan(cluster_infra(target)) is not None


def test_a_private_ca_gateway_cannot_be_a_cloudfront_origin() -> None:
    cluster = EDGE[0]
    params = copy.deepcopy(real_parameters()[cluster])
    params["tls"]["issuer"] = "private-ca"
    (line,) = [line for path, line in problems(cluster, params) if path.startswith("parameters.infra")]
    assert line.startswith("  parameters.infra.edge.cloudfront: expected false while tls.issuer is private-ca")
    params["infra"]["edge"]["cloudfront"] = False  # the gateway is then reached directly
    assert not [path for path, _ in problems(cluster, params) if path.startswith("parameters.infra")]


def test_an_origin_that_external_dns_does_not_publish_is_refused() -> None:
    cluster = EDGE[0]
    params = copy.deepcopy(real_parameters()[cluster])
    params["gateway"]["load_balancer_annotations"].pop("external-dns.alpha.kubernetes.io/hostname")
    ((path, line),) = problems(cluster, params)
    assert path == "parameters.gateway.load_balancer_annotations.external-dns.alpha.kubernetes.io/hostname"
    assert params["infra"]["edge"]["origin_hostname"] in line


def test_outputs_from_another_account_or_web_acl_are_refused() -> None:
    cluster = EDGE[0]
    params = with_outputs(cluster, "distribution")
    outputs = params["infra"]["edge"]["outputs"]
    outputs["certificate_arn"] = outputs["certificate_arn"].replace(params["cloud"]["account"], "999999999999")
    outputs["web_acl_arn"] = outputs["web_acl_arn"].replace(f"/{web_acl_name(params['cluster']['environment'])}/", "/x/")
    found = problems(cluster, params)
    assert sorted(path for path, _ in found) == [
        "parameters.infra.edge.outputs.certificate_arn",
        "parameters.infra.edge.outputs.web_acl_arn",
    ]
    outputs["certificate_arn"] = "arn:aws:acm:eu-west-1:1:certificate/x"  # not even an ACM ARN in us-east-1
    assert "parameters.infra.edge.outputs.certificate_arn" in {path for path, _ in problems(cluster, params)}


def test_the_cut_over_is_refused_unless_the_origin_listener_accepts_tls_1_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """CloudFront speaks TLS 1.2 at most to an origin: with a 1.3-only origin listener every request would fail."""
    cluster = EDGE[0]
    assert problems(cluster, with_outputs(cluster, "cut-over")) == []
    monkeypatch.setattr(infra_rules, "ORIGIN_TLS_MIN_VERSION", "1.3")
    forget_checks()  # the same parameters were just checked under the real constant
    ((path, line),) = problems(cluster, with_outputs(cluster, "cut-over"))
    assert path == "parameters.infra.edge.outputs.distribution_domain" and "TLS 1.2" in line


def test_a_region_without_cloudfronts_prefix_list_is_refused() -> None:
    cluster = EDGE[0]
    params = copy.deepcopy(real_parameters()[cluster])
    del params["infra"]["edge"]["origin_facing_prefix_lists"][params["cluster"]["region"]]
    ((path, line),) = problems(cluster, params)
    assert path == "parameters.infra.edge.origin_facing_prefix_lists" and params["cluster"]["region"] in line


@pytest.mark.parametrize("cluster", EDGE)
def test_external_dns_stops_writing_the_public_names_at_the_cut_over(cluster: str) -> None:
    """The alias records take them over; external-dns keeps publishing the origin from the Service."""
    before = external_dns(build_target(with_outputs(cluster, "distribution")))["sources"]
    after = external_dns(build_target(with_outputs(cluster, "cut-over")))["sources"]
    assert "gateway-httproute" in before and after == ["service"]
