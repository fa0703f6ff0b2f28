#!/bin/sh
# Registers Ratify's Temporal namespace once the server answers (runs in
# temporalio/admin-tools, like the namespace job of Temporal's compose examples). An
# existing namespace is left as it is.
#
# Environment: TEMPORAL_ADDRESS (host:port), DEFAULT_NAMESPACE, NAMESPACE_RETENTION
# (how long closed workflow histories are kept, e.g. 720h).
set -eu

address=${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is the frontend host:port}
namespace=${DEFAULT_NAMESPACE:?DEFAULT_NAMESPACE is the namespace to create}
retention=${NAMESPACE_RETENTION:-720h}

# The CLI is given an IPv4 address, as Temporal's example does: the frontend listens on
# 0.0.0.0 only.
host=${address%:*}
port=${address##*:}
ip=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }')
if [ -n "$ip" ]; then
  address="$ip:$port"
fi

tries=0
until temporal operator cluster health --address "$address" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    echo "create-namespace: Temporal at $address is not healthy" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --namespace "$namespace" --address "$address" >/dev/null 2>&1; then
  echo "create-namespace: $namespace exists"
else
  temporal operator namespace create --namespace "$namespace" --retention "$retention" \
    --address "$address"
  echo "create-namespace: $namespace created (retention $retention)"
fi
