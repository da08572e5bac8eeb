"""The objects of each security folder under compiled/<target>/manifests/, built from Settings.

gateway           GatewayClass, EnvoyProxy, Gateway, ClientTrafficPolicy, HTTP->HTTPS redirect
routes            per public service: HTTPRoute, BackendTrafficPolicy, SecurityPolicy
certificates      ClusterIssuers, the gateway Certificate, the expiry PrometheusRule
secrets           ClusterSecretStore, one ExternalSecret per secret reference
network-policies  see mnops.security.network
rbac              CI deployer ServiceAccount, Role, RoleBinding
policies          Kyverno ClusterPolicy (the pod baseline at admission)
mesh              Istio objects, only when mesh.enabled
"""

from __future__ import annotations

from typing import Any

from mnops.component import identity
from mnops.data.managed import CREDENTIAL_PROPERTIES, ENDPOINT_PROPERTIES, connection_keys, data_services
from mnops.inventory import Target
from mnops.inventory.model import SecretRef, Service
from mnops.k8s import access, external_secrets, gatewayapi, istio, kyverno, tls
from mnops.k8s.core import service_account
from mnops.k8s.external_secrets import RemoteValue
from mnops.k8s.workloads import CONTAINER_SECURITY_CONTEXT
from mnops.observability import mesh_scrape
from mnops.observability.mesh_scrape import scrapes_through_mesh
from mnops.security.model import ConnectionString, PlatformSecret, Settings, delivery_strategy, restricted_namespaces
from mnops.security.network import network_policies
from mnops.security.secret_names import installed, store_name

Obj = dict[str, Any]
RUNBOOK_BASE = "https://github.com/machinenativeops/machine-native-ops-gitops/blob/main/docs/security.md"
ISTIO_REGISTRY = "docker.io/istio"
GATEWAY_NAMESPACE_CHART = "envoy-gateway"
CERT_MANAGER_CHART = "cert-manager"
EXTERNAL_SECRETS_CHART = "external-secrets"


def namespace_exists(target: Target, namespace: str) -> bool:
    """Whether something this target deploys creates the namespace: a declared project namespace or
    the namespace of an enabled chart. Objects for components a target does not run are left out."""
    return installed(target.parameters, namespace)


def _seconds(n: int) -> str:
    return tls.go_duration(n)


def chart_namespace(target: Target, chart: str) -> str:
    namespace: str = target.parameters["charts"][chart]["namespace"]
    return namespace


def certificate_secret(settings: Settings) -> str:
    return f"{settings.gateway.name}-tls"


def https_sections(settings: Settings) -> list[str]:
    """The Gateway's HTTPS listeners, CloudFront's origin listener among them where it has one."""
    origin = [gatewayapi.ORIGIN_LISTENER] if settings.gateway.cloudfront_origin else []
    return [*(f"https-{i}" for i in range(len(settings.gateway.hostnames))), *origin]


def envoy_proxy_name(settings: Settings) -> str:
    return f"{settings.gateway.name}-proxy"


def gateway_objects(target: Target, settings: Settings) -> list[Obj]:
    g = settings.gateway
    ident = identity(target, g.name, "gateway")
    proxy_ns = chart_namespace(target, GATEWAY_NAMESPACE_CHART)
    gateway_class = gatewayapi.gateway_class(g.class_name, ident, g.controller_name)
    gateway_class["spec"]["parametersRef"] = {
        "group": "gateway.envoyproxy.io",
        "kind": "EnvoyProxy",
        "name": envoy_proxy_name(settings),
        "namespace": proxy_ns,
    }
    return [
        gateway_class,
        envoy_proxy(target, settings, proxy_ns),
        gatewayapi.gateway(
            g.name,
            g.namespace,
            ident,
            class_name=g.class_name,
            hostnames=g.hostnames,
            certificate_secret=certificate_secret(settings),
            origin_listener=g.cloudfront_origin,
        ),
        *(
            gatewayapi.client_traffic_policy(
                f"{g.name}-{gatewayapi.ORIGIN_LISTENER}" if origin else g.name,
                g.namespace,
                ident,
                gateway_name=g.name,
                connection_limit=g.connection_limit,
                idle_timeout=_seconds(g.client_idle_timeout_seconds),
                origin=origin,
            )
            for origin in ((False, True) if g.cloudfront_origin else (False,))
        ),
        gatewayapi.redirect_route(f"{g.name}-https-redirect", g.namespace, ident, gateway_name=g.name),
    ]


def envoy_proxy(target: Target, settings: Settings, namespace: str) -> Obj:
    """The Envoy data plane: hardened pods, spread over zones, replicas from the inventory,
    the cloud's load balancer annotations, and Istio enrolment when the mesh is on."""
    from mnops.k8s.meta import k8s_object, metadata

    ident = identity(target, settings.gateway.name, "gateway")
    replicas = settings.controller_replicas
    pod_labels: dict[str, str] = {}
    pod_annotations: dict[str, str] = {}
    if settings.mesh.enabled and settings.mesh.mode == "sidecar":
        # Envoy joins the mesh for its outbound calls only: clients still reach it without mTLS.
        pod_labels["sidecar.istio.io/inject"] = "true"
        pod_annotations["traffic.sidecar.istio.io/includeInboundPorts"] = ""
    elif settings.mesh.enabled:
        pod_labels["istio.io/dataplane-mode"] = "ambient"
    selector = {"matchLabels": {"app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "envoy-gateway"}}
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector,
        }
    ]
    spec: dict[str, Any] = {
        "provider": {
            "type": "Kubernetes",
            "kubernetes": {
                "envoyDeployment": {
                    "replicas": replicas,
                    "pod": {
                        "labels": pod_labels,
                        "annotations": pod_annotations,
                        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                        "topologySpreadConstraints": spread if replicas > 1 else [],
                    },
                    "container": {
                        "resources": {k: dict(v) for k, v in sorted(settings.controller_resources.items())},
                        "securityContext": {k: v for k, v in CONTAINER_SECURITY_CONTEXT.items() if k != "runAsNonRoot"},
                    },
                },
                "envoyPDB": {"minAvailable": 1} if replicas > 1 else {},
                "envoyService": {
                    "annotations": dict(settings.gateway.load_balancer_annotations),
                    "externalTrafficPolicy": "Local",
                },
            },
        },
    }
    if settings.mesh.enabled:
        # Route to the Service VIP so the sidecar applies the mesh's mTLS and policies.
        spec["routingType"] = "Service"
    return k8s_object(
        "gateway.envoyproxy.io/v1alpha1", "EnvoyProxy", metadata(envoy_proxy_name(settings), ident, namespace), spec=spec
    )


def route_objects(target: Target, settings: Settings) -> list[Obj]:
    g = settings.gateway
    jwt = {"issuer": g.jwt_issuer, "jwks_uri": g.jwks_uri, "audiences": g.audiences}
    objects: list[Obj] = []
    for route in g.routes:
        ident = identity(target, route.service, "route")
        objects += [
            gatewayapi.http_route(
                route.service,
                route.namespace,
                ident,
                gateway_name=g.name,
                https_sections=https_sections(settings),
                hostnames=g.hostnames,
                path=route.path,
                service=route.service,
                port=route.port,
                canary_service=route.canary_service,
                response_headers=g.response_headers,
            ),
            gatewayapi.backend_traffic_policy(
                route.service,
                route.namespace,
                ident,
                route_name=route.service,
                per_client=(route.rate_limit_per_client.requests, route.rate_limit_per_client.unit),
                total=(route.rate_limit_total.requests, route.rate_limit_total.unit),
                timeout=_seconds(route.timeout_seconds),
                retries=route.retries,
                per_try_timeout=_seconds(route.per_try_timeout_seconds),
                circuit_breaker=g.circuit_breaker,
            ),
            gatewayapi.security_policy(
                route.service,
                route.namespace,
                ident,
                route_name=route.service,
                jwt=jwt if route.auth_required else None,
                cors=g.cors,
            ),
        ]
    return objects


def issuer_name(settings: Settings) -> str:
    return "letsencrypt" if settings.tls.issuer == "acme" else "private-ca"


def certificate_objects(target: Target, settings: Settings) -> list[Obj]:
    t, g = settings.tls, settings.gateway
    ident = identity(target, "certificates", "tls")
    objects: list[Obj] = []
    if t.issuer == "acme":
        objects.append(tls.acme_issuer(issuer_name(settings), ident, server=t.acme_server, email=t.acme_email, dns01=t.dns01))
    else:
        ca_ns = chart_namespace(target, CERT_MANAGER_CHART)
        objects += [
            tls.self_signed_issuer("selfsigned-bootstrap", ident),
            tls.certificate(
                "private-ca",
                ca_ns,
                ident,
                issuer="selfsigned-bootstrap",
                secret_name="private-ca",  # noqa: S106 - the name of a Secret, not a password
                common_name=t.private_ca_common_name,
                is_ca=True,
                duration_seconds=t.private_ca_duration_seconds,
                renew_before_seconds=t.private_ca_duration_seconds // 3,
                key_algorithm=t.key_algorithm,
                key_size=t.key_size,
            ),
            tls.ca_issuer("private-ca", ident, "private-ca"),
        ]
    objects.append(
        tls.certificate(
            g.name,
            g.namespace,
            ident,
            issuer=issuer_name(settings),
            secret_name=certificate_secret(settings),
            dns_names=g.hostnames,
            duration_seconds=t.duration_seconds,
            renew_before_seconds=t.renew_before_seconds,
            key_algorithm=t.key_algorithm,
            key_size=t.key_size,
        )
    )
    if namespace_exists(target, t.alert_namespace):  # Prometheus (its rule namespace) runs here
        objects.append(
            tls.certificate_expiry_rule(
                "certificate-expiry",
                t.alert_namespace,
                ident,
                warning_seconds=t.warning_before_seconds,
                critical_seconds=t.critical_before_seconds,
                runbook_url=f"{RUNBOOK_BASE}#certificate-expiry",
            )
        )
    return objects


def connection_template(c: ConnectionString) -> tuple[str, list[str]]:
    """A Go template for a URL over the remote secret's properties, and the properties it reads."""
    props = ["password"]
    user = ""
    if c.with_username:
        user = "{{ .username | urlquery }}"
        props.append("username")
    url = f"{c.scheme}://{user}:{{{{ .password | urlquery }}}}@{c.host}:{c.port}"
    if c.database_property:
        url += f"/{{{{ .{c.database_property} }}}}"
        props.append(c.database_property)
    else:
        url += c.path
    if c.query:
        url += f"?{c.query}"
    return url, props


def managed_values(target: Target, store: str, *, with_username: bool = True) -> list[RemoteValue]:
    """The managed store's endpoint and credentials, as the management cluster publishes them into this
    cluster's secret store (mnops.infra.aws_data), each read under `<store>_<property>`."""
    keys = connection_keys(target.parameters, store)
    credentials = [p for p in CREDENTIAL_PROPERTIES[store] if with_username or p != "username"]
    return [RemoteValue(f"{store}_{p}", keys.endpoint, p) for p in ENDPOINT_PROPERTIES] + [
        RemoteValue(f"{store}_{p}", keys.credentials, p) for p in credentials
    ]


def managed_connection_template(target: Target, c: ConnectionString, store: str) -> tuple[str, list[RemoteValue]]:
    """The URL of a store on RDS / ElastiCache: its published host and port, the credentials Crossplane
    generated, the database RDS was created with; ElastiCache accepts TLS connections only (rediss)."""
    values = managed_values(target, store, with_username=c.with_username)
    user = f"{{{{ .{store}_username | urlquery }}}}" if any(v.property == "username" for v in values) else ""
    scheme = "rediss" if store == "redis" else c.scheme
    url = f"{scheme}://{user}:{{{{ .{store}_password | urlquery }}}}@{{{{ .{store}_host }}}}:{{{{ .{store}_port }}}}"
    url += f"/{target.parameters['postgres']['database']}" if store == "postgres" else c.path
    if c.query:
        url += f"?{c.query}"
    return url, values


def _service_secret(target: Target, settings: Settings, svc: Service, ref: SecretRef) -> Obj:
    s = settings.secrets
    managed = data_services(target.parameters)
    templates: dict[str, str] = {}
    properties: set[str] = set()
    others: dict[str, RemoteValue] = {}
    for key in ref.keys:
        spec = s.connection_strings.get(key)
        if spec is not None and spec.store and managed.managed(spec.store):
            templates[key], values = managed_connection_template(target, spec, spec.store)
            others.update({v.secret_key: v for v in values})
        elif spec is not None:
            template, props = connection_template(spec)
            templates[key] = template
            properties.update(props)
        else:
            templates[key] = f"{{{{ .{key} }}}}"
            properties.add(key)
    return external_secrets.external_secret(
        ref.name,
        svc.namespace,
        identity(target, svc.name, "secrets"),
        store=s.store_name,
        remote_key=store_name(target.cloud["secret_store"]["provider"], f"{s.key_prefix}{ref.name}"),
        properties=sorted(properties),
        templates=templates,
        refresh_interval=s.refresh_interval,
        other_values=list(others.values()),
    )


def _platform_secret(target: Target, settings: Settings, secret: PlatformSecret) -> Obj:
    s = settings.secrets
    templates = {**{key: f"{{{{ index . {key!r} }}}}".replace("'", '"') for key in secret.keys}, **secret.static}
    properties, others = list(secret.keys), []
    if secret.store and data_services(target.parameters).managed(secret.store):
        # The managed store's password, and its endpoint for a client that cannot build a URL itself.
        store = secret.store
        others = managed_values(target, store)
        properties = [k for k in secret.keys if k != "password"]
        templates |= {"password": f"{{{{ .{store}_password }}}}", "url": f"{{{{ .{store}_host }}}}:{{{{ .{store}_port }}}}"}
    return external_secrets.external_secret(
        secret.name,
        secret.namespace,
        identity(target, secret.name, "secrets"),
        store=s.store_name,
        remote_key=store_name(target.cloud["secret_store"]["provider"], secret.remote_key),
        properties=properties,
        templates=templates,
        refresh_interval=s.refresh_interval,
        secret_labels=secret.labels,
        other_values=others,
    )


def secret_objects(target: Target, settings: Settings) -> list[Obj]:
    s = settings.secrets
    store_settings = {k: str(v) for k, v in target.cloud["secret_store"].items() if k != "provider"}
    eso_ns = chart_namespace(target, EXTERNAL_SECRETS_CHART)
    objects = [
        external_secrets.cluster_secret_store(
            s.store_name,
            identity(target, s.store_name, "secrets"),
            provider=target.cloud["secret_store"]["provider"],
            settings=store_settings,
            service_account="external-secrets",
            service_account_namespace=eso_ns,
            cluster_name=target.cluster.name,
            cluster_region=target.cluster.region,
        )
    ]
    for svc in target.services:
        objects += [_service_secret(target, settings, svc, ref) for ref in svc.secret_refs]
    for secret in s.platform:
        if not namespace_exists(target, secret.namespace):
            continue  # the component that reads it is not installed on this target
        objects.append(_platform_secret(target, settings, secret))
    return objects


def rbac_objects(target: Target, settings: Settings) -> list[Obj]:
    namespace = target.namespaces["apps"]
    name = settings.ci_deployer
    ident = identity(target, name, "rbac")
    read = ["get", "list", "watch"]
    rules = [
        {"apiGroups": [""], "resources": ["pods", "services", "events", "configmaps", "endpoints"], "verbs": read},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": read},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": read},
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts", "analysisruns"], "verbs": read},
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes", "gateways"], "verbs": read},
    ]
    return [
        service_account(name, namespace, ident, automount_token=False),
        access.role(name, namespace, ident, rules),
        access.role_binding(name, namespace, ident, role_name=name, service_accounts=[name], groups=[settings.ci_group]),
    ]


def _image_ok_expression(field: str, registries: list[str]) -> str:
    """Every image of `field` is from one of the registries: the repository equals a prefix or continues it."""
    prefixes = ", ".join(f"'{r.rstrip('/')}'" for r in sorted(registries))
    check = (
        f"c, [{prefixes}].exists(r, c.image.startsWith(r + '/') || c.image.startsWith(r + ':') || c.image.startsWith(r + '@'))"
    )
    return f"!has(object.spec.{field}) || object.spec.{field}.all({check})"


def policy_objects(target: Target, settings: Settings) -> list[Obj]:
    """The pod baseline at admission: the same rules the policy tests check on compiled/."""
    apps = target.namespaces["apps"]
    owned = restricted_namespaces(target, settings)
    action = settings.failure_action
    mesh_registries = [ISTIO_REGISTRY] if settings.mesh.enabled else []

    def cel(*checks: tuple[str, str]) -> dict[str, Any]:
        return {"cel": {"expressions": [{"expression": e, "message": m} for e, m in checks]}}

    every = "object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : [])"
    # A digest, or a tag after the last path segment (a registry port such as host:5000/ is not a tag).
    tag = r"c.image.matches('@sha256:[a-f0-9]{64}$') || c.image.matches('^[^@]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$')"
    rules = [
        kyverno.pod_rule(
            "disallow-latest-tag",
            owned,
            cel(
                (
                    f"({every}).all(c, !c.image.endsWith(':latest') && !c.image.contains(':latest@'))",
                    "The 'latest' tag is not allowed.",
                ),
                (f"({every}).all(c, {tag})", "Every image needs a version tag or a digest."),
            ),
            action,
        ),
        kyverno.pod_rule(
            "require-requests-and-limits",
            owned,
            cel(
                (
                    "object.spec.containers.all(c, has(c.resources) && has(c.resources.limits) && has(c.resources.requests)"
                    " && 'cpu' in c.resources.limits && 'memory' in c.resources.limits"
                    " && 'cpu' in c.resources.requests && 'memory' in c.resources.requests)",
                    "Every container needs CPU and memory requests and limits.",
                ),
            ),
            action,
        ),
        kyverno.pod_rule(
            "require-probes",
            owned,
            cel(
                (
                    # Run-to-completion pods (Jobs) need no probes; the istio-proxy sidecar brings its own.
                    "(has(object.spec.restartPolicy) && object.spec.restartPolicy != 'Always')"
                    " || object.spec.containers.all(c, c.name == 'istio-proxy'"
                    " || (has(c.livenessProbe) && has(c.readinessProbe)))",
                    "Every container needs a liveness and a readiness probe.",
                ),
            ),
            action,
        ),
        kyverno.pod_rule(
            "allowed-registries-apps",
            [apps],
            cel(
                (
                    _image_ok_expression("containers", list(settings.allowed_registries) + mesh_registries),
                    "Images must come from: " + ", ".join(settings.allowed_registries),
                ),
                (
                    _image_ok_expression("initContainers", list(settings.allowed_registries) + mesh_registries),
                    "Init container images must come from: " + ", ".join(settings.allowed_registries),
                ),
            ),
            action,
        ),
        kyverno.pod_rule("restricted-pod-security", owned, {"podSecurity": {"level": "restricted", "version": "latest"}}, action),
    ]
    if target.namespaces.get("data") in owned:
        data_registries = list(settings.allowed_registries) + list(settings.extra_registries)
        rules.insert(
            4,
            kyverno.pod_rule(
                "allowed-registries-data",
                [target.namespaces["data"]],
                cel(
                    (_image_ok_expression("containers", data_registries), "Images must come from: " + ", ".join(data_registries)),
                    (
                        _image_ok_expression("initContainers", data_registries),
                        "Init images must come from: " + ", ".join(data_registries),
                    ),
                ),
                action,
            ),
        )
    return [
        kyverno.cluster_policy(
            "pod-baseline",
            identity(target, "pod-baseline", "policy"),
            description="No latest tag, requests and limits, probes, allowed registries, restricted pod security.",
            rules=rules,
        )
    ]


def mesh_objects(target: Target, settings: Settings) -> list[Obj]:
    """Istio, from the same dependency graph as the NetworkPolicies; nothing when disabled."""
    if not settings.mesh.enabled:
        return []
    namespace = target.namespaces["apps"]
    ident = identity(target, "mesh", "mesh")
    gateway_ns = chart_namespace(target, GATEWAY_NAMESPACE_CHART)
    objects = [
        istio.peer_authentication_strict("default", namespace, ident),
        istio.allow_nothing("allow-nothing", namespace, ident),
    ]
    for svc in target.services:
        callers = [s.name for s in target.services if svc.name in s.dependencies.services]
        principals = [f"cluster.local/ns/{namespace}/sa/{c}" for c in callers]
        sources = [gateway_ns] if svc.public_path else []
        scrapers: list[istio.Scraper] = []
        if scrapes_through_mesh(target.parameters):
            # Prometheus, with its Istio certificate (observability/mesh_scrape.py): GET on the metrics
            # port and path only, never the API itself.
            scrapers.append(istio.Scraper(mesh_scrape.principal(settings.network.prometheus.namespace), svc.metrics_port,
                                          svc.metrics_path))  # fmt: skip
        if principals or sources or scrapers:
            objects.append(
                istio.authorization_policy(
                    svc.name,
                    namespace,
                    identity(target, svc.name, "mesh"),
                    workload_labels={"app.kubernetes.io/name": svc.name},
                    principals=principals,
                    namespaces=sources,
                    ports=[svc.port],
                    scrapers=scrapers,
                )
            )
        objects.append(
            istio.destination_rule(
                svc.name,
                namespace,
                identity(target, svc.name, "mesh"),
                host=f"{svc.name}.{namespace}.svc.cluster.local",
                circuit_breaker=settings.gateway.circuit_breaker,
            )
        )
        if delivery_strategy(target, svc.name) == "canary":
            # Argo Rollouts (progressive delivery) steers canary traffic through this VirtualService.
            objects.append(
                istio.canary_virtual_service(
                    svc.name, namespace, identity(target, svc.name, "mesh"), host=svc.name, canary_host=f"{svc.name}-canary"
                )
            )
    return objects


def security_folders(target: Target, settings: Settings) -> dict[str, list[Obj]]:
    folders = {
        "gateway": gateway_objects(target, settings),
        "routes": route_objects(target, settings),
        "certificates": certificate_objects(target, settings),
        "secrets": secret_objects(target, settings),
        "network-policies": network_policies(target, settings),
        "rbac": rbac_objects(target, settings),
        "policies": policy_objects(target, settings),
        "mesh": mesh_objects(target, settings),
    }
    return {name: objects for name, objects in folders.items() if objects}


__all__ = ["security_folders"]
