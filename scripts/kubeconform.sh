#!/usr/bin/env bash
# Second opinion on compiled manifests with kubeconform, when it is installed (CI has it).
# Usage: scripts/kubeconform.sh [TREE...]   (default: compiled)
# Checks each Kubernetes version in common.yml's kubernetes.supported_versions, strict mode,
# custom resources from CRD_SCHEMA_LOCATION (kubeconform's catalog layout). Only files under
# manifests/ folders and argocd/ are Kubernetes objects; helm values and raw rules are not.
set -euo pipefail
cd "$(dirname "$0")/.."
trees=("${@:-compiled}")
crds="${CRD_SCHEMA_LOCATION:-https://raw.githubusercontent.com/datreeio/CRDs-catalog/main}"
versions=$(.venv/bin/python -c 'import yaml; print(" ".join(yaml.safe_load(open("inventory/classes/common.yml"))["parameters"]["kubernetes"]["supported_versions"]))')
mapfile -t files < <(find "${trees[@]}" -name '*.yaml' \( -path '*/manifests/*' -o -path 'argocd/*' \) | sort)
for version in $versions; do
  echo ">> kubeconform, Kubernetes $version"
  kubeconform -strict -summary -kubernetes-version "$version.0" \
    -schema-location default \
    -schema-location "$crds/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json" \
    "${files[@]}"
done
