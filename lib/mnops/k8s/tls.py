"""Builders for cert-manager (cert-manager.io/v1) ClusterIssuer and Certificate, and the
certificate expiry PrometheusRule (monitoring.coreos.com/v1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata
from mnops.k8s.monitoring import prometheus_rule

CERT_MANAGER_API = "cert-manager.io/v1"


def go_duration(seconds: int) -> str:
    """cert-manager and Envoy read Go durations; whole hours read best for certificate lifetimes."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds}s"


def self_signed_issuer(name: str, identity: Identity) -> dict[str, Any]:
    """Only signs the private CA's own certificate (the bootstrap of a private CA)."""
    issuer = k8s_object(CERT_MANAGER_API, "ClusterIssuer", metadata(name, identity))
    issuer["spec"] = {"selfSigned": {}}  # empty on purpose: drop_empty would remove it
    return issuer


def ca_issuer(name: str, identity: Identity, ca_secret: str) -> dict[str, Any]:
    return k8s_object(CERT_MANAGER_API, "ClusterIssuer", metadata(name, identity), spec={"ca": {"secretName": ca_secret}})


def dns01_solver(dns01: Mapping[str, str]) -> dict[str, Any]:
    """The cloud's DNS service; credentials come from cert-manager's workload identity, never a key."""
    provider = dns01["provider"]
    zone = dns01.get("hosted_zone")
    selector = {"dnsZones": [zone]} if zone else None
    if provider == "route53":
        solver: dict[str, Any] = {"route53": {"region": dns01["region"]}}
    elif provider == "cloud-dns":
        solver = {"cloudDNS": {"project": dns01["project"]}}
    elif provider == "azure-dns":
        solver = {
            "azureDNS": {
                "subscriptionID": dns01["subscription_id"],
                "resourceGroupName": dns01["resource_group"],
                "hostedZoneName": zone,
                "environment": "AzurePublicCloud",
            }
        }
    else:
        raise BuildError(f"unknown DNS-01 provider {provider!r}")
    return {"selector": selector, "dns01": solver}


def acme_issuer(name: str, identity: Identity, *, server: str, email: str, dns01: Mapping[str, str]) -> dict[str, Any]:
    return k8s_object(
        CERT_MANAGER_API,
        "ClusterIssuer",
        metadata(name, identity),
        spec={
            "acme": {
                "server": server,
                "email": email,
                "privateKeySecretRef": {"name": f"{name}-account-key"},
                "solvers": [dns01_solver(dns01)],
            }
        },
    )


def certificate(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    issuer: str,
    secret_name: str,
    dns_names: Sequence[str] = (),
    common_name: str | None = None,
    is_ca: bool = False,
    duration_seconds: int,
    renew_before_seconds: int,
    key_algorithm: str = "ECDSA",
    key_size: int = 256,
) -> dict[str, Any]:
    """A certificate renewed well before expiry, with a fresh private key at every renewal."""
    if not dns_names and not common_name:
        raise BuildError(f"certificate {name} needs DNS names or a common name")
    if renew_before_seconds * 3 < duration_seconds:
        raise BuildError(f"certificate {name}: renew before expiry with at least a third of the lifetime left")
    if renew_before_seconds >= duration_seconds:
        raise BuildError(f"certificate {name}: renew_before must be shorter than the lifetime")
    return k8s_object(
        CERT_MANAGER_API,
        "Certificate",
        metadata(name, identity, namespace),
        spec={
            "secretName": secret_name,
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
            "commonName": common_name,
            "dnsNames": sorted(dns_names),
            "isCA": is_ca or None,
            "duration": go_duration(duration_seconds),
            "renewBefore": go_duration(renew_before_seconds),
            "privateKey": {"algorithm": key_algorithm, "size": key_size, "rotationPolicy": "Always"},
            "revisionHistoryLimit": 3,
        },
    )


def certificate_expiry_rule(
    name: str, namespace: str, identity: Identity, *, warning_seconds: int, critical_seconds: int, runbook_url: str
) -> dict[str, Any]:
    """Alerts on cert-manager's own expiry metric, so a failing renewal pages before users notice."""
    if critical_seconds >= warning_seconds:
        raise BuildError("the critical expiry threshold must be closer to expiry than the warning one")
    remaining = "certmanager_certificate_expiration_timestamp_seconds - time()"

    # Alertmanager routes on `priority` (P1 pages, P2 goes to chat) and inhibits on `severity`.
    def alert(alert_name: str, seconds: int, severity: str, priority: str) -> dict[str, Any]:
        days = seconds // 86400
        return {
            "alert": alert_name,
            "expr": f"({remaining}) < {seconds}",
            "for": "15m",
            "labels": {"severity": severity, "priority": priority},
            "annotations": {
                "summary": f"Certificate {{{{ $labels.namespace }}}}/{{{{ $labels.name }}}} expires in less than {days} days",
                "description": "cert-manager has not renewed it; check the Certificate's events and the issuer.",
                "runbook_url": runbook_url,
            },
        }

    not_ready = {
        "alert": "CertificateNotReady",
        "expr": 'max by (namespace, name) (certmanager_certificate_ready_status{condition!="True"}) == 1',
        "for": "30m",
        "labels": {"severity": "warning", "priority": "P2"},
        "annotations": {
            "summary": "Certificate {{ $labels.namespace }}/{{ $labels.name }} is not ready",
            "description": "The certificate could not be issued or renewed for 30 minutes.",
            "runbook_url": runbook_url,
        },
    }
    rules = [
        alert("CertificateExpiringSoon", warning_seconds, "warning", "P2"),
        alert("CertificateExpiryCritical", critical_seconds, "critical", "P1"),
        not_ready,
    ]
    return prometheus_rule(name, namespace, identity, [{"name": "certificates", "rules": rules}])
