"""CloudFront with WAFv2 in front of the gateway, built in phases from the inventory.

    plan = edge_plan(infra)          # None: the cluster's environment has no distribution (dev, no hostnames)
    plan.phase                       # "certificate", "distribution", "cut-over" or "live"
    environment_edge_objects(layer)  # the environment's managed resources of the phase reached so far
    gateway_security_group(layer, plan)  # each cluster's own: who may reach its gateway's load balancer

The edge belongs to the environment, not to whichever of its clusters is primary: the distribution's origin
is the environment's origin name, which a failover moves between the clusters' load balancers, so a DR role
swap must change nothing of it (a new distribution is a new domain and a new certificate, during a disaster).
Its objects live in the management cluster's infra-edge-<environment> folder and are named after the
environment; what stays per cluster is the gateway's security group.

The provider's CloudFront Distribution (provider-aws v2.6.0) takes the certificate and the web ACL only
as ARNs (no `acmCertificateArnRef`/`webAclIdRef`), ACM's DNS-validation records and the distribution's
domain exist only once AWS created them, and none of them can be chosen in advance. So each value is
recorded in the inventory (`infra.edge.outputs`, once, in the environment class) once the management
cluster shows it, and the objects that need it appear with it, in a reviewed diff (docs/infrastructure.md,
"Edge protection"):

    certificate   WebACL, ACM Certificate + CertificateValidation (us-east-1), log bucket and its key; each
                  gateway's load-balancer security group is open (DNS still points at the load balancer)
      + outputs.validation_records        -> the CNAME records that let ACM issue the certificate
      + outputs.certificate_arn, web_acl_arn -> the Distribution (origin: the gateway's origin name)
      + outputs.distribution_domain       -> cut-over: alias records for the public hostnames, the
                                             security group of every cluster of the environment admits
                                             only CloudFront's origin-facing range
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mnops.infra.model import ClusterInfra
from mnops.k8s.gatewayapi import ORIGIN_PORT

if TYPE_CHECKING:
    from mnops.infra.aws import AwsLayer

Obj = dict[str, Any]
EDGE_REGION = "us-east-1"  # CloudFront's certificates and web ACLs live here, whatever the cluster's region
# AWS managed policies (fixed IDs in every account): an API must not be cached, and the gateway needs the
# viewer's Host (routing, and the certificate CloudFront checks at the origin), Authorization and query.
CACHING_DISABLED_POLICY = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_ORIGIN_REQUEST_POLICY = "216adef6-5c7f-47e4-b989-5492eafa07d3"
CLOUDFRONT_HOSTED_ZONE = "Z2FDTNDATAQYW2"  # the alias target zone of every *.cloudfront.net name
ORIGIN_ID = "gateway"
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
LOG_KEY = "edge-logs"  # the KMS key of the log bucket, alias/<environment>-edge-logs


@dataclass(frozen=True)
class EdgePlan:
    environment: str
    hostnames: tuple[str, ...]
    origin: str
    price_class: str
    outputs: dict[str, Any]

    @property
    def phase(self) -> str:
        """The next value the operator records (docs/infrastructure.md), or "live"."""
        o = self.outputs
        if not o.get("validation_records") or not o.get("certificate_arn") or not o.get("web_acl_arn"):
            return "certificate" if not o.get("validation_records") else "distribution"
        return "cut-over" if not o.get("distribution_domain") else "live"

    @property
    def has_distribution(self) -> bool:
        return bool(self.outputs.get("certificate_arn") and self.outputs.get("web_acl_arn"))

    @property
    def cut_over(self) -> bool:
        return self.has_distribution and bool(self.outputs.get("distribution_domain"))


def fronted_by_cloudfront(params: Mapping[str, Any]) -> bool:
    """Whether CloudFront may connect to this cluster's gateway: the environment has a distribution and this
    cluster serves its hostnames. Standbys too: a failover moves the origin name to them, and the distribution
    stays. Their gateway gets the origin listener, their security group CloudFront's range."""
    return bool(
        params["cloud"]["provider"] == "aws" and params["infra"]["edge"]["cloudfront"] and params["gateway"].get("hostnames")
    )


def edge_plan(infra: ClusterInfra) -> EdgePlan | None:
    """The environment's distribution, read from any of its clusters serving the hostnames, whatever its role:
    each one reads the same (mnops.infra.rules holds their `infra.edge` and hostnames equal)."""
    edge = infra.settings["edge"]
    if not edge["cloudfront"] or not infra.hostnames:
        return None
    return EdgePlan(
        infra.environment,
        infra.hostnames,
        str(edge["origin_hostname"]),
        str(edge["price_class"]),
        dict(edge.get("outputs") or {}),
    )


def web_acl_name(environment: str) -> str:
    """The WebACL's name, which AWS cannot change: the environment's, so a role swap keeps it (it was
    `<primary cluster>-edge` before the edge moved to its environment's folder)."""
    return f"{environment}-edge"


def gateway_security_group_name(cluster: str) -> str:
    """The name the gateway Service's load-balancer annotation gives (inventory/classes/cloud/aws.yml)."""
    return f"{cluster}-gateway"


def edge_log_bucket(infra: ClusterInfra) -> str:
    return f"{infra.parameters['data']['object_storage']['bucket_prefix']}-{infra.environment}-edge-logs"


def environment_edge_objects(layer: AwsLayer) -> list[Obj]:
    """The environment's CloudFront, WAF, certificate, log bucket and records, for the folder of its own
    (`layer` with environment_scope, built from the environment's first cluster in the address plan: its
    account, and its region for the log bucket). Nothing here depends on which cluster is primary."""
    if not layer.environment_scope:
        raise ValueError(f"{layer.infra.name}: the edge is built in its environment's folder, not in a cluster's")
    infra = layer.infra
    plan = edge_plan(infra)
    if plan is None:
        return []
    # CloudFront's standard logs need a bucket with ACLs enabled; kept as long as the VPC flow logs.
    log_days = infra.settings["logs"]["flow_log_retention_days"]
    # Logs are never overwritten: an expired log's old version is gone a day later.
    logs = layer.bucket(
        edge_log_bucket(infra), infra.region, 1, ownership="BucketOwnerPreferred", key=LOG_KEY, expire_days=log_days
    )
    objs = [web_acl(layer), *certificate(layer, plan), *log_key(layer), *logs]
    objs += [validation_record(layer, r) for r in plan.outputs.get("validation_records", [])]
    if plan.has_distribution:
        objs.append(distribution(layer, plan))
    if plan.cut_over:
        objs += [alias_record(layer, plan, host, kind) for host in plan.hostnames for kind in ("A", "AAAA")]
    return objs


def log_key(layer: AwsLayer) -> list[Obj]:
    """The log bucket's own key, in the folder: a cluster's logs key would tie the edge to that cluster."""
    policy = layer.key_policy(LOG_KEY)
    # CloudFront's standard logs are delivered by the log delivery service into an SSE-KMS bucket.
    policy["Statement"].append(
        {
            "Sid": "CloudFrontLogs",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
        }
    )
    description = f"{layer.infra.environment} CloudFront logs"
    return [
        layer.mr(
            "kms",
            "Key",
            LOG_KEY,
            {"description": description, "enableKeyRotation": True, "deletionWindowInDays": 30, "policy": layer.json(policy)},
        ),
        layer.mr(
            "kms", "Alias", LOG_KEY, {"targetKeyIdRef": layer.ref(LOG_KEY)}, tags=False, external_name=layer.key_alias(LOG_KEY)
        ),
    ]


def web_acl(layer: AwsLayer) -> Obj:
    """Managed rule groups and a per-client-IP rate limit; CloudFront passes WAF the viewer's address."""
    i = layer.infra
    edge = i.settings["edge"]
    rules: list[dict[str, Any]] = [
        {
            "Name": group,
            "Priority": index,
            "OverrideAction": {"None": {}},
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": group},
        }
        for index, group in enumerate(edge["managed_rule_groups"], start=1)
    ]
    rules.insert(
        0,
        {
            "Name": "rate-per-client-ip",
            "Priority": 0,
            "Action": {"Block": {}},
            "Statement": {
                "RateBasedStatement": {
                    "Limit": edge["rate_limit_per_5_minutes"],
                    "AggregateKeyType": "IP",
                    "EvaluationWindowSec": 300,
                }
            },
            "VisibilityConfig": {
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": "rate-per-client-ip",
            },
        },
    )
    return layer.mr(
        "wafv2",
        "WebACL",
        "edge",
        {
            "name": web_acl_name(i.environment),
            "scope": "CLOUDFRONT",
            "defaultAction": {"allow": {}},
            "ruleJson": layer.json(rules),
            "visibilityConfig": {
                "cloudwatchMetricsEnabled": True,
                "metricName": web_acl_name(i.environment),
                "sampledRequestsEnabled": True,
            },
        },
        region=EDGE_REGION,
    )


def certificate(layer: AwsLayer, plan: EdgePlan) -> list[Obj]:
    """The viewer certificate for the public hostnames; ACM validates it through DNS records in our zone."""
    body: dict[str, Any] = {"domainName": plan.hostnames[0], "validationMethod": "DNS", "keyAlgorithm": "RSA_2048"}
    if plan.hostnames[1:]:
        body["subjectAlternativeNames"] = list(plan.hostnames[1:])
    return [
        layer.mr("acm", "Certificate", "edge", body, region=EDGE_REGION),
        # Ready once ACM issued the certificate: the validation records below must exist for that.
        layer.mr(
            "acm", "CertificateValidation", "edge", {"certificateArnRef": layer.ref("edge")}, region=EDGE_REGION, tags=False
        ),
    ]


def validation_record(layer: AwsLayer, record: dict[str, str]) -> Obj:
    name = record["name"].rstrip(".")
    token = re.sub(r"[^a-z0-9]+", "-", name.split(".", 1)[0].lower()).strip("-")[:40]
    return layer.mr(
        "route53",
        "Record",
        f"acm-{token}",
        {"zoneIdRef": layer.zone_ref(), "name": name, "type": "CNAME", "ttl": 300, "records": [record["value"]]},
        regional=False,
        tags=False,
    )


def distribution(layer: AwsLayer, plan: EdgePlan) -> Obj:
    i = layer.infra
    outputs = plan.outputs
    return layer.mr(
        "cloudfront",
        "Distribution",
        "edge",
        {
            "enabled": True,
            "comment": f"{i.environment}: gateway behind WAF ({', '.join(plan.hostnames)})",
            "aliases": list(plan.hostnames),
            "priceClass": plan.price_class,
            "httpVersion": "http2and3",
            "isIpv6Enabled": True,
            "webAclId": outputs["web_acl_arn"],
            "viewerCertificate": {
                "acmCertificateArn": outputs["certificate_arn"],
                "sslSupportMethod": "sni-only",
                "minimumProtocolVersion": "TLSv1.2_2021",
            },
            "origin": [
                {
                    "originId": ORIGIN_ID,
                    # A stable name external-dns points at the gateway's load balancer (its annotation).
                    "domainName": plan.origin,
                    "customOriginConfig": {
                        "httpPort": 80,
                        # The gateway's origin listener: TLS 1.2 (all CloudFront speaks to origins), CloudFront only.
                        "httpsPort": ORIGIN_PORT,
                        "originProtocolPolicy": "https-only",
                        "originSslProtocols": ["TLSv1.2"],
                    },
                }
            ],
            "defaultCacheBehavior": {
                "targetOriginId": ORIGIN_ID,
                "viewerProtocolPolicy": "redirect-to-https",
                "allowedMethods": ALL_METHODS,
                "cachedMethods": ["GET", "HEAD"],
                "cachePolicyId": CACHING_DISABLED_POLICY,
                "originRequestPolicyId": ALL_VIEWER_ORIGIN_REQUEST_POLICY,
                "compress": False,
            },
            "restrictions": {"geoRestriction": {"restrictionType": "none"}},
            "loggingConfig": {
                "bucket": f"{edge_log_bucket(i)}.s3.amazonaws.com",
                "includeCookies": False,
                "prefix": f"{i.environment}/",
            },
        },
        regional=False,  # a global resource: the provider's Distribution has no region
    )


def alias_record(layer: AwsLayer, plan: EdgePlan, host: str, kind: str) -> Obj:
    """The public name now resolves to CloudFront; allowOverwrite replaces the record external-dns wrote."""
    return layer.mr(
        "route53",
        "Record",
        f"{host.replace('.', '-')}-{kind.lower()}",
        {
            "zoneIdRef": layer.zone_ref(),
            "name": host,
            "type": kind,
            "allowOverwrite": True,
            "alias": {
                "name": plan.outputs["distribution_domain"],
                "zoneId": CLOUDFRONT_HOSTED_ZONE,
                "evaluateTargetHealth": False,
            },
        },
        regional=False,
        tags=False,
    )


def gateway_security_group(layer: AwsLayer, plan: EdgePlan | None) -> list[Obj]:
    """The gateway load balancer's own security group, the part of the edge that stays per cluster. Where
    CloudFront fronts the gateway, its origin listener's port is open to CloudFront's origin-facing addresses
    of the cluster's region only (AWS's managed prefix list), on standbys too; the public ports are open to
    everyone until the environment's cut-over, then closed on every cluster of it, standbys too (the public
    names are CloudFront's whichever cluster is primary), so nothing bypasses the WAF. A role swap changes none
    of it."""
    i = layer.infra
    objs = [
        layer.mr(
            "ec2",
            "SecurityGroup",
            "gateway",
            {
                "name": gateway_security_group_name(i.name),
                "description": f"{i.name}: gateway load balancer",
                "vpcIdRef": layer.ref("vpc"),
                "revokeRulesOnDelete": True,
            },
        ),
        layer.mr(
            "ec2",
            "SecurityGroupEgressRule",
            "gateway-to-vpc",
            {
                "ipProtocol": "-1",
                "cidrIpv4": i.cidr,
                "description": "to the gateway's pods",
                "securityGroupIdRef": layer.ref("gateway"),
            },
        ),
    ]

    def ingress(name: str, port: int, source: dict[str, str], text: str) -> Obj:
        body = {"ipProtocol": "tcp", "fromPort": port, "toPort": port, "description": text, **source}
        return layer.mr("ec2", "SecurityGroupIngressRule", name, {**body, "securityGroupIdRef": layer.ref("gateway")})

    if fronted_by_cloudfront(i.parameters):
        prefix_list = i.settings["edge"]["origin_facing_prefix_lists"][i.region]
        cloudfront = {"prefixListId": prefix_list}
        objs.append(ingress("gateway-origin-from-cloudfront", ORIGIN_PORT, cloudfront, "HTTPS from CloudFront only"))
    if plan is None or not plan.cut_over:
        world = {"cidrIpv4": "0.0.0.0/0"}
        objs += [
            ingress("gateway-https", 443, world, "HTTPS from clients"),
            ingress("gateway-http", 80, world, "HTTP from clients (redirected to HTTPS)"),
        ]
    return objs
