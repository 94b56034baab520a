# Helpers shared by the end-to-end scripts (sourced). They use the caller's now_ms, show and die.

# wait_jobmanager_ports PORTS_FILE PID LOG: waits (30 s at most) until the JobManager process
# PID, started with `$internal.local.port-file: PORTS_FILE`, wrote its ports; sets JM_REST_PORT
# and JM_RPC_PORT. FAILs with LOG shown when the process exits first or nothing comes.
wait_jobmanager_ports() {
  local ports=$1 pid=$2 log=$3 start
  JM_REST_PORT="" JM_RPC_PORT=""
  start=$(now_ms)
  while :; do
    if [ -f "$ports" ]; then
      JM_REST_PORT=$(sed -n 's/^rest.port=//p' "$ports")
      JM_RPC_PORT=$(sed -n 's/^rpc.port=//p' "$ports")
    fi
    [ -n "$JM_REST_PORT" ] && [ -n "$JM_RPC_PORT" ] && return 0
    kill -0 "$pid" 2>/dev/null || { show "$log"; die "the JobManager exited during start-up"; }
    [ $(( $(now_ms) - start )) -lt 30000 ] || { show "$log"; die "the JobManager wrote no ports in 30 s"; }
    sleep 0.05
  done
}

# raw_http PORT REQUEST: sends REQUEST (raw bytes, e.g. a request without Content-Length) to
# 127.0.0.1:PORT and prints the response's status code; "000" when no answer came within 5 s.
raw_http() {
  local out
  out=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf "%b" "$2" >&3; head -n 1 <&3' _ "$1" "$2" 2>/dev/null) || true
  out=$(cut -d ' ' -f 2 <<< "$out")
  echo "${out:-000}"
}

# q STRING: STRING as a double-quoted YAML/JSON string.
q() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# show FILE [N]: the last N (25) lines of FILE on stderr.
show() {
  echo "--- last lines of $1 ---" >&2
  tail -n "${2:-25}" "$1" >&2 || true
}

# jget FILE JSONPATH: json_extract of FILE's JSON through sqlite3 (empty for a missing value or invalid JSON).
jget() {
  local f=${1//\'/\'\'}
  sqlite3 -batch :memory: "SELECT json_extract(CAST(readfile('$f') AS TEXT), '$2');" 2>/dev/null || true
}

