#!/usr/bin/env bash
# End-to-end test of `cpplm serve` with real clients: tests/server/node/client.test.mjs (the official
# OpenAI client, npm `openai`) runs against the server directly, then a second time through the
# Prism validation proxy (npm `@stoplight/prism-cli`) with OpenAI's API description
# (tests/server/spec/openai-openapi.yaml), so any request or response that breaks the description
# fails the test. Then the server must stop on SIGTERM with exit status 0 within 10 s.
#
# Usage: run_node_tests.sh CPPLM_BIN SOURCE_DIR   (ctest: server.openai_client)
# Needs node (20 or newer) and the pinned packages: npm ci --prefix tests/server/node
set -euo pipefail

BIN=${1:?usage: run_node_tests.sh CPPLM_BIN SOURCE_DIR}
SRC=${2:?usage: run_node_tests.sh CPPLM_BIN SOURCE_DIR}
NODE_DIR="$SRC/tests/server/node"
SPEC="$SRC/tests/server/spec/openai-openapi.yaml"
PRISM="$NODE_DIR/node_modules/.bin/prism"
API_KEY=test-key

if ! command -v node >/dev/null; then
  echo "run_node_tests.sh: node is not installed (node 20 or newer is needed)" >&2
  exit 1
fi
if [ ! -d "$NODE_DIR/node_modules/openai" ] || [ ! -x "$PRISM" ]; then
  echo "run_node_tests.sh: $NODE_DIR/node_modules is missing; install the pinned OpenAI client and Prism with:" >&2
  echo "  npm ci --prefix tests/server/node" >&2
  exit 1
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for f in "$WORK"/*.log; do
      case "$(basename "$f")" in client-*) continue ;; esac  # already shown
      echo "---- $(basename "$f") (last 60 lines)"
      tail -n 60 "$f"
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for LOG PID PATTERN SECONDS: waits until LOG has a line matching PATTERN (sed -E, one
# group: the URL) and prints the group; fails if PID exits first or time runs out.
wait_for() {
  local log=$1 pid=$2 pattern=$3 seconds=$4 url
  for ((i = 0; i < seconds * 10; i++)); do
    url=$(sed -nE "s#.*${pattern}.*#\\1#p" "$log" | head -n 1)
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run_node_tests.sh: $(basename "$log" .log) exited before it was ready" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "run_node_tests.sh: $(basename "$log" .log) not ready after ${seconds} s" >&2
  return 1
}

# start_server NAME ARGS...: starts `cpplm serve --port 0 ARGS` and sets SERVER_PID, SERVER_URL.
# One thread each: two servers, Prism and the client share the machine (the model is tiny).
start_server() {
  local name=$1
  shift
  "$BIN" serve --host 127.0.0.1 --port 0 --threads 1 "$@" >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  SERVER_URL=$(wait_for "$WORK/$name.log" "$SERVER_PID" 'listening on (http://[^ ]+)' 120)
  SERVER_URL=${SERVER_URL%/}
}

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# start_prism NAME UPSTREAM: starts Prism (it takes a while to load the description) and sets
# PRISM_PID, PRISM_URL; wait_for_prism NAME PID waits for it. The description's paths are relative to
# its server https://api.openai.com/v1, and Prism matches the request path against them as they are:
# the client talks to Prism without /v1 (e.g. POST http://127.0.0.1:PPORT/chat/completions) and
# Prism forwards to UPSTREAM + path, UPSTREAM being http://HOST:PORT/v1.
start_prism() {
  local name=$1 upstream=$2 port
  port=$(free_port)
  "$PRISM" proxy "$SPEC" "$upstream" --errors --host 127.0.0.1 --port "$port" >"$WORK/$name.log" 2>&1 &
  PRISM_PID=$!
  PIDS+=("$PRISM_PID")
  PRISM_URL="http://127.0.0.1:$port"
}
wait_for_prism() {
  wait_for "$WORK/$1.log" "$2" 'Prism is listening on (http://[^ ]+)' 240 >/dev/null
}

run_client_test() {
  local label=$1
  shift
  echo "== client test: $label"
  (cd "$NODE_DIR" && env "$@" CPPLM_API_KEY="$API_KEY" CPPLM_SERVER_URL="$MAIN_URL" \
     node --test --test-reporter=spec client.test.mjs) 2>&1 | tee "$WORK/client-$label.log"
  return "${PIPESTATUS[0]}"
}

start_server server --api-key "$API_KEY"
MAIN_PID=$SERVER_PID MAIN_URL=$SERVER_URL
# One request at a time and one waiting: the 429 case.
start_server server-limited --api-key "$API_KEY" --max-concurrent 1 --max-queue 1
LIMITED_PID=$SERVER_PID LIMITED_URL=$SERVER_URL
echo "server: $MAIN_URL; limited server: $LIMITED_URL"

start_prism prism "$MAIN_URL/v1"
MAIN_PRISM=$PRISM_URL MAIN_PRISM_PID=$PRISM_PID

# A failing step is reported at the end, after the others ran.
FAILED=()
run_client_test direct CPPLM_BASE_URL="$MAIN_URL/v1" CPPLM_LIMITED_BASE_URL="$LIMITED_URL/v1" || FAILED+=("the client test (direct)")

wait_for_prism prism "$MAIN_PRISM_PID"
echo "prism: $MAIN_PRISM -> $MAIN_URL/v1"
run_client_test prism CPPLM_VIA_PRISM=1 CPPLM_BASE_URL="$MAIN_PRISM" CPPLM_LIMITED_BASE_URL="$LIMITED_URL/v1" || FAILED+=("the client test through Prism")

# --errors makes Prism answer any violation with an error (which fails the client test with a 422 or
# a 500; the client test prints the violations Prism names in its sl-violations header); its log
# says so too.
if grep -i 'violation' "$WORK/prism.log"; then
  FAILED+=("Prism reported violations of OpenAI's API description (above)")
fi
# Prism must have matched the requests to the description's routes.
for route in /models /chat/completions /completions; do
  if ! grep -Eq "\[HTTP SERVER\] (get|post) $route .*Request received" "$WORK/prism.log"; then
    FAILED+=("Prism's log shows no request to $route")
  fi
done
if grep -q "hasn't been found in the specification" "$WORK/prism.log"; then
  FAILED+=("Prism did not find a route in the description")
fi

# SIGTERM: both servers stop with status 0 within 10 s.
for pid in "$MAIN_PID" "$LIMITED_PID"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "$MAIN_PID" "$LIMITED_PID"; do
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    FAILED+=("the server (pid $pid) did not stop within 10 s of SIGTERM")
    continue
  fi
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || FAILED+=("the server (pid $pid) exited with status $status after SIGTERM")
done

if [ "${#FAILED[@]}" -ne 0 ]; then
  printf 'run_node_tests.sh: FAILED: %s\n' "${FAILED[@]}" >&2
  exit 1
fi
echo "run_node_tests.sh: passed"
