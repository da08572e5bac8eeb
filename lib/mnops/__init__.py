"""Shared library for the machine-native-ops GitOps repository.

`mnops.inventory` turns Kapitan's rendered inventory into validated, typed settings;
`mnops.k8s` holds one small builder per Kubernetes kind. Components in `components/`
combine the two and return plain dictionaries that Kapitan writes to `compiled/`.
"""

# Every YAML read in the package, whichever module reads it, parses what charts render (see yamlio).
from mnops import yamlio as _yamlio  # noqa: F401
