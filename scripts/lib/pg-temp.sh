# shellcheck shell=bash
# Throwaway PostgreSQL clusters for scripts. Source this file (bash), then:
#
#   pg_temp_start              # initdb + start; exports PG_TEMP_URL, PG_TEMP_DIR, PG_TEMP_PORT,
#                              # PG_TEMP_BINDIR; sets `trap pg_temp_stop EXIT`
#   url=$(pg_temp_createdb demo)   # prints postgres://postgres@127.0.0.1:PORT/demo
#   pg_temp_stop               # stops the server and deletes its directory (also run on EXIT)
#
# Server binaries (initdb, pg_ctl, postgres) are taken from $PG_BIN_DIR if set, else from PATH,
# else from the highest /usr/lib/postgresql/*/bin, else from /usr/local/pgsql/bin. As root, the
# cluster runs as the `postgres` user (initdb refuses root). Authentication is `trust`, the server
# listens on 127.0.0.1 only, on a free port, with durability switched off: for tests and demos only.

pg_temp__has_server() {
    [[ -x "$1/initdb" && -x "$1/pg_ctl" && -x "$1/postgres" ]]
}

# Prints the directory holding initdb, pg_ctl and postgres; returns 1 if there is none.
pg_temp_find_bindir() {
    local dir
    local -a path_dirs candidates
    if [[ -n "${PG_BIN_DIR:-}" ]] && pg_temp__has_server "$PG_BIN_DIR"; then
        printf '%s\n' "$PG_BIN_DIR"
        return 0
    fi
    IFS=: read -ra path_dirs <<<"${PATH:-}"
    for dir in "${path_dirs[@]}"; do
        if [[ -n "$dir" ]] && pg_temp__has_server "$dir"; then
            printf '%s\n' "$dir"
            return 0
        fi
    done
    candidates=()
    for dir in /usr/lib/postgresql/*/bin; do
        if pg_temp__has_server "$dir"; then
            candidates+=("$dir")
        fi
    done
    if ((${#candidates[@]} > 0)); then
        printf '%s\n' "${candidates[@]}" | sort -V | tail -n 1
        return 0
    fi
    if pg_temp__has_server /usr/local/pgsql/bin; then
        printf '%s\n' /usr/local/pgsql/bin
        return 0
    fi
    return 1
}

# Prints a TCP port that was free on 127.0.0.1 a moment ago.
pg_temp__free_port() {
    local port
    if command -v perl >/dev/null 2>&1 &&
        port=$(perl -MIO::Socket::INET -e \
            'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or exit 1; print $s->sockport' \
            2>/dev/null) && [[ -n "$port" ]]; then
        printf '%s\n' "$port"
        return 0
    fi
    # No perl: probe random ports until one refuses connections.
    local _
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    return 1
}

# Runs a command as the `postgres` user when root (from inside the cluster directory, which that
# user can read; the caller's cwd may not be).
pg_temp__as_pg() {
    (
        cd "$PG_TEMP_DIR" || exit 1
        if [[ "$(id -u)" != 0 ]]; then
            exec "$@"
        elif command -v runuser >/dev/null 2>&1; then
            exec runuser -u postgres -- "$@"
        elif command -v setpriv >/dev/null 2>&1; then
            exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
        else
            echo "pg-temp: running as root, but neither runuser nor setpriv is available to run PostgreSQL as the postgres user" >&2
            exit 1
        fi
    )
}

pg_temp_start() {
    if [[ -n "${PG_TEMP_DIR:-}" ]]; then
        echo "pg-temp: a cluster is already running in $PG_TEMP_DIR" >&2
        return 1
    fi
    local bindir
    if ! bindir=$(pg_temp_find_bindir); then
        cat >&2 <<'EOF'
pg-temp: no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH, under
/usr/lib/postgresql/*/bin or in /usr/local/pgsql/bin.
Install them: apt-get install -y postgresql   (or set PG_BIN_DIR to the directory holding them)
EOF
        return 1
    fi
    if [[ "$(id -u)" == 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        echo "pg-temp: running as root, but there is no postgres user to run the cluster as (initdb refuses root); apt-get install -y postgresql creates it" >&2
        return 1
    fi

    # Not $TMPDIR: the directory must be reachable by the postgres user.
    PG_TEMP_DIR=$(mktemp -d /tmp/pg-temp.XXXXXX)
    PG_TEMP_BINDIR=$bindir
    export PG_TEMP_DIR PG_TEMP_BINDIR
    # Signals become exits so that the EXIT trap runs (bash skips it when a signal kills it, e.g.
    # SIGPIPE from `scripts/demo | head`).
    trap pg_temp_stop EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres: "$PG_TEMP_DIR"
    fi

    if ! pg_temp__as_pg "$bindir/initdb" -D "$PG_TEMP_DIR/data" -A trust -U postgres --no-sync \
        -E UTF8 --no-locale >"$PG_TEMP_DIR/initdb.log" 2>&1; then
        echo "pg-temp: initdb failed:" >&2
        cat "$PG_TEMP_DIR/initdb.log" >&2
        return 1
    fi

    local attempt port
    for attempt in 1 2 3 4 5; do
        port=$(pg_temp__free_port) || {
            echo "pg-temp: cannot find a free TCP port on 127.0.0.1" >&2
            return 1
        }
        if pg_temp__as_pg "$bindir/pg_ctl" -D "$PG_TEMP_DIR/data" -l "$PG_TEMP_DIR/postgres.log" -w -t 30 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_TEMP_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >"$PG_TEMP_DIR/pg_ctl.log" 2>&1; then
            PG_TEMP_PORT=$port
            PG_TEMP_URL="postgres://postgres@127.0.0.1:$port/postgres"
            export PG_TEMP_PORT PG_TEMP_URL
            return 0
        fi
        if grep -qE 'Address already in use|could not bind' "$PG_TEMP_DIR/postgres.log" 2>/dev/null; then
            echo "pg-temp: port $port was taken meanwhile (attempt $attempt), retrying" >&2
            : >"$PG_TEMP_DIR/postgres.log"
            continue
        fi
        break
    done
    echo "pg-temp: the PostgreSQL server did not start:" >&2
    cat "$PG_TEMP_DIR/pg_ctl.log" >&2 || true
    tail -n 40 "$PG_TEMP_DIR/postgres.log" >&2 || true
    return 1
}

# Stops the cluster (fast shutdown) and deletes its directory. Safe to call more than once.
pg_temp_stop() {
    if [[ -z "${PG_TEMP_DIR:-}" ]]; then
        return 0
    fi
    if [[ -f "$PG_TEMP_DIR/data/postmaster.pid" ]]; then
        if ! pg_temp__as_pg "$PG_TEMP_BINDIR/pg_ctl" -D "$PG_TEMP_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
            local pid
            pid=$(head -n 1 "$PG_TEMP_DIR/data/postmaster.pid" 2>/dev/null || true)
            if [[ -n "$pid" ]] && kill -QUIT "$pid" 2>/dev/null; then
                local _
                for _ in $(seq 1 50); do
                    kill -0 "$pid" 2>/dev/null || break
                    sleep 0.2
                done
            fi
        fi
    fi
    rm -rf "$PG_TEMP_DIR" || true
    unset PG_TEMP_DIR PG_TEMP_URL PG_TEMP_PORT PG_TEMP_BINDIR
    return 0
}

# Creates database NAME on the running cluster and prints a URL to it.
pg_temp_createdb() {
    local name=${1:?usage: pg_temp_createdb NAME}
    if [[ -z "${PG_TEMP_URL:-}" ]]; then
        echo "pg_temp_createdb: no cluster running; call pg_temp_start first" >&2
        return 1
    fi
    if ! [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
        echo "pg_temp_createdb: '$name' is not a plain database name ([A-Za-z_][A-Za-z0-9_]*)" >&2
        return 1
    fi
    local psql=psql
    if [[ -x "$PG_TEMP_BINDIR/psql" ]]; then
        psql=$PG_TEMP_BINDIR/psql
    fi
    "$psql" "$PG_TEMP_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$name\"" >&2
    printf 'postgres://postgres@127.0.0.1:%s/%s\n' "$PG_TEMP_PORT" "$name"
}
