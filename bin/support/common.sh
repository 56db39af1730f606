# shellcheck shell=bash
# Shared by the classic (bin/compile) and Cloud Native (bin/build) halves of the prisma-release
# buildpack: Heroku-style output, reading settings, and installing the prisma-release binary.
#
# Where the binary comes from, in order:
#   1. PRISMA_RELEASE_BINARY: a path (absolute, or relative to the app) or an http(s):// / file:// URL
#      of a prebuilt Linux binary; `{arch}` in it becomes `uname -m` (x86_64, aarch64). Optional
#      PRISMA_RELEASE_BINARY_SHA256 pins its checksum.
#   2. Otherwise this repository (the buildpack's own directory) is compiled with
#      `cargo build --release --locked`. The binary and cargo's target dir are cached (classic:
#      CACHE_DIR; CNB: a cache layer), so a rebuild with unchanged sources copies the cached binary
#      and a rebuild after a source change recompiles only this crate. CARGO_HOME defaults to the
#      cache too, unless the environment sets it (e.g. a Rust buildpack that ran before, or a CI
#      machine whose registry already holds every crate: with CARGO_NET_OFFLINE=true nothing is
#      downloaded).
# Settings are read from the environment, else from the app's config: ENV_DIR files (classic) or
# $CNB_PLATFORM_DIR/env (CNB).

# ---- output (https://devcenter.heroku.com/articles/buildpack-api#style)

step() {
    printf -- '-----> %s\n' "$*"
}

info() {
    printf '       %s\n' "$*"
}

indent() {
    sed -u 's/^/       /'
}

warn() {
    local line
    for line in "$@"; do
        printf ' !     %s\n' "$line" >&2
    done
}

# Prints every argument as an error line on stderr and exits 1.
fail() {
    warn "$@"
    exit 1
}

# ---- settings

# Prints setting NAME: the environment variable, else the app's config var (ENV_DIR file for
# classic builds, $CNB_PLATFORM_DIR/env/NAME for CNB). Prints nothing when unset.
setting() {
    local name=$1
    if [[ -n "${!name:-}" ]]; then
        printf '%s' "${!name}"
    elif [[ -n "${PRISMA_RELEASE_ENV_DIR:-}" && -f "$PRISMA_RELEASE_ENV_DIR/$name" ]]; then
        cat "$PRISMA_RELEASE_ENV_DIR/$name"
    elif [[ -n "${CNB_PLATFORM_DIR:-}" && -f "$CNB_PLATFORM_DIR/env/$name" ]]; then
        cat "$CNB_PLATFORM_DIR/env/$name"
    fi
}

# True when DIR looks like a Prisma app: prisma/migrations, prisma/schema.prisma or a multi-file
# prisma/schema folder.
is_prisma_app() {
    local dir=$1
    [[ -d "$dir/prisma/migrations" || -f "$dir/prisma/schema.prisma" || -d "$dir/prisma/schema" ]]
}

# ---- installing the binary

# install_prisma_release BIN_DIR CACHE_ROOT APP_DIR BP_DIR
# Puts an executable prisma-release into BIN_DIR, from PRISMA_RELEASE_BINARY or by compiling BP_DIR.
install_prisma_release() {
    local bin_dir=$1 cache_root=$2 app_dir=$3 bp_dir=$4
    local origin
    origin=$(setting PRISMA_RELEASE_BINARY)
    mkdir -p "$bin_dir" "$cache_root"
    if [[ -n "$origin" ]]; then
        install_prebuilt "$origin" "$bin_dir/prisma-release" "$app_dir"
    else
        compile_from_source "$bp_dir" "$cache_root" "$bin_dir/prisma-release"
    fi
    local version
    if ! version=$("$bin_dir/prisma-release" --version 2>&1); then
        fail "The installed prisma-release does not run on this stack ($(uname -m)):" \
            "  $version" \
            "A prebuilt binary must be a Linux $(uname -m) build whose glibc and OpenSSL (libssl3) are" \
            "not newer than this stack's: build it on the oldest stack you deploy to (e.g. heroku/heroku:22-build)."
    fi
    info "Installed $version"
}

# install_prebuilt ORIGIN DEST APP_DIR: copies or downloads the binary named by PRISMA_RELEASE_BINARY.
install_prebuilt() {
    local origin=$1 dest=$2 app_dir=$3
    local arch tmp
    arch=$(uname -m)
    origin=${origin//\{arch\}/$arch}
    tmp="$dest.download"
    rm -f "$tmp"
    # For messages: no query string (signed URLs) and no user:password@.
    local shown=${origin%%\?*}
    shown=${shown/\/\/*@/\/\/}
    case "$origin" in
        http://* | https://* | file://*)
            info "Downloading the prebuilt binary from PRISMA_RELEASE_BINARY ($shown)"
            if command -v curl >/dev/null 2>&1; then
                curl --fail --silent --show-error --location --retry 3 --connect-timeout 10 \
                    --output "$tmp" "$origin" 2>&1 | indent || true
            elif command -v wget >/dev/null 2>&1; then
                wget --quiet --tries=3 --output-document="$tmp" "$origin" 2>&1 | indent || true
            else
                fail "PRISMA_RELEASE_BINARY is a URL, but neither curl nor wget is available to download it."
            fi
            [[ -s "$tmp" ]] || {
                rm -f "$tmp"
                fail "Could not download PRISMA_RELEASE_BINARY ($shown)." \
                    "Check the URL (it must name a Linux $arch binary), or unset PRISMA_RELEASE_BINARY" \
                    "to compile prisma-release from source instead."
            }
            ;;
        *)
            local path=$origin
            [[ "$path" == /* ]] || path="$app_dir/$path"
            [[ -f "$path" ]] || fail "PRISMA_RELEASE_BINARY names $origin, but there is no such file" \
                "(relative paths are relative to the app's root directory)."
            info "Using the prebuilt binary from PRISMA_RELEASE_BINARY ($origin)"
            cp "$path" "$tmp"
            ;;
    esac
    local expected actual
    expected=$(setting PRISMA_RELEASE_BINARY_SHA256)
    if [[ -n "$expected" ]]; then
        actual=$(sha256sum "$tmp" | cut -d' ' -f1)
        if [[ "$actual" != "${expected,,}" ]]; then
            rm -f "$tmp"
            fail "The binary from PRISMA_RELEASE_BINARY has SHA-256 $actual," \
                "but PRISMA_RELEASE_BINARY_SHA256 expects $expected."
        fi
        info "SHA-256 verified"
    fi
    chmod 0755 "$tmp"
    mv -f "$tmp" "$dest"
}

# Prints the path of cargo, or nothing.
find_cargo() {
    local candidate
    for candidate in "$(command -v cargo 2>/dev/null || true)" \
        "${CARGO_HOME:+$CARGO_HOME/bin/cargo}" "${HOME:+$HOME/.cargo/bin/cargo}"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
}

# Prints a hash of everything that determines the compiled binary: the toolchain, the target, the
# build settings in the environment, and the sources.
source_key() {
    local bp_dir=$1 cargo=$2
    {
        "$cargo" --version
        rustc_of "$cargo" -vV
        uname -m
        env | grep -E '^(RUSTFLAGS|CARGO_ENCODED_RUSTFLAGS|CARGO_PROFILE_[A-Z_]+|CARGO_BUILD_[A-Z_]+)=' | sort || true
        (cd "$bp_dir" && find Cargo.toml Cargo.lock src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -d' ' -f1
}

# Runs the rustc that goes with CARGO (next to it, else on PATH).
rustc_of() {
    local cargo=$1
    shift
    local rustc
    rustc="$(dirname "$cargo")/rustc"
    [[ -x "$rustc" ]] || rustc=rustc
    "$rustc" "$@"
}

# compile_from_source BP_DIR CACHE_ROOT DEST
compile_from_source() {
    local bp_dir=$1 cache_root=$2 dest=$3
    local cargo
    cargo=$(find_cargo)
    if [[ -z "$cargo" ]]; then
        fail "prisma-release: no prebuilt binary was given, and cargo is not available to compile one." \
            "Do one of these, then build again:" \
            "  * set PRISMA_RELEASE_BINARY to a prebuilt Linux binary: an https:// URL, or a path in the" \
            "    app (\`{arch}\` in it becomes x86_64 or aarch64), e.g." \
            "      heroku config:set PRISMA_RELEASE_BINARY=https://example.com/prisma-release-0.1.0-{arch}-linux" \
            "    (optionally PRISMA_RELEASE_BINARY_SHA256=<sha256 of the file>);" \
            "  * or make cargo (Rust >= 1.80) available to this build: on PATH, in \$CARGO_HOME/bin or in" \
            "    \$HOME/.cargo/bin (a build image with Rust, or an earlier buildpack that installs it);" \
            "    this repository is then compiled with \`cargo build --release --locked\` and cached."
    fi
    [[ -f "$bp_dir/Cargo.toml" && -f "$bp_dir/Cargo.lock" ]] ||
        fail "The buildpack directory $bp_dir holds no Cargo.toml/Cargo.lock to compile prisma-release from." \
            "Set PRISMA_RELEASE_BINARY to a prebuilt binary instead."

    local key cached="$cache_root/bin/prisma-release" key_file="$cache_root/bin/key"
    key=$(source_key "$bp_dir" "$cargo")
    if [[ -x "$cached" && -f "$key_file" && "$(cat "$key_file")" == "$key" ]]; then
        info "Reusing prisma-release compiled by an earlier build (same sources and toolchain)"
        cp "$cached" "$dest.tmp"
        mv -f "$dest.tmp" "$dest"
        return 0
    fi

    # rustc (and, without rustup, the rest of the toolchain) sits next to cargo.
    PATH="$(dirname "$cargo"):$PATH"
    info "Compiling prisma-release with $("$cargo" --version) (cargo build --release --locked)"
    local started=$SECONDS
    export CARGO_TARGET_DIR="$cache_root/target"
    export CARGO_HOME="${CARGO_HOME:-$cache_root/cargo-home}"
    export CARGO_TERM_COLOR=never
    if ! (cd "$bp_dir" && "$cargo" build --release --locked --bin prisma-release 2>&1) | indent; then
        fail "cargo build --release --locked failed (output above)." \
            "If the build machine has no network and CARGO_HOME lacks the crates, set CARGO_HOME to a" \
            "populated registry, or set PRISMA_RELEASE_BINARY to a prebuilt binary."
    fi
    info "Compiled in $((SECONDS - started))s"
    mkdir -p "$cache_root/bin"
    cp "$CARGO_TARGET_DIR/release/prisma-release" "$cached.tmp"
    mv -f "$cached.tmp" "$cached"
    printf '%s\n' "$key" >"$key_file"
    cp "$cached" "$dest.tmp"
    mv -f "$dest.tmp" "$dest"
}
