"""Mistakes a new user makes in inventory/ that used to compile silently or fail with Kapitan's
wrapper instead of the cause: a service class copied without renaming its key, a misspelt class
name, a service port that disagrees with its config.PORT, two containers of the local stack on
one host port, and a builder's error raised inside Kapitan.

Service and target names come from the inventory, never from this file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, compile_script, real_parameters, run_compile

from mnops.inventory import problems_in
from mnops.inventory.sources import SourceErrors, read_sources


def source_errors(inventory: Path) -> str:
    with pytest.raises(SourceErrors) as raised:
        read_sources(inventory)
    return raised.value.render()


def copied_inventory(tmp_path: Path) -> Path:
    copy = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", copy)
    return copy


def a_service_target() -> tuple[str, dict[str, Any], str]:
    name, params = next((n, p) for n, p in sorted(real_parameters().items()) if p.get("services"))
    return name, params, sorted(params["services"])[0]


def test_a_copied_service_class_whose_key_was_not_renamed_is_refused_naming_the_file(tmp_path: Path) -> None:
    inventory = copied_inventory(tmp_path)
    services = inventory / "classes" / "services"
    original = sorted(p for p in services.glob("*.yml") if p.stem != "init")[0]
    (services / "copy-of-it.yml").write_text(original.read_text())  # renamed the file, forgot the key
    with (services / "init.yml").open("a") as init:
        init.write("  - services.copy-of-it\n")
    message = source_errors(inventory)
    assert f"inventory/classes/services/copy-of-it.yml:3:5: services.{original.stem} in copy-of-it.yml" in message
    assert "declares only the service it is named after (services.copy-of-it)" in message


def test_a_misspelt_class_name_gets_a_did_you_mean(tmp_path: Path) -> None:
    inventory = copied_inventory(tmp_path)
    target = sorted((inventory / "targets").glob("*.yml"))[0]
    document = yaml.safe_load(target.read_text())
    real = document["classes"][-1]
    document["classes"][-1] = real[:-1] + "x"
    target.write_text(yaml.safe_dump(document))
    message = source_errors(inventory)
    assert f"class '{real[:-1]}x' not found" in message and f"did you mean '{real}'?" in message


def test_a_key_that_is_a_list_in_one_class_and_a_mapping_in_the_others_names_the_odd_file(tmp_path: Path) -> None:
    inventory = copied_inventory(tmp_path)
    services = yaml.safe_load((inventory / "classes" / "services" / "init.yml").read_text())["classes"]
    name = services[-1].split(".", 1)[1]  # not the first: reclass's message names the first file it merged
    path = inventory / "classes" / "services" / f"{name}.yml"
    path.write_text(path.read_text().replace(f"  services:\n    {name}:", f"  services:\n  - {name}:", 1))
    run = run_compile(inventory, tmp_path / "out" / "compiled")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.splitlines()[0].startswith(
        f"inventory/classes/services/{name}.yml:3:3: parameters.services: Cannot merge list over dictionary (a list here, "
    ), run.stderr
    assert not (tmp_path / "out" / "compiled").exists()


def test_a_service_port_that_differs_from_config_port_is_refused() -> None:
    target, params, service = a_service_target()
    port = params["service_defaults"]["port"] + 80
    params["services"][service]["port"] = port
    problems = [p for p in problems_in(target, params) if p.path == f"parameters.services.{service}.port"]
    assert problems and "config.PORT" in problems[0].found and f'config.PORT: "{port}"' in problems[0].hint


def test_a_service_port_changed_together_with_config_port_is_accepted() -> None:
    target, params, service = a_service_target()
    port = params["service_defaults"]["port"] + 80
    params["services"][service]["port"] = port
    params["services"][service].setdefault("config", {})["PORT"] = str(port)
    assert [p.path for p in problems_in(target, params)] == []


def local_stack() -> tuple[str, dict[str, Any]]:
    found = [(n, p) for n, p in sorted(real_parameters().items()) if p.get("compose")]
    if not found:
        pytest.skip("this inventory has no local Compose target")
    return found[0]


def test_a_service_pinned_to_a_backing_services_host_port_is_refused() -> None:
    target, params = local_stack()
    service = sorted(params["services"])[0]
    backing, port = next(iter(params["compose"]["host_ports"].items()))
    params["compose"]["app_host_ports"] = {service: port}
    problems = [p for p in problems_in(target, params) if p.path == f"parameters.compose.app_host_ports.{service}"]
    assert problems and problems[0].found == f"{port}, which {backing} publishes too"


def test_two_services_pinned_to_one_host_port_are_refused_naming_the_other() -> None:
    target, params = local_stack()
    first, second = sorted(params["services"])[:2]
    params["compose"]["app_host_ports"] = {first: 8999, second: 8999}
    problems = [p for p in problems_in(target, params) if p.path.startswith("parameters.compose.app_host_ports.")]
    assert [(p.path, p.found) for p in problems] == [
        (f"parameters.compose.app_host_ports.{second}", f"8999, which {first} publishes too")
    ]


def test_a_host_port_pinned_for_an_unknown_service_is_refused() -> None:
    target, params = local_stack()
    params["compose"]["app_host_ports"] = {"no-such-service": 8999}
    assert "parameters.compose.app_host_ports.no-such-service" in [p.path for p in problems_in(target, params)]


# What Kapitan 0.36.3 logs when a kadet component raises (recorded from a real compile): its own
# wrapper errors and the final "failed to compile target" line come after the cause.
KAPITAN_LOG = """\
Compiling 6/6 targets using 2 concurrent processes: (2 CPU available)
Traceback (most recent call last):
  File "lib/mnops/compose/__init__.py", line 67, in app_host_ports
    raise BuildError(
mnops.errors.BuildError: services 'a' and 'b' both derive local host port 8500: pin one
The above exception was the direct cause of the following exception:
Traceback (most recent call last):
kapitan.errors.CompileError: Could not load Kadet module: compose
Compile error: failed to compile target: local
Error compiling local: Could not load Kadet module: compose
Compile error: failed to compile target: local
"""


def test_a_builder_error_inside_kapitan_is_reported_by_its_own_message_and_target() -> None:
    message = compile_script().kapitan_error(KAPITAN_LOG, 1)
    assert message == "target 'local': services 'a' and 'b' both derive local host port 8500: pin one"


def test_any_other_exception_inside_kapitan_is_named_as_a_bug_with_its_type() -> None:
    log = KAPITAN_LOG.replace(
        "mnops.errors.BuildError: services 'a' and 'b' both derive local host port 8500: pin one", "KeyError: 'x'"
    )
    message = compile_script().kapitan_error(log, 1)
    assert message == "target 'local': KeyError: 'x' (a bug; MNOPS_DEBUG=1 shows the traceback)"


def test_a_repeated_list_item_is_named_not_just_called_a_list() -> None:
    target, params = next((n, p) for n, p in sorted(real_parameters().items()) if p.get("gateway", {}).get("hostnames"))
    host = params["gateway"]["hostnames"][0]
    params["gateway"]["hostnames"].append(host)
    service = next(s for s in sorted(params["services"]) if params["services"][s].get("secret_refs"))
    refs = params["services"][service]["secret_refs"]
    refs.append(dict(refs[0]))
    found = {p.path: p.found for p in problems_in(target, params)}
    assert found["parameters.gateway.hostnames"] == f"{host!r} twice"
    assert found[f"parameters.services.{service}.secret_refs"] == f"the entry named {refs[0]['name']!r} twice"


def test_one_hostname_in_two_environments_is_refused_but_one_environments_clusters_may_share() -> None:
    from mnops.gitops.rules import fleet_problems

    params = real_parameters()
    assert fleet_problems(params) == []  # the inventory's primary and standby share their names
    serving = [(n, p) for n, p in sorted(params.items()) if p.get("gateway", {}).get("hostnames")]
    (first, first_params), (second, second_params) = next(
        (a, b)
        for a in serving
        for b in serving
        if a[0] < b[0] and a[1]["cluster"]["environment"] != b[1]["cluster"]["environment"]
    )
    host = first_params["gateway"]["hostnames"][0]
    second_params["gateway"]["hostnames"][0] = host
    problems = [p for p in fleet_problems(params) if p.path == "parameters.gateway.hostnames[0]"]
    environment = first_params["cluster"]["environment"]
    assert [(p.target, p.found) for p in problems] == [(second, f"{host!r}, which {first} ({environment}) serves too")]


def test_a_type_error_speaks_yaml_and_says_to_quote_a_number_that_is_meant_as_text() -> None:
    target, params, _ = a_service_target()
    account = params["cloud"]["account"]
    params["cloud"]["account"] = int(account) if account.isdigit() else 123456789012  # what `account: 1234...` reads as
    params["cluster"]["zones"] = params["cluster"]["zones"][0]  # `zones: eu-west-1a` instead of a list
    problems = {p.path: p for p in problems_in(target, params)}
    quoted = problems["parameters.cloud.account"]
    assert quoted.expected == "text" and quoted.hint.endswith(f"write it quoted: '{params['cloud']['account']}'")
    assert problems["parameters.cluster.zones"].expected == "a list"


def test_a_service_named_like_a_backing_service_of_the_local_stack_is_refused() -> None:
    target, params = local_stack()
    backing = next(iter(params["compose"]["host_ports"]))
    params["services"][backing] = params["services"][sorted(params["services"])[0]]
    problems = [p for p in problems_in(target, params) if p.path == f"parameters.services.{backing}"]
    assert problems and problems[0].found == f"a service named {backing!r}"


def test_a_service_named_like_a_chart_is_reported_at_the_service() -> None:
    target, params, service = a_service_target()
    chart = next(k for k, c in sorted(params["charts"].items()) if c["enabled"] and k not in params["apps"])
    params["services"][chart] = params["services"][service]
    problems = [p for p in problems_in(target, params) if "Applications named" in p.found]
    assert [(p.path, p.found) for p in problems] == [
        (f"parameters.services.{chart}", f"2 Applications named {chart!r} (service and chart)")
    ]
