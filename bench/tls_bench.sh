#!/usr/bin/env bash
# Benchmark: the cost of internal TLS (security.ssl.internal.enabled: RPC, data exchange, blobs,
# mutual authentication, PEM files made here with openssl, EC P-256) on the flight-delay job
# (examples/flight-delays.yaml, 3 M rows, parallelism 2: its keyBy crosses TaskManagers) and on
# Nexmark q0 and q5 at parallelism 2 (bench/nexmark_bench.sh, no checkpoints), each with TLS off
# and on. Prints the figures of both scripts; asserts nothing.
#
# usage: bench/tls_bench.sh [BIN] [RUNS] [EVENTS]
#   RUNS    runs per setting (default 3; the median is reported)
#   EVENTS  Nexmark events per run (default 10000000)
# Environment: TLS_BENCH_QUERIES (default "q0 q5").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin/flink-cpp}
RUNS=${2:-3}
EVENTS=${3:-10000000}
QUERIES=${TLS_BENCH_QUERIES:-"q0 q5"}
[ -x "$BIN" ] || { echo "no binary at $BIN: run make build first" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# One CA and one certificate for every process, as the operator's generated Secret has them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench-ca" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench" \
  -keyout "$WORK/tls.key" -out "$WORK/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "$WORK/ext"
openssl x509 -req -in "$WORK/tls.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial -days 2 \
  -extfile "$WORK/ext" -out "$WORK/tls.crt" 2>/dev/null
TLS_CONF="security.ssl.internal.enabled: \"true\"
security.ssl.internal.key: $WORK/tls.key
security.ssl.internal.cert.chain: $WORK/tls.crt
security.ssl.internal.trustedcerts: $WORK/ca.crt"

echo "== flight delays, internal TLS off"
bench/flight_delays_bench.sh "$BIN" "$RUNS" examples/flight-delays.yaml
awk -v conf="$TLS_CONF" '{ print } /^  flinkConfiguration:$/ { n = split(conf, l, "\n"); for (i = 1; i <= n; i++) print "    " l[i] }' \
  examples/flight-delays.yaml > "$WORK/flight-delays-tls.yaml"
grep -q "security.ssl.internal.enabled" "$WORK/flight-delays-tls.yaml" || { echo "no flinkConfiguration in the example" >&2; exit 1; }
echo "== flight delays, internal TLS on"
bench/flight_delays_bench.sh "$BIN" "$RUNS" "$WORK/flight-delays-tls.yaml"

for tls in off on; do
  echo "== Nexmark $QUERIES, parallelism 2, internal TLS $tls"
  conf=""
  [ "$tls" = off ] || conf=$TLS_CONF
  NEXMARK_CONF=$conf NEXMARK_QUERIES="$QUERIES" NEXMARK_PARALLELISM=2 NEXMARK_CHECKPOINTS=off \
    NEXMARK_LATENCY_SECONDS=0 NEXMARK_RESULTS=- bench/nexmark_bench.sh "$BIN" "$EVENTS" "$RUNS"
done
