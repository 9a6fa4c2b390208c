#!/usr/bin/env bash
# Builds the .deb, installs it, runs the installed binary as the installed user with the
# installed settings (as the systemd unit would; CI machines have no systemd), checks
# /health, /metrics and one allocation, then stops it and purges the package.
# Needs root (dpkg -i) and cargo-deb (cargo install cargo-deb --locked).
# KXY_DEB_PORT picks the port (default: a free one); KXY_DEB_PROFILE the cargo profile
# (default release; CI uses dev, whose build is much quicker and packaged the same way).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== deb-smoke: %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "deb-smoke: needs root to install the package" >&2
  exit 1
fi
if dpkg -s kxy-id-server >/dev/null 2>&1 || [ -e /var/lib/kxy-id ] || getent passwd kxy-id >/dev/null; then
  echo "deb-smoke: kxy-id-server is or was installed here (package, /var/lib/kxy-id or user kxy-id); refusing to touch it" >&2
  exit 1
fi

log "building the package"
deb=$(cargo deb -p kxy-id-server --profile "${KXY_DEB_PROFILE:-release}" | tail -n1)
test -f "$deb" || { echo "deb-smoke: cargo deb gave no package ($deb)" >&2; exit 1; }
dpkg-deb --info "$deb" >/dev/null
dpkg-deb --contents "$deb"

port=${KXY_DEB_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
  dpkg --purge kxy-id-server >/dev/null 2>&1 || true
  rm -rf /var/lib/kxy-id
}
trap cleanup EXIT

log "installing $deb"
dpkg -i "$deb"
getent passwd kxy-id >/dev/null || { echo "deb-smoke: user kxy-id was not created" >&2; exit 1; }
test "$(stat -c '%a %U' /var/lib/kxy-id)" = "700 kxy-id"
test "$(stat -c '%a %G' /etc/kxy-id/kxy-id.env)" = "640 kxy-id"
test -x /usr/bin/kxy-id-server
unit=$(dpkg -L kxy-id-server | grep -E '/systemd/system/kxy-id-server\.service$')
if command -v systemd-analyze >/dev/null; then
  log "systemd-analyze verify $unit"
  systemd-analyze verify "$unit"
fi

# What the unit does: its environment file, its user, its working directory, no new
# privileges. The listen address is moved to a free port so that the check cannot collide
# with another server. `env` and `setpriv` exec in turn, so $! is the server's own pid.
mapfile -t settings < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' /etc/kxy-id/kxy-id.env)
installed=(env -i -C /var/lib/kxy-id PATH=/usr/sbin:/usr/bin:/sbin:/bin "${settings[@]}"
  "KXY_LISTEN=127.0.0.1:$port"
  setpriv --reuid=kxy-id --regid=kxy-id --init-groups --no-new-privs /usr/bin/kxy-id-server)

log "a counter imported with the installed binary's import command, as kxy-id"
counters=$(mktemp)
trap 'rm -f "$counters"; cleanup' EXIT
echo '{"format":1,"values":{},"sets":{},"counters":[{"key":"deb:smoke:t:id","value":41}]}' >"$counters"
chmod 0644 "$counters"
"${installed[@]}" import "$counters"

log "starting the installed binary as kxy-id on 127.0.0.1:$port"
server_log=$(mktemp)
"${installed[@]}" 2>"$server_log" &
pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do
  if curl -fsS "$base/health" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || { cat "$server_log" >&2; exit 1; }
  sleep 0.1
done

log "health (the answering process runs as kxy-id)"
test "$(stat -c %U "/proc/$pid")" = kxy-id
health=$(curl -fsS "$base/health")
echo "$health"
grep -q '"status":"healthy"' <<<"$health"

log "one allocation"
answer=$(curl -fsS -X POST "$base/api/segment/allocate" -H 'Content-Type: application/json' \
  -d '{"system_code":"deb","db_name":"smoke","table_name":"t","field_name":"id","segment_count":10}')
echo "$answer"
echo "$answer" | python3 -c '
import json, sys
data = json.load(sys.stdin)["data"]
assert (int(data["start"]), int(data["end"])) == (42, 51), data
'

log "metrics"
metrics=$(curl -fsS "$base/metrics")
grep -E '^kxy_id_(store_up|ids_allocated_total) ' <<<"$metrics"
grep -q '^kxy_id_store_up 1$' <<<"$metrics"
grep -q '^kxy_id_ids_allocated_total 10$' <<<"$metrics"

log "the state belongs to kxy-id and is private"
test "$(stat -c '%a %U' /var/lib/kxy-id/secret.key)" = "600 kxy-id"

log "stopping (SIGTERM)"
kill -TERM "$pid"
wait "$pid"
pid=
rm -f "$server_log"

log "purging"
dpkg --purge kxy-id-server
if getent passwd kxy-id >/dev/null; then
  echo "deb-smoke: purging left user kxy-id behind" >&2
  exit 1
fi
test ! -e /usr/bin/kxy-id-server
log "ok"
