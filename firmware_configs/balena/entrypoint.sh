#!/bin/sh
# Writes the node's certificates from its balena device variables (base64 PEM, set from the
# bundle's balena-device.env) into a private folder, points the agent at them, then runs it.
set -eu
dir=/run/fednids
umask 077
mkdir -p "$dir"
write() {  # variable name, file name
  eval "value=\${$1:-}"
  if [ -z "$value" ]; then
    echo "fednids: device variable $1 is not set (see balena-device.env from fednids provision)" >&2
    exit 2
  fi
  printf '%s' "$value" | base64 -d > "$dir/$2"
}
write FEDNIDS_CA_PEM_B64 ca.crt
write FEDNIDS_CERT_PEM_B64 node.crt
write FEDNIDS_KEY_PEM_B64 node.key
unset FEDNIDS_CA_PEM_B64 FEDNIDS_CERT_PEM_B64 FEDNIDS_KEY_PEM_B64
export FEDNIDS_AGENT_CA_FILE="$dir/ca.crt" FEDNIDS_AGENT_CERT_FILE="$dir/node.crt" \
  FEDNIDS_AGENT_KEY_FILE="$dir/node.key"
exec "$@"
