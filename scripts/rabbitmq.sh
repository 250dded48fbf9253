#!/usr/bin/env bash
# One throwaway RabbitMQ broker for tests and benchmarks, on 127.0.0.1 only.
#   scripts/rabbitmq.sh start DIR   installs rabbitmq-server (Debian's package) if missing, starts a broker
#                                   whose node name, ports (AMQP, dist, epmd), cookie, data and logs all live
#                                   under DIR, waits until it takes AMQP connections, and prints one JSON line:
#                                   {"pid": P, "port": N, "url": "amqp://guest:guest@127.0.0.1:N/", ...}.
#                                   Starting again with the same DIR reuses its ports and data (durable
#                                   queues and persistent messages survive a stop and start).
#   scripts/rabbitmq.sh stop DIR    stops that broker (and its epmd) by the pids recorded in DIR.
#   scripts/rabbitmq.sh stop PID    the same for a broker started with that pid.
# Nothing system-wide is touched: no service, no shared epmd, no ~/.erlang.cookie.
set -euo pipefail

die() { echo "rabbitmq.sh: $*" >&2; exit 1; }

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install_if_missing() {
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && return 0
  command -v apt-get >/dev/null || die "rabbitmq-server is not installed and there is no apt-get to install it"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  echo "rabbitmq.sh: installing rabbitmq-server with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends rabbitmq-server >&2 ||
    { $sudo apt-get update >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends rabbitmq-server >&2; } ||
    die "could not install rabbitmq-server with apt-get"
  # The package may start the system's own broker; this script never uses it.
}

stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

stop_dir() {
  local dir=$1
  [ -f "$dir/wrapper.pid" ] && stop_pid "$(cat "$dir/wrapper.pid")"
  # The Erlang VM writes its own pid; after the wrapper went, it must be gone too.
  [ -f "$dir/beam.pid" ] && stop_pid "$(cat "$dir/beam.pid")"
  [ -f "$dir/epmd.pid" ] && stop_pid "$(cat "$dir/epmd.pid")"
  rm -f "$dir/wrapper.pid" "$dir/beam.pid" "$dir/epmd.pid"
}

start() {
  local dir
  dir=$(mkdir -p "$1" && cd "$1" && pwd)
  install_if_missing
  if [ ! -f "$dir/ports" ]; then
    printf '%s %s %s\n' "$(free_port)" "$(free_port)" "$(free_port)" > "$dir/ports"
  fi
  local amqp dist epmd
  read -r amqp dist epmd < "$dir/ports"
  [ -f "$dir/wrapper.pid" ] && kill -0 "$(cat "$dir/wrapper.pid")" 2>/dev/null && die "a broker from $dir runs already"
  port_open "$amqp" && die "port $amqp is taken by another process"
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  local node="runwatch-test-$amqp@localhost"
  cat > "$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$amqp
loopback_users.guest = true
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = warning
EOF
  : > "$dir/enabled_plugins"
  export HOME="$dir/home" ERL_EPMD_PORT=$epmd ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_NODENAME=$node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$amqp
  export RABBITMQ_DIST_PORT=$dist RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_PID_FILE="$dir/beam.pid" RABBITMQ_CONF_ENV_FILE="$dir/none.env" RABBITMQ_ENABLED_PLUGINS=""
  export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/none.config"
  # Its own epmd, in the foreground so its pid is known and it is stopped with the broker.
  setsid epmd -port "$epmd" -address 127.0.0.1 </dev/null >"$dir/log/epmd.out" 2>&1 &
  echo $! > "$dir/epmd.pid"
  setsid /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >"$dir/log/server.out" 2>&1 &
  local pid=$!
  echo "$pid" > "$dir/wrapper.pid"
  local i
  for i in $(seq 1 1200); do
    port_open "$amqp" && break
    if ! kill -0 "$pid" 2>/dev/null; then
      stop_dir "$dir"
      die "the broker exited while starting; see $dir/log: $(tail -c 2000 "$dir/log/server.out")"
    fi
    sleep 0.1
  done
  port_open "$amqp" || { stop_dir "$dir"; die "the broker did not listen on $amqp within 120 s; see $dir/log"; }
  printf '{"pid": %s, "port": %s, "url": "amqp://guest:guest@127.0.0.1:%s/", "node": "%s", "dir": "%s"}\n' \
    "$pid" "$amqp" "$amqp" "$node" "$dir"
}

case "${1:-}" in
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
  stop)
    [ $# -eq 2 ] || die "usage: $0 stop DIR|PID"
    if [[ "$2" =~ ^[0-9]+$ ]]; then stop_pid "$2"; else stop_dir "$2"; fi ;;
  *) die "usage: $0 start DIR | stop DIR|PID" ;;
esac
