"""The one place that decides which value wins.

Reclass merges the classes a target lists, in this order (later wins):

    1. common.yml            org-wide defaults, incl. `service_defaults` (the seed's prod baseline)
    2. cloud/<provider>.yml  storage class, load balancer, workload identity, secret store
    3. services/<name>.yml   what the service is: image repository, paths, dependencies, SLOs
       platform/<name>.yml   platform components' defaults (monitoring, gateway, data, ...)
    4. env/<env>.yml         sizes for the environment (`service_defaults`), per-service tweaks
                             (`services.<name>.<field>`) and the images it runs (`images`)
    5. targets/<name>.yml    the few per-cluster values (name, region, API server, zones)

This module then builds each service's effective settings:

    service_defaults (layers 1, 4, 5)  <  services.<name> (layers 3, 4, 5)  <  images.<name>

so a service inherits every field it does not set, an environment can resize all services at
once through `service_defaults` or one service through `services.<name>`, and a target can
override anything. In deep_merge, mappings merge key by key and lists and scalars replace
(reclass, between classes, appends lists instead; `~key` in a class replaces).
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from typing import Any


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: `override` wins; nested mappings are merged, everything else replaced."""
    merged: dict[str, Any] = deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = deepcopy(value)
    return merged


def effective_service(parameters: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A service's settings after applying defaults and the environment's image pin."""
    service = deep_merge(parameters["service_defaults"], parameters["services"][name])
    image_pin = parameters.get("images", {}).get(name, {})
    service["image"] = deep_merge(service.get("image", {}), image_pin)
    return service
