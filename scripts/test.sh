#!/usr/bin/env bash
# scripts/test.sh - THE test command for mailbot (CI runs exactly this via .ci/run).
#
#   scripts/test.sh [PYTEST ARGS...]     default: the whole suite, -q, on every core
#                                        (pytest-xdist -n auto; MAILBOT_TEST_WORKERS=N sets N)
#
# 1. makes .venv if missing and installs the project with its test extras (skipped when the
#    stamp in .venv matches pyproject.toml's hash)
# 2. the checks that fail on any finding: ruff check . (style, well under a second);
#    lint-imports (the layer rules of docs/ARCHITECTURE.md, contracts in pyproject.toml, ~1 s);
#    mypy (mailbot/domain and mailbot/mail strict, the rest normal; a few seconds with its
#    cache in .mypy_cache, ~30 s on a fresh clone)
# 3. starts a real mail stack (Dovecot IMAP + Postfix SMTP, scripts/mailstack.sh) and a
#    throwaway PostgreSQL (scripts/pg.sh), each in its own mktemp -d /tmp/... dir, in parallel
# 4. exports MAILBOT_TEST_MAILSTACK_DIR and MAILBOT_TEST_PG_URL (tests/conftest.py reads them)
#    and runs .venv/bin/python -m pytest "$@"
# 5. always stops both servers; removes their dirs when the tests passed, keeps them (and says
#    where the logs are) when anything failed.  Exits with pytest's exit code.
#
# As root (CI, the normal case here) missing Debian packages (dovecot, postfix, postgresql) are
# installed on first use.  As a normal user they must already be installed; the SMTP side then
# uses the aiosmtpd relay (postfix cannot run unprivileged) with this venv's Python.
#
# Settings: MAILBOT_TEST_NO_LINT=1 skips step 2 (local iteration only).
# MAILSTACK_PORT_OFFSET / MAILSTACK_*_PORT and MAILBOT_PG_PORT pin the ports; when
# unset, the first free ones are picked (other stacks may be running on this machine).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
VENV="$ROOT/.venv"
PROG=test.sh
now_ms() { date +%s%3N; }
log() { echo "$PROG: $*" >&2; }
die() { echo "$PROG: error: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- 1. venv
ensure_venv() {
    local py=${PYTHON:-python3}
    if [ -e "$VENV" ] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
        # never delete a venv we did not make (it may be someone else's, or its python may
        # just be unreachable for this user, e.g. a pyenv python under /root)
        die "$VENV exists but its python does not run for $(id -un); remove it or fix permissions"
    fi
    if [ ! -e "$VENV" ]; then
        "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
            die "$py is $("$py" --version 2>&1); mailbot needs Python >= 3.11 (set PYTHON=...)"
        log "creating $VENV"
        if ! "$py" -m venv "$VENV" 2>/dev/null; then
            # Debian's own python3 ships venv/ensurepip separately
            rm -rf "$VENV"
            if ! is_root || ! command -v apt-get >/dev/null; then
                die "'$py -m venv' failed; install python3-venv (or set PYTHON=...)"
            fi
            log "installing python3-venv"
            ( flock -w 600 9; apt-get -o DPkg::Lock::Timeout=300 update -qq
              DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                  --no-install-recommends python3-venv >/dev/null ) 9>/var/lock/mailstack-apt.lock
            "$py" -m venv "$VENV"
        fi
    fi
    # the stamp holds pyproject.toml's hash: reinstall only when the dependencies may have changed
    # (or a previous install broke off).  The import check runs from / so that the source tree
    # in the cwd cannot stand in for the installed package.
    local stamp="$VENV/.mailbot-test-stamp" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] || \
        ! (cd / && "$VENV/bin/python" -c 'import mailbot, pytest') 2>/dev/null; then
        log "installing mailbot[test] into $VENV"
        local t0; t0=$(now_ms)
        # pip -q still prints setuptools' build warnings: keep them in a log, show it on failure
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]" \
            >"$VENV/.mailbot-pip.log" 2>&1 || { cat "$VENV/.mailbot-pip.log" >&2; die "pip install failed"; }
        echo "$want" > "$stamp"
        log "installed in $(( $(now_ms) - t0 )) ms"
    fi
}

# ---------------------------------------------------------------- 3. servers
port_busy() { timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1" 2>/dev/null; }

pick_mail_offset() {   # first offset (step 100) where all five mail ports are free
    local off p busy
    for off in $(seq 0 100 3000); do
        busy=0
        for p in 10143 10993 10025 10587 10465; do
            if port_busy $((p + off)); then busy=1; break; fi
        done
        [ $busy = 0 ] && { echo "$off"; return 0; }
    done
    die "no free set of mail ports between 10025 and 13993"
}

pick_pg_port() {
    local p
    for p in $(seq 15432 15532); do port_busy "$p" || { echo "$p"; return 0; }; done
    die "no free PostgreSQL port in 15432-15532"
}

STACK_DIR="" PG_DIR="" TESTS_OK=0
# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    set +e
    [ -n "$STACK_DIR" ] && scripts/mailstack.sh stop "$STACK_DIR" >/dev/null 2>&1
    [ -n "$PG_DIR" ] && scripts/pg.sh stop "$PG_DIR" >/dev/null 2>&1
    if [ "$TESTS_OK" = 1 ]; then
        rm -rf "$STACK_DIR" "$PG_DIR"
    elif [ -n "$STACK_DIR$PG_DIR" ]; then
        log "failed (exit $rc); servers stopped, logs kept:"
        [ -n "$STACK_DIR" ] && log "  mail stack: $STACK_DIR/log  (dovecot.log, postfix.log, *-start.log)"
        [ -n "$PG_DIR" ] && log "  postgresql: $PG_DIR/log/postgres.log"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_servers() {
    STACK_DIR=$(mktemp -d /tmp/mailbot-test-XXXX)
    PG_DIR=$(mktemp -d /tmp/mailbot-pg-XXXX)
    # mktemp -d makes 0700; the daemons' unprivileged users (dovecot, postfix, mailstack,
    # mailbot-pg) must walk in, and /tmp itself is 1777 (pitfall 15 of mailstack.sh)
    chmod 755 "$STACK_DIR" "$PG_DIR"
    if [ -z "${MAILSTACK_PORT_OFFSET:-}${MAILSTACK_IMAP_PORT:-}${MAILSTACK_SMTP_PORT:-}" ]; then
        MAILSTACK_PORT_OFFSET=$(pick_mail_offset); export MAILSTACK_PORT_OFFSET
    fi
    if [ -z "${MAILBOT_PG_PORT:-}" ]; then MAILBOT_PG_PORT=$(pick_pg_port); export MAILBOT_PG_PORT; fi
    # non-root: the aiosmtpd relay runs with our venv (it has aiosmtpd from the test extras)
    # instead of making its own venv from PyPI
    export MAILSTACK_PYTHON="$VENV/bin/python"

    local t0 ms_pid pg_pid ms_rc=0 pg_rc=0; t0=$(now_ms)
    # in parallel: each takes ~0.5-1 s warm; a first run installs packages, and the two
    # scripts share one flock for apt, so installs still happen one at a time
    scripts/mailstack.sh start "$STACK_DIR" >"$STACK_DIR.start.log" 2>&1 & ms_pid=$!
    scripts/pg.sh start "$PG_DIR" >"$PG_DIR.start.log" 2>&1 & pg_pid=$!
    wait "$ms_pid" || ms_rc=$?
    wait "$pg_pid" || pg_rc=$?
    mkdir -p "$STACK_DIR/log" "$PG_DIR/log"
    mv "$STACK_DIR.start.log" "$STACK_DIR/log/mailstack-start.log"
    mv "$PG_DIR.start.log" "$PG_DIR/log/pg-start.log"
    if [ $ms_rc != 0 ] || [ $pg_rc != 0 ]; then
        [ $ms_rc = 0 ] || { grep -v '^MAILSTACK_' "$STACK_DIR/log/mailstack-start.log" >&2 || true; }
        [ $pg_rc = 0 ] || { grep -v '^postgresql' "$PG_DIR/log/pg-start.log" >&2 || true; }
        is_root || log "not root: the mail stack needs Debian's dovecot-imapd and dovecot-lmtpd," \
            "PostgreSQL needs postgresql; install them once as root (apt-get install dovecot-imapd" \
            "dovecot-lmtpd postfix postgresql) or run this script as root"
        die "could not start the test servers"
    fi
    MAILBOT_TEST_MAILSTACK_DIR=$STACK_DIR
    MAILBOT_TEST_PG_URL=$(scripts/pg.sh url "$PG_DIR")
    export MAILBOT_TEST_MAILSTACK_DIR MAILBOT_TEST_PG_URL
    log "servers up in $(( $(now_ms) - t0 )) ms: mail stack $STACK_DIR" \
        "(imap $(sed -n 's/^MAILSTACK_IMAP_PORT=//p' "$STACK_DIR/mailstack.env")," \
        "smtp $(sed -n 's/^MAILSTACK_SMTP_PORT=//p' "$STACK_DIR/mailstack.env")), $MAILBOT_TEST_PG_URL"
}

# ---------------------------------------------------------------- main
ensure_venv
# MAILBOT_TEST_NO_LINT=1 skips the checks while iterating locally on half-finished code (CI
# never sets it)
if [ "${MAILBOT_TEST_NO_LINT:-0}" != 1 ]; then
    "$VENV/bin/ruff" check --quiet . || die "ruff check found problems (fix them, or '$VENV/bin/ruff check --fix .')"
    # both print a report even when all is well: show it only when something is wrong
    out=$("$VENV/bin/lint-imports" --no-cache 2>&1) || { echo "$out" >&2
        die "lint-imports: an import breaks a layer rule ([tool.importlinter] in pyproject.toml)"; }
    out=$("$VENV/bin/mypy" 2>&1) || { echo "$out" >&2
        die "mypy found type errors ([tool.mypy] in pyproject.toml)"; }
fi
start_servers
# the whole suite on every core (pytest-xdist), a file's tests on one worker (module fixtures
# run once); all workers share the servers started above (tests/conftest.py)
[ $# -gt 0 ] || set -- -q -n "${MAILBOT_TEST_WORKERS:-auto}" --dist loadfile
rc=0
"$VENV/bin/python" -m pytest "$@" || rc=$?
[ $rc = 0 ] && TESTS_OK=1
exit $rc
