# scripts/setup.sh: shared steps of scripts/run and scripts/test: Debian packages, the build,
# and the directory that PostgreSQL and the web servers may use. Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin

# clang and libclang-rt-dev (its libFuzzer, not installed without recommends): tests/fuzz.sh.
PACKAGES="build-essential autoconf automake libtool pkg-config curl ca-certificates procps
  iproute2 python3 python3-websockets libfcgi-dev libpq-dev libjson-c-dev libwebsockets-dev
  libunistring-dev libssl-dev postgresql-15 postgresql-15-pgtap lighttpd lighttpd-modules-lua apache2
  libapache2-mod-fcgid libapache2-mod-qos clang libclang-rt-dev"

say() { printf '==> %s\n' "$*"; }

# Installs what is missing; quick when everything is there.
setup_packages() {
    local missing=() p
    for p in $PACKAGES "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Packaged web servers must not start system services on install.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    # An install stopped half way (Ctrl-C) is finished first, or apt-get refuses to start.
    dpkg --configure -a >/dev/null
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    local rc=$?
    rm -f /usr/sbin/policy-rc.d
    return $rc
}

# Builds in $1 (a build directory; configure arguments follow).
setup_build() {
    local dir=$1
    shift
    (cd "$ROOT" && { [ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null 2>&1; }) || return 1
    if [ -f "$ROOT/config.status" ]; then
        say "the checkout is configured in place; run 'make distclean' there so $dir can be used"
        return 1
    fi
    mkdir -p "$dir"
    local args="$*"
    if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.configure-args" 2>/dev/null)" != "$args" ]; then
        say "configure $args"
        (cd "$dir" && "$ROOT/configure" -q "$@") || return 1
        echo "$args" >"$dir/.configure-args"
    fi
    say "build"
    make -C "$dir" -s -j"$(nproc)" >/dev/null || make -C "$dir" -j1 || return 1
}

# Makes $ROOT/var (or $PUSH_VAR) usable by the postgres and www-data users. When the checkout
# sits where they cannot enter, the data lives in a per-checkout directory under /tmp and
# var is a link to it.
setup_var() {
    VAR=${PUSH_VAR:-$ROOT/var}
    if [ ! -e "$VAR" ]; then
        local parent
        parent=$(dirname "$VAR")
        mkdir -p "$parent"
        if runuser -u postgres -- test -x "$parent" && runuser -u www-data -- test -x "$parent"; then
            mkdir -p "$VAR"
        else
            local tmp
            tmp=/tmp/push-var-$(printf '%s' "$VAR" | sha256sum | cut -c1-12)
            mkdir -p "$tmp"
            ln -sfn "$tmp" "$VAR"
        fi
    fi
    VAR=$(cd "$VAR" && pwd -P)
    chmod 755 "$VAR"
}
