#!/usr/bin/env bash
# A session cluster of real processes (`flink-cpp jobmanager`, two TaskManagers) with
# security.ssl.internal.enabled (RPC, data exchange, blobs) and security.ssl.rest.enabled with
# authentication-enabled, PEM files made here with openssl. Outcomes checked:
#   1. intruders are refused and every process goes on: a TaskManager without TLS and one with a
#      certificate of another CA never register with the JobManager; plain bytes and a TLS client
#      with the foreign certificate on a TaskManager's data port and on the JobManager's RPC port
#      are refused (logged);
#   2. the REST API answers only clients with the cluster's certificate (curl without a client
#      certificate, with the foreign one, or over plain HTTP gets nothing);
#   3. the flight-delay job (parallelism 2: its keyBy exchange crosses TaskManagers over TLS)
#      FINISHES on the TLS cluster and its output equals the sqlite3 oracle.
#
# Usage: tls_e2e.sh BIN WORKDIR
# Environment: FLIGHTS_DATA (default examples/data/flights-3m.csv.gz), E2E_TIMEOUT (s per wait, 60).
# Needs bash, curl, openssl, coreutils and sqlite3.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 BIN WORKDIR" >&2
  exit 2
fi
BIN=$(realpath "$1") WORKDIR=$(realpath -m "$2")
CASE=tls
export LC_ALL=C
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
DATA=${FLIGHTS_DATA:-$SCRIPT_DIR/../../examples/data/flights-3m.csv.gz}
TIMEOUT=${E2E_TIMEOUT:-60}
ROWS=200000
DIR=$WORKDIR/tls
rm -rf "$DIR"
mkdir -p "$DIR/conf" "$DIR/intruder-conf" "$DIR/foreign-conf" "$DIR/log" "$DIR/pki"

die() {
  echo "FAIL $CASE: $*" >&2
  exit 1
}
command -v openssl >/dev/null || die "openssl not found"
command -v curl >/dev/null || die "curl not found"

declare -A PIDS=()
trap stop_pids EXIT
trap 'exit 130' INT TERM

# --- certificates --------------------------------------------------------------
# pki NAME: an EC P-256 CA NAME-ca and a certificate NAME (127.0.0.1, localhost) it signed.
pki() {
  local d=$DIR/pki
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1-ca" \
    -keyout "$d/$1-ca.key" -out "$d/$1-ca.crt" 2>/dev/null || die "openssl: CA $1"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null || die "openssl: CSR $1"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "$d/$1.ext"
  openssl x509 -req -in "$d/$1.csr" -CA "$d/$1-ca.crt" -CAkey "$d/$1-ca.key" -CAcreateserial -days 2 \
    -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null || die "openssl: sign $1"
}
pki cluster
pki foreign
P=$DIR/pki

# tls_conf NAME: the security.ssl.* lines with NAME's certificate, trusting NAME's CA.
tls_conf() {
  local scope
  printf '%s\n' "security.ssl.internal.enabled: true" "security.ssl.rest.enabled: true" \
    "security.ssl.rest.authentication-enabled: true"
  for scope in internal rest; do
    printf '%s\n' "security.ssl.$scope.key: $P/$1.key" "security.ssl.$scope.cert.chain: $P/$1.crt" \
      "security.ssl.$scope.trustedcerts: $P/$1-ca.crt"
  done
}
base_conf() {
  printf '%s\n' "jobmanager.rpc.address: 127.0.0.1" "jobmanager.rpc.port: 0" "jobmanager.bind-host: 127.0.0.1" \
    "rest.address: 127.0.0.1" "rest.bind-address: 127.0.0.1" "rest.port: 0" "blob.server.port: 0" \
    "taskmanager.host: 127.0.0.1" "taskmanager.bind-host: 127.0.0.1" "taskmanager.numberOfTaskSlots: 1" \
    "metrics.reporter.prom.port: 0" "heartbeat.interval: 1 s" "cluster.registration.max-timeout: 500 ms" \
    "\$internal.local.port-file: $(q "$DIR/jobmanager.ports")"
}
{ base_conf; tls_conf cluster; } > "$DIR/conf/config.yaml"
base_conf > "$DIR/intruder-conf/config.yaml"
{ base_conf; tls_conf foreign; } > "$DIR/foreign-conf/config.yaml"

# rest METHOD PATH OUT [curl args]: status code of an HTTPS request with the cluster's client certificate.
rest() {
  local method=$1 path=$2 out=$3
  shift 3
  curl -s -o "$out" -w '%{http_code}' -X "$method" --max-time 30 --cacert "$P/cluster-ca.crt" \
    --cert "$P/cluster.crt" --key "$P/cluster.key" "$@" "https://127.0.0.1:$REST_PORT$path" || true
}
start_taskmanager() {  # start_taskmanager NAME CONFDIR
  mkdir -p "$DIR/$1"
  (cd "$DIR/$1" && exec env FLINK_CONF_DIR="$2" "$BIN" taskmanager -D "jobmanager.rpc.port=$JM_RPC_PORT" \
     -D "blob.storage.directory=$DIR/$1/blobs" > "$DIR/log/$1.log" 2>&1 < /dev/null) &
  PIDS[$1]=$!
}
taskmanagers_are() { [ "$(rest GET /overview "$DIR/overview.json")" = 200 ] && [ "$(jget "$DIR/overview.json" '$.taskmanagers')" = "$1" ]; }
refusals() { grep -c "refused a connection from" "$1" 2>/dev/null || true; }
more_refusals() { [ "$(refusals "$1")" -gt "$2" ]; }
alive() { for n in "$@"; do kill -0 "${PIDS[$n]}" 2>/dev/null || { show "$DIR/log/$n.log"; die "$n exited"; }; done; }

prepare_input "$ROWS"

# --- the TLS cluster -------------------------------------------------------------
(cd "$DIR" && exec env FLINK_CONF_DIR="$DIR/conf" "$BIN" jobmanager > "$DIR/log/jobmanager.log" 2>&1 < /dev/null) &
PIDS[jobmanager]=$!
wait_jobmanager_ports "$DIR/jobmanager.ports" "${PIDS[jobmanager]}" "$DIR/log/jobmanager.log"
REST_PORT=$JM_REST_PORT
start_taskmanager tm-a "$DIR/conf"
start_taskmanager tm-b "$DIR/conf"
wait_until "2 TaskManagers over TLS" taskmanagers_are 2
echo "  TLS cluster up: RPC port $JM_RPC_PORT, REST https://127.0.0.1:$REST_PORT"

# --- 1. intruders ----------------------------------------------------------------
JM_LOG=$DIR/log/jobmanager.log
before=$(refusals "$JM_LOG")
start_taskmanager intruder-plain "$DIR/intruder-conf"
wait_until "the JobManager refusing a TaskManager without TLS" more_refusals "$JM_LOG" "$before"
before=$(refusals "$JM_LOG")
start_taskmanager intruder-foreign "$DIR/foreign-conf"
wait_until "the JobManager refusing a TaskManager with a foreign certificate" more_refusals "$JM_LOG" "$((before + 1))"
taskmanagers_are 2 || die "an intruder registered: $(cat "$DIR/overview.json")"
grep -q "TLS handshake with 127.0.0.1:$JM_RPC_PORT failed" "$DIR/log/intruder-foreign.log" \
  || { show "$DIR/log/intruder-foreign.log"; die "the foreign TaskManager does not report the failed handshake"; }
kill -TERM "${PIDS[intruder-plain]}" "${PIDS[intruder-foreign]}"
wait "${PIDS[intruder-plain]}" "${PIDS[intruder-foreign]}" 2>/dev/null || true
unset 'PIDS[intruder-plain]' 'PIDS[intruder-foreign]'
echo "  a TaskManager without TLS and one with a foreign certificate did not join"

DATA_PORT=$(sed -nE 's/.*data port ([0-9]+).*/\1/p' "$DIR/log/tm-a.log" | head -n 1)
[ -n "$DATA_PORT" ] || die "no data port in tm-a's log"
for target in "tm-a:$DATA_PORT" "jobmanager:$JM_RPC_PORT"; do
  name=${target%%:*} port=${target##*:} log=$DIR/log/${target%%:*}.log
  before=$(refusals "$log")
  # A frame header announcing a record buffer, in plain TCP.
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "\x20\x00\x00\x00\x01{\"type\":\"register\"}" >&3; cat <&3 >/dev/null' _ "$port" || true
  wait_until "$name refusing plain bytes" more_refusals "$log" "$before"
  before=$(refusals "$log")
  printf 'inject' | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$port" -cert "$P/foreign.crt" \
    -key "$P/foreign.key" -CAfile "$P/cluster-ca.crt" > /dev/null 2>&1 || true
  wait_until "$name refusing the foreign certificate" more_refusals "$log" "$before"
done
alive jobmanager tm-a tm-b
taskmanagers_are 2 || die "TaskManagers lost after the intruders: $(cat "$DIR/overview.json")"
echo "  plain bytes and a foreign certificate on a data port and the RPC port were refused"

# --- 2. REST authentication ---------------------------------------------------------
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" || true; }
c=$(code --cacert "$P/cluster-ca.crt" "https://127.0.0.1:$REST_PORT/overview")
[ "$c" = 000 ] || die "a REST client without a certificate got HTTP $c"
c=$(code --cacert "$P/cluster-ca.crt" --cert "$P/foreign.crt" --key "$P/foreign.key" "https://127.0.0.1:$REST_PORT/overview")
[ "$c" = 000 ] || die "a REST client with a foreign certificate got HTTP $c"
c=$(code "http://127.0.0.1:$REST_PORT/overview")
[ "$c" = 000 ] || die "plain HTTP on the REST port got HTTP $c"
alive jobmanager
echo "  REST: no answer without the cluster's client certificate"

# --- 3. the job over TLS -------------------------------------------------------------
cat > "$DIR/fd-run.json" <<EOF
{"entryClass": "flinkcpp.examples.FlightDelays", "parallelism": 2,
 "programArgsList": ["--input", "$INPUT", "--output", "$DIR/out-fd", "--key", "origin", "--window", "1 h"]}
EOF
status=$(rest POST /jars/builtin_flink-cpp-examples/run "$DIR/fd.json" -H 'Content-Type: application/json' --data-binary "@$DIR/fd-run.json")
[ "$status" = 200 ] || die "POST /jars/builtin_flink-cpp-examples/run: $status $(cat "$DIR/fd.json" 2>/dev/null)"
FD=$(jget "$DIR/fd.json" '$.jobid')
finished() {
  [ "$(rest GET "/jobs/$FD" "$DIR/job.json")" = 200 ] || return 1
  local s
  s=$(jget "$DIR/job.json" '$.state')
  case "$s" in FAILED|CANCELED) show "$JM_LOG" 40; die "job $FD ended $s";; esac
  [ "$s" = FINISHED ]
}
wait_until "the flight-delay job to finish" finished
compare_output "$DIR/out-fd" flight-delays
grep -q "Internal TLS enabled" "$DIR/log/tm-a.log" || die "tm-a did not run with internal TLS"
echo "PASS $CASE: intruders refused, REST needs the client certificate, $ACTUAL_ROWS output rows = oracle over internal TLS"
