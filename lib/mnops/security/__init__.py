"""Security hardening and the API gateway: typed settings and the objects derived from them.

    settings = security_settings(target)      # frozen view of gateway, tls, network, secrets, mesh...
    network_policies(target, settings)        # default deny + the dependency graph's paths

Every module here builds plain Kubernetes objects through the builders in mnops.k8s; the
components in components/security and components/security-values only arrange the output.
"""
