"""Cloud infrastructure from the inventory: networks, clusters, identities, buckets, DNS, edge.

The management cluster's component (components/infra) turns each workload cluster's `infra`
section into Crossplane v2 managed resources (mnops.infra.aws); mnops.infra.rules rejects bad
address plans and unsafe data settings before anything is compiled; mnops.infra.protection tells
`make diff` which changes delete or replace a cloud resource.
"""
