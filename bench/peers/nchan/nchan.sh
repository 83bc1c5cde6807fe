#!/usr/bin/env bash
# Starts and stops the nchan peer: nginx with the nchan module, one worker, its own prefix and
# temp dirs under $NCHAN_PREFIX (default /tmp/sse-chat-bench-nchan-PORT), on a port you choose,
# so it never touches a system nginx.
#
#   nchan.sh install                       install nginx-light and libnginx-mod-nchan if missing
#   nchan.sh run PORT [REDIS_NODES]        run in the foreground (exec: the caller's child is nginx's master)
#   nchan.sh start PORT [REDIS_NODES]      run in the background, return once it answers
#   nchan.sh stop PORT                     stop the one started with `start PORT`
#
# REDIS_NODES (host:port,host:port...) selects nginx-redis.conf: Redis storage, for cross-node runs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

install() {
  if dpkg -s nginx-light libnginx-mod-nchan >/dev/null 2>&1 && [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    return 0
  fi
  echo "nchan.sh: installing nginx-light and libnginx-mod-nchan" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q nginx-light libnginx-mod-nchan >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q nginx-light libnginx-mod-nchan >&2; }
}

prefix_for() { echo "${NCHAN_PREFIX:-/tmp/sse-chat-bench-nchan-$1}"; }

render() {
  local port="$1" redis="${2:-}" prefix
  prefix="$(prefix_for "$port")"
  mkdir -p "$prefix/tmp"
  if [ -n "$redis" ]; then
    local servers=""
    IFS=',' read -ra nodes <<<"$redis"
    for node in "${nodes[@]}"; do servers+="    nchan_redis_server redis://${node};"$'\n'; done
    awk -v servers="$servers" '{ if ($0 == "@REDIS_SERVERS@") printf "%s", servers; else print }' \
      "$here/nginx-redis.conf" >"$prefix/nginx.conf.in"
  else
    cp "$here/nginx.conf" "$prefix/nginx.conf.in"
  fi
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" "$prefix/nginx.conf.in" >"$prefix/nginx.conf"
  rm -f "$prefix/nginx.conf.in" "$prefix/error.log"
  echo "$prefix"
}

case "${1:-}" in
  install)
    install
    ;;
  run)
    [ $# -ge 2 ] || { echo "usage: $0 run PORT [REDIS_NODES]" >&2; exit 2; }
    install
    prefix="$(render "$2" "${3:-}")"
    exec nginx -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;'
    ;;
  start)
    [ $# -ge 2 ] || { echo "usage: $0 start PORT [REDIS_NODES]" >&2; exit 2; }
    install
    prefix="$(render "$2" "${3:-}")"
    nohup nginx -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' >"$prefix/stdout.log" 2>&1 &
    for _ in $(seq 50); do
      if curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1; then echo "nchan on 127.0.0.1:$2 (prefix $prefix)"; exit 0; fi
      sleep 0.1
    done
    echo "nchan did not answer on port $2; see $prefix/error.log" >&2
    exit 1
    ;;
  stop)
    [ $# -ge 2 ] || { echo "usage: $0 stop PORT" >&2; exit 2; }
    pidfile="$(prefix_for "$2")/nginx.pid"
    [ -f "$pidfile" ] || { echo "no nchan started on port $2" >&2; exit 1; }
    pid="$(cat "$pidfile")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
