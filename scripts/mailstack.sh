#!/usr/bin/env bash
# mailstack.sh - a throw-away local mail stack for mailbot's tests, CI and benchmarks.
#
#   mailstack.sh start  DIR   install (if missing), configure and start; waits until ports answer
#   mailstack.sh stop   DIR   stop exactly the processes started for DIR (by pid file)
#   mailstack.sh status DIR   print state; exit 0 if everything answers, 3 otherwise
#   mailstack.sh restart DIR  stop + start (needed after changing MAILSTACK_* of a running stack)
#   mailstack.sh adduser DIR EMAIL PASSWORD [EMAIL PASSWORD ...]   add (or change) logins at
#                             runtime; takes up to 1 s (pitfall 17), so add several at once.
#                             MAILSTACK_USER_FIELDS (e.g. "userdb_mail_plugins=lazy_expunge
#                             userdb_lazy_expunge=Deleted") gives these users Dovecot extra
#                             fields: a mailbox that keeps what is expunged, say
#   mailstack.sh env    DIR   print the KEY=VALUE connection file (DIR/mailstack.env)
#
# IMAP: Debian's Dovecot (imap + lmtp).  SMTP: Debian's Postfix delivering to Dovecot over
# LMTP (when root), or an aiosmtpd relay delivering to the same LMTP socket (non-root, or
# MAILSTACK_SMTP_BACKEND=aiosmtpd).  Everything listens on 127.0.0.1 only; all state lives
# under DIR.
#
# This is mailbot's own copy of the team's shared, tested mailstack.sh (the shared copy may be
# absent on CI machines, so the project carries this one).  Commands, settings (MAILSTACK_*),
# ports (IMAP 10143, IMAPS 10993, SMTP 10025, submission 10587, SMTPS 10465, all + offset),
# users (login = full address, password = "<localpart>-pass") and the env file format are the
# same as the original's.  Used by scripts/test.sh and tests/conftest.py.
#
# Pitfalls hit while building the original, and where the fix lives below:
#  1. Installing dovecot/postfix runs invoke-rc.d, which would start the system-wide daemons on
#     *:25/143/993: need_pkgs() puts a policy-rc.d (exit 101) in place for the install, preseeds
#     debconf "No configuration" for postfix, and serialises installs with flock.
#  2. Postfix "open lock file DIR/postfix/data/master.lock: Permission denied": data_directory
#     must be owned by postfix (post-install only fixes the queue dir): write_postfix_conf().
#  3. postfix(1) will not use a main.cf younger than ~2 s and polls it every 300 ms (2 s lost
#     per start): the generated files are backdated by 10 s.
#  4. No syslog, so Postfix logs vanish: maillog_file + a postlog service in master.cf +
#     maillog_file_prefixes = DIR/log (the default only allows /var and /dev/stdout).
#  5. Chroot: the generated master.cf has chroot = n everywhere; Dovecot's LMTP and SASL sockets
#     live inside Postfix's queue dir and are named by relative paths.
#  6. "User unknown in virtual alias table": virtual_alias_domains defaults to
#     $virtual_alias_maps, and the negated catch-all regexp then claims our own domains; it is
#     set empty.
#  7. Dovecot "userdb returned 0 as uid": mailboxes belong to the system user MAIL_USER
#     (default "mailstack"), created on first start as root.
#  8. A failed login slowed the *next* login by 2-15 s (anvil's per-IP auth penalty, loopback
#     included): disabled with anvil-auth-penalty mode 0.  A *stale* socket file of that name
#     then stalls auth ~5 s, so DIR/run/dovecot is wiped before each start.
#  9. A wrong password still costs 0.5 s (Dovecot's internal flush tick); not configurable.
#     Keep it in mind for negative-path tests.
# 10. stop hung on its own lock: start holds DIR/.lock on fd 8 and daemons inherited it, so
#     every daemon is spawned with 8>&-.
# 11. Zombies: PID 1 may reap slowly; stop/status treat state Z as gone.
# 12. mail_max_userip_connections defaults to 10 per user per IP; parallel tests hit it, so it
#     is 1000, and imap process_limit is 500.
# 13. aiosmtplib >= 2 upgrades to STARTTLS whenever offered and then fails on the self-signed
#     cert: the plain SMTP port offers no STARTTLS.  TLS tests use submission/SMTPS with
#     MAILSTACK_CA_FILE.
# 14. IMAPS readiness can't be checked by reading a banner (TLS speaks first): only the TCP
#     connect is checked.
# 15. As root, DIR must be reachable by unprivileged users (every parent o+x); pytest's
#     tmp_path (/tmp/pytest-of-root, 0700) is refused by check_traversable() with a message.
#     Use mktemp -d /tmp/... or tempfile.mkdtemp(dir="/tmp").
# 16. Non-root Dovecot needs default_internal_user/_group and default_login_user set to the
#     caller and no chroot for imap-login and anvil; Postfix cannot run as non-root, hence the
#     aiosmtpd backend.
# 17. (found in mailbot) adduser on a running stack: Dovecot's passwd-file is re-read at most
#     once per second, so a login right after adduser could fail; cmd_adduser bumps the mtime
#     and returns only after the next second has begun (costs up to 1 s per adduser call, so
#     adduser takes several EMAIL PASSWORD pairs at once).
set -euo pipefail

PROG=$(basename "$0")
export PATH="$PATH:/usr/sbin:/sbin"   # dovecot/postfix live in sbin, not on a normal user's PATH
HOST=127.0.0.1

die()  { echo "$PROG: error: $*" >&2; exit 1; }
log()  { echo "$PROG: $*" >&2; }
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- settings
OFF=${MAILSTACK_PORT_OFFSET:-0}
IMAP_PORT=${MAILSTACK_IMAP_PORT:-$((10143 + OFF))}
IMAPS_PORT=${MAILSTACK_IMAPS_PORT:-$((10993 + OFF))}          # 0 disables
SMTP_PORT=${MAILSTACK_SMTP_PORT:-$((10025 + OFF))}
SUBMISSION_PORT=${MAILSTACK_SUBMISSION_PORT:-$((10587 + OFF))} # 0 disables (postfix only)
SMTPS_PORT=${MAILSTACK_SMTPS_PORT:-$((10465 + OFF))}           # 0 disables (postfix only)
DOMAINS=${MAILSTACK_DOMAINS:-"example.org example.net"}
LOCALPARTS=${MAILSTACK_LOCALPARTS:-"alice bob carol dave"}
EXTRA_USERS=${MAILSTACK_EXTRA_USERS:-}     # "email:password email:password ..."
START_TIMEOUT=${MAILSTACK_START_TIMEOUT:-30}
BACKEND=${MAILSTACK_SMTP_BACKEND:-auto}    # auto | postfix | aiosmtpd
MAILBOX_FORMAT=${MAILSTACK_MAILBOX_FORMAT:-maildir}   # maildir | sdbox | mdbox
DOVECOT_EXTRA=${MAILSTACK_DOVECOT_EXTRA:-}      # extra dovecot.conf lines
POSTFIX_EXTRA=${MAILSTACK_POSTFIX_EXTRA:-}      # extra main.cf lines
FIRST_DOMAIN=${DOMAINS%% *}
CATCHALL=${MAILSTACK_CATCHALL:-catchall@$FIRST_DOMAIN}

case "$MAILBOX_FORMAT" in
    maildir) MAIL_LOCATION="maildir:~/Maildir" ;;
    sdbox|mdbox) MAIL_LOCATION="$MAILBOX_FORMAT:~/$MAILBOX_FORMAT" ;;
    *) echo "mailstack.sh: MAILSTACK_MAILBOX_FORMAT must be maildir, sdbox or mdbox" >&2; exit 1 ;;
esac

pw_for() { local lp=${1%@*}; echo "${lp}-pass"; }   # alice@example.org -> alice-pass

# ---------------------------------------------------------------- helpers
is_root() { [ "$(id -u)" -eq 0 ]; }

# pid_alive PIDFILE COMM-REGEX -> prints pid and returns 0 when that exact process runs
pid_alive() {
    local f=$1 re=$2 pid comm
    [ -s "$f" ] || return 1
    pid=$(tr -dc '0-9' < "$f")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    is_zombie "$pid" && return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    [[ $comm =~ $re ]] || return 1
    echo "$pid"
}

# port_banner PORT -> prints the first bytes the server sends (IMAP "* OK", SMTP "220")
# shellcheck disable=SC2016  # the inner script's $l is meant for the inner bash
port_banner() {
    timeout 2 bash -c 'exec 3<>/dev/tcp/'"$HOST"'/'"$1"' || exit 1; IFS= read -r -t 2 l <&3 || exit 1; printf "%s" "$l"; exec 3<&-' 2>/dev/null
}
port_busy() { timeout 1 bash -c 'exec 3<>/dev/tcp/'"$HOST"'/'"$1" 2>/dev/null; }

# wait_port PORT EXPECT-REGEX DEADLINE_MS
wait_port() {
    local port=$1 re=$2 deadline=$3 b
    while :; do
        b=$(port_banner "$port" || true)
        if [[ $b =~ $re ]]; then return 0; fi
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# a killed daemon stays a zombie until PID 1 reaps it; that counts as gone
is_zombie() { local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1); [ -z "$st" ] || [ "$st" = Z ]; }

stop_pid() {   # stop_pid NAME PIDFILE COMM-REGEX
    local name=$1 f=$2 re=$3 pid
    if pid=$(pid_alive "$f" "$re"); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 200); do is_zombie "$pid" && break; sleep 0.05; done
        if ! is_zombie "$pid"; then
            log "$name (pid $pid) ignored SIGTERM for 10s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    fi
    rm -f "$f"
}

# ---------------------------------------------------------------- install
missing_pkgs() {   # prints the Debian packages still to install, one per line
    { command -v dovecot >/dev/null 2>&1 && [ -x /usr/lib/dovecot/imap ]; } || echo dovecot-imapd
    [ -x /usr/lib/dovecot/lmtp ] || echo dovecot-lmtpd
    command -v openssl >/dev/null 2>&1 || echo openssl
    if [ "$BACKEND" = postfix ]; then [ -x /usr/lib/postfix/sbin/master ] || echo postfix; fi
}

need_pkgs() {
    local missing=()
    mapfile -t missing < <(missing_pkgs)
    [ ${#missing[@]} -eq 0 ] && return 0
    is_root || die "missing Debian packages: ${missing[*]} (run once as root: apt-get install ${missing[*]})"
    log "installing: ${missing[*]}"
    local t0; t0=$(now_ms)
    (
        # one installer at a time on this machine (apt itself also waits for its lock);
        # a stack that waited here usually finds everything installed by the other one
        flock -w 600 9 || die "timed out waiting for /var/lock/mailstack-apt.lock"
        mapfile -t missing < <(missing_pkgs)
        [ ${#missing[@]} -eq 0 ] && exit 0
        export DEBIAN_FRONTEND=noninteractive
        # Keep the packages' init scripts from starting the system-wide dovecot/postfix
        # (they would bind *:25, *:143, *:993 with the default configs).
        made_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d; made_policy=1
        fi
        trap '[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
        # postfix asks debconf questions; answer them so nothing is prompted and no
        # system-wide main.cf is written
        if printf '%s\n' "${missing[@]}" | grep -qx postfix; then
            echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
            echo "postfix postfix/mailname string localhost" | debconf-set-selections
        fi
        apt-get -o DPkg::Lock::Timeout=300 update -qq
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
    ) 9>/var/lock/mailstack-apt.lock
    log "installed in $(( $(now_ms) - t0 )) ms"
}

MAIL_USER=${MAILSTACK_MAIL_USER:-mailstack}
ensure_mail_user() {   # root only: the owner of all mailboxes (never uid 0, see write_dovecot_conf)
    id -u "$MAIL_USER" >/dev/null 2>&1 && return 0
    ( flock -w 60 9
      id -u "$MAIL_USER" >/dev/null 2>&1 || useradd --system --user-group --no-create-home \
          --home-dir /nonexistent --shell /usr/sbin/nologin "$MAIL_USER" ) 9>/var/lock/mailstack-useradd.lock
}

ensure_aiosmtpd_python() {
    local py=${MAILSTACK_PYTHON:-python3}
    if "$py" -c 'import aiosmtpd' 2>/dev/null; then echo "$py"; return; fi
    local venv=${MAILSTACK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mailstack/venv}
    if ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
        log "creating $venv with aiosmtpd (PyPI)"
        mkdir -p "$(dirname "$venv")"
        ( flock -w 300 9; "$py" -c 'import aiosmtpd' 2>/dev/null || {
            "$py" -m venv "$venv" && "$venv/bin/pip" install -q aiosmtpd; } ) 9>"$(dirname "$venv")/.lock" >&2
    fi
    echo "$venv/bin/python"
}

# ---------------------------------------------------------------- configuration
write_users() {
    local pf="$DIR/etc/passwd" d lp e
    local list=()
    for d in $DOMAINS; do for lp in $LOCALPARTS; do list+=("$lp@$d:$(pw_for "$lp")"); done; done
    list=("coordinator@$FIRST_DOMAIN:$(pw_for coordinator)" "${list[@]}" "$CATCHALL:$(pw_for "$CATCHALL")")
    for e in $EXTRA_USERS; do list+=("$e"); done
    touch "$pf"
    for e in "${list[@]}"; do add_user "${e%%:*}" "${e#*:}"; done
}

add_user() {   # add_user EMAIL PASSWORD  (idempotent; replaces the password)
    local email=${1,,} pw=$2 pf="$DIR/etc/passwd" tmp fields=${MAILSTACK_USER_FIELDS:-}
    [[ $email == *@* ]] || die "user must be an email address: $email"
    [[ $pw != *:* && $pw != *$'\n'* ]] || die "password may not contain ':' or newlines"
    [[ $fields != *:* && $fields != *$'\n'* ]] || die "MAILSTACK_USER_FIELDS may not contain ':' or newlines"
    tmp=$(mktemp "$DIR/etc/.passwd.XXXXXX")
    # passwd-file's 8th field: extra fields; userdb_* ones reach the (static) userdb as settings
    { awk -F: -v u="$email" '$1 != u' "$pf" 2>/dev/null || true; echo "$email:{PLAIN}$pw::::::$fields"; } > "$tmp"
    # users.txt: "email password" lines, for tests
    { awk -v u="$email" '$1 != u' "$DIR/users.txt" 2>/dev/null || true; echo "$email $pw"; } > "$DIR/users.txt.tmp"
    mv "$DIR/users.txt.tmp" "$DIR/users.txt"
    chmod 644 "$tmp"; mv "$tmp" "$pf"   # dovecot's passwd-file driver re-reads on mtime change
}

make_cert() {
    [ -s "$DIR/tls/cert.pem" ] && [ -s "$DIR/tls/key.pem" ] && return 0
    mkdir -p "$DIR/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" 2>/dev/null
    chmod 600 "$DIR/tls/key.pem"; chmod 644 "$DIR/tls/cert.pem"
}

write_dovecot_conf() {
    local uid gid nonroot_block="" lmtp_pf_listener="" auth_pf_listener="" imaps_block=""
    uid=$(id -u); gid=$(id -g)
    if is_root; then
        # Dovecot refuses uid 0 for mail access: mailboxes belong to an unprivileged user
        uid=$(id -u "$MAIL_USER"); gid=$(id -g "$MAIL_USER")
    else
        local me; me=$(id -un)
        nonroot_block="# running as $me: every service runs as this user, no chroots
default_internal_user = $me
default_internal_group = $(id -gn)
default_login_user = $me
service auth-worker {
  user = \$default_internal_user
}"
    fi
    if [ "$BACKEND" = postfix ]; then
        # sockets inside Postfix's queue dir: its daemons chdir there as root before dropping
        # privileges, so relative paths work whatever the permissions above DIR are
        lmtp_pf_listener="  unix_listener $PF_QUEUE/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }"
        auth_pf_listener="  unix_listener $PF_QUEUE/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }"
    fi
    if [ "$IMAPS_PORT" != 0 ]; then
        imaps_block="  inet_listener imaps {
    address = $HOST
    port = $IMAPS_PORT
    ssl = yes
  }"
    fi
    cat > "$DIR/etc/dovecot.conf" <<EOF
# generated by mailstack.sh - do not edit, regenerated on start
instance_name = mailstack-$(echo "$DIR" | md5sum | cut -c1-8)
protocols = imap lmtp
listen = $HOST
base_dir = $DIR/run/dovecot
state_dir = $DIR/state/dovecot
log_path = $DIR/log/dovecot.log
info_log_path = $DIR/log/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
$nonroot_block
# no auth penalty: otherwise one failed login from 127.0.0.1 delays the *next* login of any
# user by 2-15 s (anvil tracks failures per IP; login_trusted_networks does not exempt them)
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
$( is_root || echo "  chroot =" )
}

ssl = yes
ssl_cert = <$DIR/tls/cert.pem
ssl_key = <$DIR/tls/key.pem
ssl_min_protocol = TLSv1.2

# test stack: allow LOGIN/AUTH PLAIN without TLS, no failure delays, no per-user caps
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
mail_max_userip_connections = 1000
recipient_delimiter = +
mail_fsync = never

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $DIR/etc/passwd
}
# every address of every domain gets a mailbox (allow_all_users); logins come from passwd
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$DIR/mail/%Ld/%Ln allow_all_users=yes
}
first_valid_uid = $uid
first_valid_gid = $gid
mail_location = $MAIL_LOCATION

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \Archive
    auto = subscribe
  }
}

service imap-login {
  inet_listener imap {
    address = $HOST
    port = $IMAP_PORT
  }
$imaps_block
  service_count = 0
  process_min_avail = 1
$( is_root || echo "  chroot =" )
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
$lmtp_pf_listener
}
service auth {
$auth_pf_listener
}
service imap {
  process_limit = 500
}
protocol lmtp {
  postmaster_address = postmaster@$FIRST_DOMAIN
}
$DOVECOT_EXTRA
EOF
}

write_postfix_conf() {
    local pc="$DIR/etc/postfix" re
    mkdir -p "$pc" "$PF_QUEUE" "$DIR/postfix/data"
    # master(8) runs as root but creates its lock file as mail_owner: data_directory must be
    # owned by postfix (post-install only fixes the queue directory)
    chown postfix:postfix "$DIR/postfix/data"; chmod 700 "$DIR/postfix/data"
    re=$(echo "$DOMAINS" | tr ' ' '\n' | sed '/^$/d; s/\./\\./g' | paste -sd'|')
    # mail for any other domain is captured in the catch-all mailbox instead of leaving the box
    echo "!/@($re)\$/ $CATCHALL" > "$pc/virtual_regexp"
    # shellcheck disable=SC2116,SC2086  # $(echo $DOMAINS) on purpose: collapses runs of spaces
    cat > "$pc/main.cf" <<EOF
# generated by mailstack.sh - do not edit, regenerated on start
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $DIR/postfix/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $DIR/log/postfix.log
maillog_file_prefixes = $DIR/log
myhostname = mail.$FIRST_DOMAIN
mydomain = $FIRST_DOMAIN
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no
smtputf8_enable = no
message_size_limit = 52428800
recipient_delimiter = +

virtual_mailbox_domains = $(echo $DOMAINS)
virtual_transport = lmtp:unix:private/dovecot-lmtp
virtual_alias_maps = regexp:$pc/virtual_regexp
# default is \$virtual_alias_maps, which would make the negated regexp claim our own domains
virtual_alias_domains =
lmtp_destination_recipient_limit = 50

smtpd_banner = \$myhostname ESMTP mailstack
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_client_connection_count_limit = 0
in_flow_delay = 0
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated reject_unauth_destination
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = yes
smtpd_tls_auth_only = no
broken_sasl_auth_clients = yes
smtpd_tls_cert_file = $DIR/tls/cert.pem
smtpd_tls_key_file = $DIR/tls/key.pem
smtpd_tls_security_level = none
smtp_dns_support_level = disabled
queue_run_delay = 10s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
delay_warning_time = 0
$POSTFIX_EXTRA
EOF
    {
        cat <<EOF
# generated by mailstack.sh (no chroot anywhere)
$HOST:$SMTP_PORT inet n - n - - smtpd
EOF
        [ "$SUBMISSION_PORT" != 0 ] && cat <<EOF
$HOST:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
EOF
        [ "$SMTPS_PORT" != 0 ] && cat <<EOF
$HOST:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
EOF
        cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    } > "$pc/master.cf"
    # Postfix refuses to use a main.cf modified within the last ~2 s: postfix(1) re-reads it
    # every 300 ms until it is old enough (2 s lost per start).  Backdate what we generated.
    touch -d "@$(( $(date +%s) - 10 ))" "$pc/main.cf" "$pc/master.cf" "$pc/virtual_regexp"
}

write_env() {
    cat > "$DIR/mailstack.env" <<EOF
MAILSTACK_DIR=$DIR
MAILSTACK_HOST=$HOST
MAILSTACK_IMAP_PORT=$IMAP_PORT
MAILSTACK_IMAPS_PORT=$IMAPS_PORT
MAILSTACK_SMTP_PORT=$SMTP_PORT
MAILSTACK_SUBMISSION_PORT=$( [ "$BACKEND" = postfix ] && echo "$SUBMISSION_PORT" || echo 0 )
MAILSTACK_SMTPS_PORT=$( [ "$BACKEND" = postfix ] && echo "$SMTPS_PORT" || echo 0 )
MAILSTACK_SMTP_BACKEND=$BACKEND
MAILSTACK_CA_FILE=$DIR/tls/cert.pem
MAILSTACK_USERS_FILE=$DIR/users.txt
MAILSTACK_LMTP_SOCKET=$DIR/run/dovecot/lmtp
MAILSTACK_CATCHALL=$CATCHALL
EOF
}

write_relay_py() {
    cat > "$DIR/etc/smtp_lmtp_relay.py" <<'PYEOF'
# generated by mailstack.sh: minimal SMTP server (aiosmtpd) that hands every message to
# Dovecot's LMTP socket, so SMTP -> IMAP INBOX works without an MTA (non-root fallback).
import asyncio, os, re, signal, smtplib, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port, lmtp_sock, passwd, domains, catchall, pidfile = sys.argv[1:8]
domain_list = domains.lower().split()
domains = set(domain_list)

def check_login(user, pw):
    try:
        with open(passwd) as f:
            for line in f:
                u, _, rest = line.rstrip("\n").partition(":")
                if u == user.lower():
                    return rest.split(":")[0] in ("{PLAIN}" + pw, pw)
    except OSError:
        pass
    return False

class Auth:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            ok = check_login(auth_data.login.decode(), auth_data.password.decode())
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

def route(addr):
    dom = addr.rpartition("@")[2].lower()
    return addr if dom in domains else catchall

def deliver(mail_from, rcpts, data):
    with smtplib.LMTP(lmtp_sock) as lm:
        refused = lm.sendmail(mail_from, [route(r) for r in rcpts], data)
    return refused

class Handler:
    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        try:
            refused = await loop.run_in_executor(
                None, deliver, envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        except smtplib.SMTPRecipientsRefused as e:
            return "550 5.1.1 all recipients refused by LMTP: %r" % (e.recipients,)
        except Exception as e:  # LMTP down etc.: ask client to retry
            return "451 4.3.0 LMTP delivery failed: %s" % (e,)
        if refused:
            return "250 2.0.0 OK (partially refused: %r)" % (refused,)
        return "250 2.0.0 OK delivered"

ctl = Controller(Handler(), hostname=host, port=int(port), authenticator=Auth(),
                 auth_required=False, auth_require_tls=False, decode_data=False,
                 server_hostname="mail." + domain_list[0], data_size_limit=52428800,
                 ident="mailstack aiosmtpd")
ctl.start()
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(pidfile + ".tmp", pidfile)
def _sig(*_):
    ctl.stop(); os._exit(0)
signal.signal(signal.SIGTERM, _sig)
signal.signal(signal.SIGINT, _sig)
while True:
    signal.pause()
PYEOF
}

# ---------------------------------------------------------------- commands
resolve_backend() {
    case "$BACKEND" in
        auto) if is_root; then BACKEND=postfix; else BACKEND=aiosmtpd; fi ;;
        postfix) is_root || die "postfix needs root; use MAILSTACK_SMTP_BACKEND=aiosmtpd" ;;
        aiosmtpd) ;;
        *) die "MAILSTACK_SMTP_BACKEND must be auto, postfix or aiosmtpd" ;;
    esac
}

setdir() {
    [ -n "${1:-}" ] || die "usage: $PROG start|stop|status|adduser|env DIR"
    [[ $1 != *[[:space:]]* ]] || die "DIR may not contain whitespace (it ends up in daemon configs): $1"
    mkdir -p "$1"
    DIR=$(cd "$1" && pwd -P)
    PF_QUEUE="$DIR/postfix/spool"
    DOVECOT_PID="$DIR/run/dovecot/master.pid"
    POSTFIX_PID="$PF_QUEUE/pid/master.pid"
    RELAY_PID="$DIR/run/aiosmtpd.pid"
}

recorded_backend() { sed -n 's/^MAILSTACK_SMTP_BACKEND=//p' "$DIR/mailstack.env" 2>/dev/null || true; }

check_traversable() {
    # Postfix and Dovecot helpers run as unprivileged users (postfix, dovecot, dovenull)
    # and need to walk into DIR.
    local p=$DIR
    while [ "$p" != / ]; do
        p=$(dirname "$p")
        local mode; mode=$(stat -c %A "$p")
        [ "${mode:9:1}" = x ] || [ "${mode:9:1}" = t ] || \
            die "$p is not world-searchable (mode $mode); the mail daemons' unprivileged users cannot reach $DIR. Use a DIR under /tmp or /var/tmp (e.g. mktemp -d /tmp/mailstack.XXXXXX), or chmod o+x $p"
    done
}

cmd_start() {
    setdir "$1"
    exec 8>"$DIR/.lock"; flock -w 120 8 || die "another mailstack command holds $DIR/.lock"
    local t0 rb; t0=$(now_ms)
    rb=$(recorded_backend)
    if [ "$BACKEND" = auto ] && [ -n "$rb" ] && { pid_alive "$POSTFIX_PID" '^master$' >/dev/null || pid_alive "$RELAY_PID" '^python' >/dev/null; }; then
        BACKEND=$rb
    fi
    resolve_backend
    if [ -n "$rb" ] && [ "$rb" != "$BACKEND" ]; then
        stop_pid postfix "$POSTFIX_PID" '^master$'; stop_pid aiosmtpd "$RELAY_PID" '^python'
    fi
    local dv_running=0 smtp_running=0
    pid_alive "$DOVECOT_PID" '^dovecot$' >/dev/null && dv_running=1
    if [ "$BACKEND" = postfix ]; then pid_alive "$POSTFIX_PID" '^master$' >/dev/null && smtp_running=1
    else pid_alive "$RELAY_PID" '^python' >/dev/null && smtp_running=1; fi

    if [ $dv_running = 1 ] && [ $smtp_running = 1 ]; then
        # already up: reuse the recorded ports
        # shellcheck disable=SC1091
        . "$DIR/mailstack.env"
        IMAP_PORT=$MAILSTACK_IMAP_PORT; SMTP_PORT=$MAILSTACK_SMTP_PORT
        wait_port "$IMAP_PORT" '^\* OK' $(( $(now_ms) + START_TIMEOUT * 1000 )) || die "running, but IMAP $IMAP_PORT does not answer"
        wait_port "$SMTP_PORT" '^220' $(( $(now_ms) + START_TIMEOUT * 1000 )) || die "running, but SMTP $SMTP_PORT does not answer"
        log "already running in $DIR (imap $IMAP_PORT, smtp $SMTP_PORT)"
        cat "$DIR/mailstack.env"
        return 0
    fi

    need_pkgs
    is_root && check_traversable
    chmod 755 "$DIR"
    mkdir -p "$DIR/etc" "$DIR/run" "$DIR/state/dovecot" "$DIR/log" "$DIR/mail"
    if is_root; then
        ensure_mail_user
        chown "$MAIL_USER:$MAIL_USER" "$DIR/mail"
    fi
    # refuse ports somebody else is already using (only for the daemons we are about to start)
    local p
    if [ $dv_running = 0 ]; then
        for p in "$IMAP_PORT" "$IMAPS_PORT"; do
            [ "$p" = 0 ] || ! port_busy "$p" || die "port $HOST:$p is already in use"; done
    fi
    if [ $smtp_running = 0 ]; then
        for p in "$SMTP_PORT" $( [ "$BACKEND" = postfix ] && echo "$SUBMISSION_PORT $SMTPS_PORT" ); do
            [ "$p" = 0 ] || ! port_busy "$p" || die "port $HOST:$p is already in use"; done
    fi
    write_users
    make_cert
    write_env

    if [ "$BACKEND" = postfix ] && [ $smtp_running = 0 ]; then
        write_postfix_conf
        # creates the queue directories with the right owners, then starts master(8)
        postfix -c "$DIR/etc/postfix" start >>"$DIR/log/postfix-start.log" 2>&1 8>&- || {
            cat "$DIR/log/postfix-start.log" >&2; die "postfix failed to start (see $DIR/log)"; }
    fi
    if [ $dv_running = 0 ]; then
        write_dovecot_conf
        # stale sockets from a previous run: with anvil-auth-penalty disabled (mode 0) a
        # leftover socket file makes auth retry for ~5 s (ECONNREFUSED instead of ENOENT)
        rm -rf "$DIR/run/dovecot"
        dovecot -c "$DIR/etc/dovecot.conf" >>"$DIR/log/dovecot-start.log" 2>&1 8>&- || {
            cat "$DIR/log/dovecot-start.log" >&2; tail -20 "$DIR/log/dovecot.log" >&2 || true
            die "dovecot failed to start"; }
    fi
    if [ "$BACKEND" = aiosmtpd ] && [ $smtp_running = 0 ]; then
        local py; py=$(ensure_aiosmtpd_python)
        write_relay_py
        rm -f "$RELAY_PID"
        setsid nohup "$py" "$DIR/etc/smtp_lmtp_relay.py" "$HOST" "$SMTP_PORT" "$DIR/run/dovecot/lmtp" \
            "$DIR/etc/passwd" "$DOMAINS" "$CATCHALL" "$RELAY_PID" \
            >>"$DIR/log/aiosmtpd.log" 2>&1 < /dev/null 8>&- &
    fi

    local deadline=$(( $(now_ms) + START_TIMEOUT * 1000 ))
    wait_port "$IMAP_PORT" '^\* OK' "$deadline" || { tail -20 "$DIR/log/dovecot.log" >&2 || true; die "IMAP port $IMAP_PORT did not answer within ${START_TIMEOUT}s"; }
    wait_port "$SMTP_PORT" '^220' "$deadline" || { tail -20 "$DIR/log/"{postfix,aiosmtpd}.log >&2 2>/dev/null || true; die "SMTP port $SMTP_PORT did not answer within ${START_TIMEOUT}s"; }
    if [ "$IMAPS_PORT" != 0 ]; then   # TLS port: the server speaks only after a handshake
        until port_busy "$IMAPS_PORT"; do
            [ "$(now_ms)" -lt "$deadline" ] || die "IMAPS port $IMAPS_PORT did not open"; sleep 0.05; done
    fi
    while [ ! -S "$DIR/run/dovecot/lmtp" ]; do
        [ "$(now_ms)" -lt "$deadline" ] || die "LMTP socket did not appear"; sleep 0.05; done
    log "started in $DIR in $(( $(now_ms) - t0 )) ms (imap $IMAP_PORT, smtp $SMTP_PORT, backend $BACKEND)"
    cat "$DIR/mailstack.env"
}

cmd_adduser() {   # cmd_adduser DIR EMAIL PASSWORD [EMAIL PASSWORD ...]: add, then make Dovecot see it
    setdir "${1:-}"; shift
    [ $# -ge 2 ] && [ $(( $# % 2 )) = 0 ] || die "usage: $PROG adduser DIR EMAIL PASSWORD [EMAIL PASSWORD ...]"
    mkdir -p "$DIR/etc"
    # one adduser at a time (pytest-xdist workers add logins to one stack concurrently): the
    # passwd and users.txt rewrites are read-modify-write, and users.txt.tmp has a fixed name
    exec 7>"$DIR/.adduser.lock"; flock -w 60 7 || die "another adduser holds $DIR/.adduser.lock"
    local pf="$DIR/etc/passwd" old_mtime new_mtime written
    old_mtime=$(stat -c %Y "$pf" 2>/dev/null || echo 0)
    while [ $# -ge 2 ]; do add_user "$1" "$2"; shift 2; done
    # Pitfall 17: Dovecot's passwd-file driver stat()s the file at most once per second
    # (passwd_file_sync: "if (last_sync_time == ioloop_time) use the cached copy"), and reloads
    # only when mtime or size differ from the copy it has.  A login in the same second as an
    # earlier lookup therefore still sees the old file: AUTHENTICATIONFAILED for a user that is
    # in the file.  So (a) give the file an mtime different from the previous one (a changed
    # password of the same length has the same size), and (b) return only once the clock is
    # in a later second than the write, so the next lookup is sure to stat() again.  That wait
    # is up to 1 s per call, hence several users per call.
    written=$(date +%s)
    new_mtime=$(( written > old_mtime ? written : old_mtime + 1 ))
    touch -d "@$new_mtime" "$pf"
    if pid_alive "$DOVECOT_PID" '^dovecot$' >/dev/null; then
        while [ "$(date +%s)" -le "$written" ]; do sleep 0.02; done
    fi
}

cmd_stop() {
    [ -d "${1:-/nonexistent}" ] || { log "nothing to stop: ${1:-} does not exist"; return 0; }
    setdir "$1"
    exec 8>"$DIR/.lock"; flock -w 30 8 || log "warning: $DIR/.lock still held after 30s; stopping anyway"
    stop_pid postfix "$POSTFIX_PID" '^master$'
    stop_pid aiosmtpd "$RELAY_PID" '^python'
    stop_pid dovecot "$DOVECOT_PID" '^dovecot$'
}

cmd_status() {
    setdir "$1"
    local rc=0 pid
    [ -f "$DIR/mailstack.env" ] || { echo "not configured: $DIR"; return 3; }
    # shellcheck disable=SC1091
    . "$DIR/mailstack.env"
    if pid=$(pid_alive "$DOVECOT_PID" '^dovecot$'); then echo "dovecot  running pid $pid"; else echo "dovecot  stopped"; rc=3; fi
    if [ "$MAILSTACK_SMTP_BACKEND" = postfix ]; then
        if pid=$(pid_alive "$POSTFIX_PID" '^master$'); then echo "postfix  running pid $pid"; else echo "postfix  stopped"; rc=3; fi
    else
        if pid=$(pid_alive "$RELAY_PID" '^python'); then echo "aiosmtpd running pid $pid"; else echo "aiosmtpd stopped"; rc=3; fi
    fi
    local b
    b=$(port_banner "$MAILSTACK_IMAP_PORT" || true); echo "imap $HOST:$MAILSTACK_IMAP_PORT ${b:-(no answer)}"; [[ $b == '* OK'* ]] || rc=3
    b=$(port_banner "$MAILSTACK_SMTP_PORT" || true); echo "smtp $HOST:$MAILSTACK_SMTP_PORT ${b:-(no answer)}"; [[ $b == 220* ]] || rc=3
    return $rc
}

case "${1:-}" in
    start)   cmd_start "${2:-}" ;;
    stop)    cmd_stop "${2:-}" ;;
    status)  cmd_status "${2:-}" ;;
    restart) "$0" stop "${2:-}"; exec "$0" start "${2:-}" ;;
    adduser) shift; cmd_adduser "$@" ;;
    env)     setdir "${2:-}"; cat "$DIR/mailstack.env" ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
