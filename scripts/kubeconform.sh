#!/usr/bin/env bash
# Validate compiled manifests with kubeconform, strictly, for each supported Kubernetes version,
# custom resources against the CRD catalog. Runs in CI (ci.yml) where kubeconform is installed;
# `make validate` calls it when kubeconform is on PATH.
#
# Usage: scripts/kubeconform.sh [DIR...]          (default: compiled)
#   KUBERNETES_VERSIONS="1.33 1.37"   versions to check (default: kubernetes.supported_versions in
#                                     inventory/classes/common.yml)
#   CRD_SCHEMA_LOCATION=URL-or-dir     catalog in {group}/{kind}_{version}.json layout
#                                     (default: the public datreeio CRDs-catalog)
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -gt 0 ] || set -- compiled
catalog=${CRD_SCHEMA_LOCATION:-https://raw.githubusercontent.com/datreeio/CRDs-catalog/main}
if [ -z "${KUBERNETES_VERSIONS:-}" ]; then
  # The one list of versions lives in the inventory; read it rather than repeat it here.
  KUBERNETES_VERSIONS=$(python3 -c 'import re,sys; m=re.search(r"supported_versions:\s*\[([^]]*)\]", open("inventory/classes/common.yml").read()); print(m.group(1).replace(",", " ").replace("\"", ""))')
fi

# Only Kubernetes objects: the manifests/ folders and the Argo CD bootstrap, never the Helm
# values, dashboards or the local Compose stack. Kustomization files (kubectl apply -k) are
# build instructions, not objects: skipped.
targets=()
for dir in "$@"; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' found; do targets+=("$found"); done \
    < <(find "$dir" -type d \( -name manifests -o -path 'argocd/*' -prune \) -print0)
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "kubeconform: nothing to validate under $*" >&2
  exit 1
fi

status=0
for version in $KUBERNETES_VERSIONS; do
  echo ">> kubeconform, Kubernetes ${version}"
  kubeconform -strict -summary -output text \
    -kubernetes-version "${version}.0" \
    -skip Kustomization \
    -schema-location default \
    -schema-location "${catalog}/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json" \
    "${targets[@]}" || status=1
done
exit $status
