"""Shared library for the machine-native-ops GitOps repository.

`mnops.inventory` turns Kapitan's rendered inventory into validated, typed settings;
`mnops.k8s` holds one small builder per Kubernetes kind. Components in `components/`
combine the two and return plain dictionaries that Kapitan writes to `compiled/`.
"""
