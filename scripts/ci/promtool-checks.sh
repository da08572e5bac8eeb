#!/usr/bin/env bash
# promtool and amtool over everything compiled: rule files, rule unit tests, Alertmanager config.
# Usage: scripts/ci/promtool-checks.sh        (installs promtool/amtool from Debian if missing)
# Globs that match nothing are skipped, so the script works before any rules exist.
set -euo pipefail
cd "$(dirname "$0")/../.."
shopt -s nullglob globstar
scripts/ensure-debs promtool=prometheus amtool=prometheus-alertmanager

rules=(compiled/*/rules/**/*.yaml)
rule_tests=(tests/**/promtool/*.yaml compiled/*/rules/tests/**/*.yaml)
alertmanager=(compiled/*/alertmanager/*.yaml)

if [ ${#rules[@]} -gt 0 ]; then
  # Test files live beside the rules in some layouts; check only real rule groups here.
  mapfile -t rule_files < <(grep -l '^groups:' "${rules[@]}" || true)
  [ ${#rule_files[@]} -eq 0 ] || promtool check rules "${rule_files[@]}"
fi
[ ${#rule_tests[@]} -eq 0 ] || promtool test rules "${rule_tests[@]}"
for config in "${alertmanager[@]}"; do
  amtool check-config "$config"
done
echo "promtool/amtool: ${#rules[@]} rule file(s), ${#rule_tests[@]} test file(s), ${#alertmanager[@]} Alertmanager config(s) checked"
