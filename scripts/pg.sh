#!/usr/bin/env bash
# pg.sh - a throw-away PostgreSQL server on 127.0.0.1 for mailbot's tests, all state under DIR.
#
#   pg.sh start  DIR   install (if missing, root only), initdb, start, create mailbot_test;
#                      prints the SQLAlchemy URL.  Safe to run again: if up, only prints the URL
#   pg.sh stop   DIR   stop the server of DIR (pg_ctl -m fast; never by process name)
#   pg.sh status DIR   exit 0 if the server of DIR runs, 3 otherwise
#   pg.sh url    DIR   print postgresql+psycopg://mailbot@127.0.0.1:PORT/mailbot_test
#
# Settings: MAILBOT_PG_PORT (default 15432), MAILBOT_PG_OS_USER (root only; the unprivileged
# system user that owns and runs the cluster, default mailbot-pg, created with useradd --system),
# MAILBOT_PG_START_TIMEOUT (default 60 s).  The database superuser is "mailbot" with trust auth
# on loopback only, so tests can CREATE/DROP DATABASE freely.
#
# DIR layout: DIR/data (cluster), DIR/run (unix socket), DIR/log/postgres.log, DIR/pg.env
# (PG_URL, PG_PORT, ... as KEY=VALUE lines).
#
# Why things are done the way they are:
#  - postgres refuses to run as root, so as root initdb/pg_ctl run as MAILBOT_PG_OS_USER via
#    runuser, and DIR must be reachable by that user (every parent o+x; /tmp/pytest-of-root is
#    0700, so use mktemp -d /tmp/...).  DIR itself is made 0755.
#  - the cluster is for tests only: fsync, synchronous_commit and full_page_writes are off and
#    initdb runs with --no-sync.  Data is lost on a crash, which is fine for a temp dir.
#  - binaries: pg_ctl/initdb on PATH, else the newest /usr/lib/postgresql/*/bin (Debian does not
#    put them on PATH).  As root with none found: apt-get install postgresql (Debian 12: v15),
#    with a policy-rc.d (exit 101) in place so the package's init script does not start the
#    system cluster on *:5432, and createcluster.d telling postgresql-common not to create the
#    "main" cluster at all (saves an initdb).  Installs are serialised with the same flock as
#    scripts/mailstack.sh (apt/dpkg hold one lock; two installers would fight over it).
#  - the server listens on 127.0.0.1 only, and its unix socket is in DIR/run (not
#    /var/run/postgresql, which may not exist or belong to someone else).
set -euo pipefail

PROG=$(basename "$0")
HOST=127.0.0.1
DB_USER=mailbot
DB_NAME=mailbot_test
PORT=${MAILBOT_PG_PORT:-15432}
OS_USER=${MAILBOT_PG_OS_USER:-mailbot-pg}
START_TIMEOUT=${MAILBOT_PG_START_TIMEOUT:-60}
APT_LOCK=/var/lock/mailstack-apt.lock   # shared with scripts/mailstack.sh on purpose

die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
now_ms() { date +%s%3N; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- binaries
find_bin() {   # prints the directory holding pg_ctl, initdb, postgres and psql; 1 if none
    local d
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        # /usr/local/bin/pg_ctl may be a symlink into /usr/lib/postgresql/N/bin: use the real
        # directory so psql/createdb of the same version are found beside it
        d=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
        if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
        dirname "$(command -v pg_ctl)"; return 0
    fi
    # newest version first (sort -V: 9.6 < 10 < 15)
    for d in $(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -rV); do
        if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    done
    return 1
}

install_pg() {
    is_root || die "PostgreSQL binaries not found (no pg_ctl/initdb on PATH or in /usr/lib/postgresql/*/bin); run once as root: apt-get install postgresql"
    log "installing postgresql"
    local t0; t0=$(now_ms)
    (
        flock -w 600 9 || die "timed out waiting for $APT_LOCK"
        find_bin >/dev/null && exit 0   # another installer finished while we waited
        export DEBIAN_FRONTEND=noninteractive
        made_policy=0 made_cc=0
        # keep the package's init script from starting the system-wide cluster
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d; made_policy=1
        fi
        # postgresql-common's createcluster.conf includes this directory: no "main" cluster
        if [ ! -e /etc/postgresql-common/createcluster.d/mailbot-no-main.conf ]; then
            mkdir -p /etc/postgresql-common/createcluster.d
            echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/mailbot-no-main.conf
            made_cc=1
        fi
        trap '[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d; [ $made_cc = 1 ] && rm -f /etc/postgresql-common/createcluster.d/mailbot-no-main.conf; true' EXIT
        apt-get -o DPkg::Lock::Timeout=300 update -qq
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql >/dev/null
    ) 9>"$APT_LOCK"
    log "installed in $(( $(now_ms) - t0 )) ms"
}

ensure_os_user() {   # root only: postgres will not run as uid 0
    id -u "$OS_USER" >/dev/null 2>&1 && return 0
    ( flock -w 60 9
      id -u "$OS_USER" >/dev/null 2>&1 || useradd --system --user-group --no-create-home \
          --home-dir /nonexistent --shell /usr/sbin/nologin "$OS_USER" ) 9>/var/lock/mailstack-useradd.lock
}

as_owner() {   # run a command as the cluster's owner (root: OS_USER; otherwise ourselves)
    if is_root; then
        # cd /: runuser keeps the cwd, which the unprivileged user may not be able to enter
        (cd / && runuser -u "$OS_USER" -- "$@")
    else
        "$@"
    fi
}

# ---------------------------------------------------------------- helpers
setdir() {
    [ -n "${1:-}" ] || die "usage: $PROG start|stop|status|url DIR"
    [[ $1 != *[[:space:]]* ]] || die "DIR may not contain whitespace (it ends up in postgresql.conf): $1"
    mkdir -p "$1"
    DIR=$(cd "$1" && pwd -P)
    DATA="$DIR/data"
    ENV_FILE="$DIR/pg.env"
}

check_traversable() {   # as root: the cluster owner must be able to walk into DIR
    local p=$DIR mode
    while [ "$p" != / ]; do
        p=$(dirname "$p")
        mode=$(stat -c %A "$p")
        [ "${mode:9:1}" = x ] || [ "${mode:9:1}" = t ] || \
            die "$p is not world-searchable (mode $mode); $OS_USER cannot reach $DIR. Use a DIR under /tmp (mktemp -d /tmp/mailbot-pg.XXXXXX) or chmod o+x $p"
    done
}

port_busy() { timeout 1 bash -c 'exec 3<>/dev/tcp/'"$HOST"'/'"$1" 2>/dev/null; }

running() {   # exit 0 when the server of DIR runs (pg_ctl reads DATA/postmaster.pid)
    [ -f "$DATA/postmaster.pid" ] || return 1
    as_owner "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

recorded() { sed -n "s/^$1=//p" "$ENV_FILE" 2>/dev/null || true; }

url_for() { echo "postgresql+psycopg://$DB_USER@$HOST:$1/$DB_NAME"; }

write_env() {
    cat > "$ENV_FILE.tmp" <<EOF
PG_DIR=$DIR
PG_HOST=$HOST
PG_PORT=$PORT
PG_USER=$DB_USER
PG_DATABASE=$DB_NAME
PG_BIN=$BIN
PG_SOCKET_DIR=$DIR/run
PG_LOG=$DIR/log/postgres.log
PG_URL=$(url_for "$PORT")
EOF
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------- commands
cmd_start() {
    setdir "$1"
    local t0; t0=$(now_ms)
    BIN=$(find_bin) || { install_pg; BIN=$(find_bin) || die "postgresql installed, but no pg_ctl found"; }
    if is_root; then ensure_os_user; check_traversable; fi
    chmod 755 "$DIR"
    mkdir -p "$DIR/run" "$DIR/log"
    if is_root; then chown "$OS_USER:$OS_USER" "$DIR/run" "$DIR/log"; fi

    if running; then
        # already up: keep the port it was started with
        PORT=$(recorded PG_PORT); PORT=${PORT:-$(sed -n 4p "$DATA/postmaster.pid")}
        log "already running in $DIR (port $PORT)"
        write_env; recorded PG_URL; return 0
    fi
    port_busy "$PORT" && die "port $HOST:$PORT is already in use (set MAILBOT_PG_PORT)"

    if [ ! -f "$DATA/PG_VERSION" ]; then
        rm -rf "$DATA"
        mkdir -p "$DATA"; chmod 700 "$DATA"
        if is_root; then chown "$OS_USER:$OS_USER" "$DATA"; fi
        # -U mailbot: the superuser is named independently of the OS user; --locale=C with
        # UTF8 does not depend on which locales the machine has generated
        as_owner "$BIN/initdb" -D "$DATA" -U "$DB_USER" --auth=trust -E UTF8 --locale=C \
            --no-sync >"$DIR/log/initdb.log" 2>&1 || {
            cat "$DIR/log/initdb.log" >&2; die "initdb failed"; }
    fi
    # settings go in their own file, rewritten on every start (so a new port takes effect)
    cat > "$DIR/mailbot-test.conf" <<EOF
# generated by pg.sh - regenerated on start
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$DIR/run'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 64MB
logging_collector = off
log_min_messages = warning
EOF
    chmod 644 "$DIR/mailbot-test.conf"
    grep -q "^include = '$DIR/mailbot-test.conf'" "$DATA/postgresql.conf" 2>/dev/null || \
        as_owner sh -c "echo \"include = '$DIR/mailbot-test.conf'\" >> '$DATA/postgresql.conf'"

    # -w: wait until it accepts connections.  pg_ctl detaches the postmaster (own session,
    # output to -l), so it holds none of the caller's pipes; stdin closed for the same reason
    as_owner "$BIN/pg_ctl" start -D "$DATA" -l "$DIR/log/postgres.log" -w \
        -t "$START_TIMEOUT" </dev/null >"$DIR/log/pg_ctl-start.log" 2>&1 || {
        cat "$DIR/log/pg_ctl-start.log" >&2; tail -20 "$DIR/log/postgres.log" >&2 || true
        die "postgres failed to start (see $DIR/log)"; }

    local psql=("$BIN/psql" -X -q -h "$HOST" -p "$PORT" -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1)
    [ -x "$BIN/psql" ] || psql[0]=psql
    if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
        "${psql[@]}" -c "CREATE DATABASE $DB_NAME" >/dev/null
    fi
    write_env
    log "started in $DIR in $(( $(now_ms) - t0 )) ms (port $PORT, $("$BIN/pg_ctl" --version))"
    recorded PG_URL
}

cmd_stop() {
    [ -d "${1:-/nonexistent}" ] || { log "nothing to stop: ${1:-} does not exist"; return 0; }
    setdir "$1"
    BIN=$(recorded PG_BIN); [ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] || BIN=$(find_bin) || return 0
    if running; then
        # fast: roll back open transactions and disconnect clients instead of waiting for them
        as_owner "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 30 >/dev/null 2>&1 || \
            as_owner "$BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 30 >/dev/null
        log "stopped postgres in $DIR"
    fi
}

cmd_status() {
    setdir "$1"
    BIN=$(recorded PG_BIN); [ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] || BIN=$(find_bin) || { echo "postgres not installed"; return 3; }
    if running; then echo "postgres running on $HOST:$(recorded PG_PORT) ($DIR)"; return 0; fi
    echo "postgres stopped ($DIR)"; return 3
}

cmd_url() {
    setdir "$1"
    [ -f "$ENV_FILE" ] || die "not started: $ENV_FILE missing (run $PROG start $DIR)"
    recorded PG_URL
}

case "${1:-}" in
    start)  cmd_start "${2:-}" ;;
    stop)   cmd_stop "${2:-}" ;;
    status) cmd_status "${2:-}" ;;
    url)    cmd_url "${2:-}" ;;
    *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
