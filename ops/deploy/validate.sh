#!/usr/bin/env bash
# Checks the deployment files with the tools a workstation has (a development aid, not part
# of the tests): systemd-analyze verify on the units, kubectl kustomize on both overlays
# (and kubernetes-validate on the output when it is installed), the compose file against
# the compose-spec schema (from the docker-compose 1.29.2 wheel, fetched into a venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== systemd units"
cp "$here"/systemd/*.service "$tmp/"
ln -s resonantgen-worker@.service "$tmp/resonantgen-worker@1.service"
# verify needs the binaries and the environment file the units name
for f in /opt/resonantgen/bin/resonantgen /opt/resonantgen/bin/resonantgen-worker /etc/resonantgen/resonantgen.env; do
  [ -e "$f" ] || echo "note: $f is missing here; systemd-analyze will say so"
done
systemd-analyze verify "$tmp/resonantgen-api.service" "$tmp/resonantgen-worker@1.service"
echo "ok"

echo "== kustomize"
for overlay in base gpu; do
  kubectl kustomize "$here/k8s/$overlay" > "$tmp/$overlay.yaml"
  echo "$overlay: $(grep -c '^kind:' "$tmp/$overlay.yaml") objects"
  if command -v kubernetes-validate >/dev/null; then
    kubernetes-validate --strict --quiet "$tmp/$overlay.yaml" || true
  fi
done

echo "== compose"
venv="$tmp/venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q pyyaml jsonschema
"$venv/bin/pip" download -q --no-deps docker-compose==1.29.2 -d "$tmp/dc"
python3 -m zipfile -e "$tmp"/dc/*.whl "$tmp/dc/x" >/dev/null
"$venv/bin/python" - "$here/compose.yaml" "$tmp/dc/x/compose/config/compose_spec.json" <<'PY'
import json, sys, yaml, jsonschema
doc, schema = yaml.safe_load(open(sys.argv[1])), json.load(open(sys.argv[2]))
errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
for e in errors:
    print(list(e.path), e.message)
print(f"{len(errors)} schema errors in {len(doc['services'])} services")
sys.exit(1 if errors else 0)
PY
