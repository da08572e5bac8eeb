"""Secret mappings section: which remote key and property feeds which Secret key, before and after, never a value."""

from __future__ import annotations

from pathlib import Path

from mnops.gitops.diffing import Key, TargetChanges
from mnops.review import ReviewInput
from mnops.review.secret_mappings import build, mappings_of


def external_secret(name, data, target=None, data_from=None):
    spec = {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "cloud"}, "data": data}
    if target:
        spec["target"] = {"name": target}
    if data_from:
        spec["dataFrom"] = data_from
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": spec,
    }


def ref(secret_key, key, prop=None):
    remote = {"key": key, **({"property": prop} if prop else {})}
    return {"secretKey": secret_key, "remoteRef": remote}


def review_of(changes):
    return ReviewInput(Path(), Path(), Path(), Path(), {}, {}, {"prod": changes})


def test_each_secret_key_names_its_remote_key_and_property():
    doc = external_secret(
        "db", [ref("DATABASE_URL", "apps/db", "url")], target="db-creds", data_from=[{"extract": {"key": "apps/extra"}}]
    )
    assert mappings_of(doc) == {
        ("apps/db", "db-creds", "DATABASE_URL"): "ClusterSecretStore/cloud: apps/db#url",
        ("apps/db", "db-creds", "*dataFrom[0]"): "ClusterSecretStore/cloud: apps/extra",
    }


def test_added_removed_and_repointed_mappings_are_listed_before_and_after():
    key = Key("prod", "ExternalSecret", "apps", "db", "external-secrets.io")
    old = external_secret("db", [ref("URL", "apps/db", "url"), ref("USER", "apps/db", "user")])
    new = external_secret("db", [ref("URL", "apps/db-v2", "url"), ref("TOKEN", "apps/api", "token")])
    changes = TargetChanges()
    changes.changed[key] = (old, new)
    section = build(review_of(changes))
    assert section is not None
    assert section.text.splitlines() == [
        "prod:",
        "  added    db.TOKEN (ExternalSecret apps/db): - -> ClusterSecretStore/cloud: apps/api#token",
        "  changed  db.URL (ExternalSecret apps/db): ClusterSecretStore/cloud: apps/db#url"
        " -> ClusterSecretStore/cloud: apps/db-v2#url",
        "  removed  db.USER (ExternalSecret apps/db): ClusterSecretStore/cloud: apps/db#user -> -",
    ]
    assert (
        "| changed | `apps/db` | `db.URL` | ClusterSecretStore/cloud: apps/db#url | ClusterSecretStore/cloud: apps/db-v2#url |"
        in section.markdown
    )
    assert {r.risk_class for r in section.risks} == {"secrets"} and len(section.risks) == 3


def test_a_removed_external_secret_lists_its_mappings_as_removed():
    changes = TargetChanges()
    changes.removed[Key("prod", "ExternalSecret", "apps", "db")] = external_secret("db", [ref("URL", "apps/db", "url")])
    section = build(review_of(changes))
    assert section is not None and "removed  db.URL" in section.text


def test_an_unrelated_change_gives_no_section():
    changes = TargetChanges()
    changes.changed[Key("prod", "ExternalSecret", "apps", "db")] = (
        {**external_secret("db", [ref("URL", "apps/db", "url")]), "status": 1},
        {**external_secret("db", [ref("URL", "apps/db", "url")]), "status": 2},
    )
    assert build(review_of(changes)) is None
