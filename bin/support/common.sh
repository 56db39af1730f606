# shellcheck shell=bash
# Shared by the classic (bin/compile) and Cloud Native (bin/build) halves of the prisma-release
# buildpack: Heroku-style output, reading settings, and installing the prisma-release binary.
#
# Where the binary comes from, in order:
#   1. PRISMA_RELEASE_BINARY: a path (absolute, or relative to the app) or an http(s):// / file:// URL
#      of a prebuilt Linux binary, or of a release tarball (*.tar.gz holding `prisma-release`);
#      `{arch}` in it becomes `uname -m` (x86_64, aarch64). A URL needs PRISMA_RELEASE_BINARY_SHA256
#      (optional for a path).
#   2. The npm package: when the app has node_modules/.bin/prisma-release (the `prisma-release` npm
#      package, installed by the Node.js buildpack that ran before), the platform package's static
#      binary is linked, not downloaded again.
#   3. The release binary from the inventory (inventory.toml in this buildpack: version, target,
#      sha256, url), for PRISMA_RELEASE_VERSION (config var), else the app's .prisma-release-version
#      file, else this buildpack's own version. It is downloaded once, checked against the
#      inventory's sha256, and cached by version and target (re-checked on every build).
#   4. When the inventory has no entry for the version and cargo exists, this repository (the
#      buildpack's own directory) is compiled with `cargo build --release --locked`. The binary and
#      cargo's target dir are cached, so a rebuild with unchanged sources copies the cached binary
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
# Puts an executable prisma-release into BIN_DIR (see the top of this file for where it comes from).
# Sets PRISMA_RELEASE_CACHED=true when something was left in CACHE_ROOT for the next build.
install_prisma_release() {
    local bin_dir=$1 cache_root=$2 app_dir=$3 bp_dir=$4
    local origin version
    PRISMA_RELEASE_CACHED=false
    origin=$(setting PRISMA_RELEASE_BINARY)
    mkdir -p "$bin_dir" "$cache_root"
    rm -f "$bin_dir/prisma-release"
    if [[ -n "$origin" ]]; then
        install_prebuilt "$origin" "$bin_dir/prisma-release" "$app_dir"
    elif [[ -e "$app_dir/node_modules/.bin/prisma-release" ]]; then
        link_npm_binary "$bin_dir" "$app_dir"
    else
        version=$(chosen_version "$app_dir" "$bp_dir")
        install_release "$bp_dir" "$version" "$cache_root" "$bin_dir/prisma-release"
    fi
    check_runs "$bin_dir/prisma-release"
}

# check_runs BINARY: runs `BINARY --version` and says what was installed, or fails the build.
check_runs() {
    local binary=$1 version
    if ! version=$("$binary" --version 2>&1); then
        fail "The installed prisma-release does not run on this stack ($(uname -m)):" \
            "  $version" \
            "Release binaries are static Linux builds for x86_64 and aarch64; a binary of your own must" \
            "be built for this CPU, and a dynamically linked one on the oldest stack you deploy to."
    fi
    info "Installed $version"
}

# Prints the Rust target of the release binary for this machine.
release_target() {
    case "$(uname -m)" in
        x86_64 | amd64) echo x86_64-unknown-linux-musl ;;
        aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
        *) fail "There is no prisma-release release binary for $(uname -m) (only x86_64 and aarch64)." \
            "Set PRISMA_RELEASE_BINARY to a binary built for this CPU." ;;
    esac
}

# Prints the version to install: PRISMA_RELEASE_VERSION, else APP_DIR/.prisma-release-version, else
# the buildpack's own version (buildpack.toml).
chosen_version() {
    local app_dir=$1 bp_dir=$2 version
    version=$(setting PRISMA_RELEASE_VERSION)
    if [[ -z "$version" && -f "$app_dir/.prisma-release-version" ]]; then
        version=$(tr -d ' \t\r\n' <"$app_dir/.prisma-release-version")
    fi
    if [[ -z "$version" ]]; then
        version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$bp_dir/buildpack.toml" | head -n 1)
    fi
    version=${version#v}
    [[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] ||
        fail "prisma-release version '$version' is not a version (PRISMA_RELEASE_VERSION or .prisma-release-version)."
    printf '%s\n' "$version"
}

# inventory_entry INVENTORY VERSION TARGET: prints "SHA256 URL" of the matching [[artifacts]] entry.
inventory_entry() {
    local inventory=$1 want_version=$2 want_target=$3 line key value
    local version="" target="" sha256="" url=""
    [[ -f "$inventory" ]] || return 0
    while IFS= read -r line || [[ -n "$line" ]]; do
        if [[ "$line" == "[[artifacts]]"* ]]; then
            print_if_match
            version="" target="" sha256="" url=""
        elif [[ "$line" =~ ^([a-z0-9]+)[[:space:]]*=[[:space:]]*\"([^\"]*)\" ]]; then
            key=${BASH_REMATCH[1]}
            value=${BASH_REMATCH[2]}
            case "$key" in
                version) version=$value ;;
                target) target=$value ;;
                sha256) sha256=$value ;;
                url) url=$value ;;
            esac
        fi
    done <"$inventory"
    print_if_match
}

# Helper of inventory_entry (reads its locals).
print_if_match() {
    if [[ "$version" == "$want_version" && "$target" == "$want_target" && -n "$sha256" && -n "$url" ]]; then
        printf '%s %s\n' "$sha256" "$url"
    fi
}

# Prints the versions the inventory holds for TARGET, comma-separated.
inventory_versions() {
    local inventory=$1 target=$2
    [[ -f "$inventory" ]] || return 0
    sed -n 's/^version = "\(.*\)"$/\1/p' "$inventory" | sort -uV | tr '\n' ' ' | sed 's/ $//; s/ /, /g'
}

# install_release BP_DIR VERSION CACHE_ROOT DEST: the inventory's release binary (cached, verified),
# else a compile from source when cargo exists.
install_release() {
    local bp_dir=$1 version=$2 cache_root=$3 dest=$4
    local target entry sha256 url
    target=$(release_target)
    entry=$(inventory_entry "$bp_dir/inventory.toml" "$version" "$target")
    if [[ -z "$entry" ]]; then
        local own
        own=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$bp_dir/buildpack.toml" | head -n 1)
        if [[ "$version" == "$own" && -n "$(find_cargo)" ]]; then
            info "No release binary of prisma-release $version for $target in the buildpack's inventory: compiling it"
            compile_from_source "$bp_dir" "$cache_root" "$dest"
            # shellcheck disable=SC2034 # read by bin/build
            PRISMA_RELEASE_CACHED=true
            return 0
        fi
        local known
        known=$(inventory_versions "$bp_dir/inventory.toml" "$target")
        fail "The buildpack's inventory has no release binary of prisma-release $version for $target" \
            "(it has: ${known:-none}). Do one of these, then build again:" \
            "  * choose a listed version: heroku config:set PRISMA_RELEASE_VERSION=<version>" \
            "    (or write it to .prisma-release-version in the app);" \
            "  * install the npm package in the app's dependencies (npm install --save prisma-release)" \
            "    and put this buildpack after heroku/nodejs: node_modules/.bin/prisma-release is then used;" \
            "  * set PRISMA_RELEASE_BINARY to a prebuilt Linux binary or release tarball (a path in the app," \
            "    or an https:// URL with PRISMA_RELEASE_BINARY_SHA256), e.g." \
            "      heroku config:set PRISMA_RELEASE_BINARY=https://example.com/prisma-release-{arch} PRISMA_RELEASE_BINARY_SHA256=<sha256>" \
            "  * or make cargo (Rust >= 1.80) available to this build: this buildpack is then compiled from source."
    fi
    read -r sha256 url <<<"$entry"
    local cached="$cache_root/releases/$version-$target/prisma-release.tar.gz"
    if [[ -f "$cached" && "$(sha256_of "$cached")" == "$sha256" ]]; then
        info "Using prisma-release $version ($target) from the build cache (SHA-256 verified)"
    else
        [[ -f "$cached" ]] && warn "The cached download of prisma-release $version does not match its checksum: downloading it again."
        info "Downloading prisma-release $version ($target)"
        mkdir -p "$(dirname "$cached")"
        download "$url" "$cached.download" "the inventory entry for $version ($target)"
        verify_sha256 "$cached.download" "$sha256" "the inventory's SHA-256 for $version ($target)"
        mv -f "$cached.download" "$cached"
        info "SHA-256 verified"
    fi
    # shellcheck disable=SC2034 # read by bin/build
    PRISMA_RELEASE_CACHED=true
    extract_binary "$cached" "$dest"
}

# link_npm_binary BIN_DIR APP_DIR: links the static binary of the app's npm package (no Node.js
# launcher at run time); relative inside the app (the slug moves to /app), absolute otherwise.
link_npm_binary() {
    local bin_dir=$1 app_dir=$2 suffix rel target
    case "$(uname -m)" in
        x86_64 | amd64) suffix=linux-x64 ;;
        aarch64 | arm64) suffix=linux-arm64 ;;
        *) suffix=unsupported ;;
    esac
    rel="node_modules/@prisma-release/$suffix/bin/prisma-release"
    if [[ ! -x "$app_dir/$rel" ]]; then
        fail "The app has node_modules/.bin/prisma-release, but not $rel" \
            "(the binary for this platform, an optional dependency of the prisma-release package)." \
            "It is left out when optional dependencies are omitted (npm --omit=optional, NPM_CONFIG_OMIT)" \
            "or when package-lock.json was written on another OS by an npm that recorded only that" \
            "platform's package: delete node_modules and package-lock.json, npm install, commit the lockfile;" \
            "or add it to dependencies: npm install --save-exact @prisma-release/$suffix@<same version as prisma-release>."
    fi
    if [[ -n "$(setting PRISMA_RELEASE_VERSION)" ]]; then
        warn "PRISMA_RELEASE_VERSION is ignored: the app's npm package decides the version."
    fi
    info "Using the prisma-release npm package installed in the app ($rel)"
    if [[ "$bin_dir" == "$app_dir"/* ]]; then
        local inside=${bin_dir#"$app_dir"/} up=""
        local -a parts
        IFS=/ read -ra parts <<<"$inside"
        for _ in "${parts[@]}"; do
            up+="../"
        done
        target="$up$rel"
    else
        target="$app_dir/$rel"
    fi
    ln -sfn "$target" "$bin_dir/prisma-release"
}

# download URL DEST WHAT: fetches URL (http(s):// or file://) into DEST, or fails the build.
download() {
    local url=$1 dest=$2 what=$3
    # For messages: no query string (signed URLs) and no user:password@.
    local shown=${url%%\?*}
    shown=${shown/\/\/*@/\/\/}
    rm -f "$dest"
    if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --retry 3 --connect-timeout 10 \
            --output "$dest" "$url" 2>&1 | indent || true
    elif command -v wget >/dev/null 2>&1; then
        wget --quiet --tries=3 --output-document="$dest" "$url" 2>&1 | indent || true
    else
        fail "Neither curl nor wget is available to download prisma-release ($shown)."
    fi
    if [[ ! -s "$dest" ]]; then
        rm -f "$dest"
        fail "Could not download prisma-release from $shown ($what)." \
            "Check that the build can reach that address; or install prisma-release with npm, or set" \
            "PRISMA_RELEASE_BINARY to a binary in the app."
    fi
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# verify_sha256 FILE EXPECTED WHAT: deletes FILE and fails the build when its SHA-256 differs.
verify_sha256() {
    local file=$1 expected=$2 what=$3 actual
    actual=$(sha256_of "$file")
    if [[ "$actual" != "${expected,,}" ]]; then
        rm -f "$file"
        fail "The prisma-release file has SHA-256 $actual," \
            "but $what is $expected: refusing to install it." \
            "The download was corrupted or is not the published file; build again, and report it if it persists."
    fi
}

# extract_binary FILE DEST: DEST becomes the binary itself, or the `prisma-release` in a .tar.gz.
extract_binary() {
    local file=$1 dest=$2
    if [[ "$(head -c 2 "$file" | od -An -tx1 | tr -d ' ')" == "1f8b" ]]; then
        local dir
        dir=$(mktemp -d)
        if ! tar -xzf "$file" -C "$dir" prisma-release 2>/dev/null; then
            rm -rf "$dir"
            fail "The release tarball $(basename "$file") holds no prisma-release file."
        fi
        mv -f "$dir/prisma-release" "$dest.tmp"
        rm -rf "$dir"
    else
        cp "$file" "$dest.tmp"
    fi
    chmod 0755 "$dest.tmp"
    mv -f "$dest.tmp" "$dest"
}

# install_prebuilt ORIGIN DEST APP_DIR: the binary or tarball named by PRISMA_RELEASE_BINARY.
install_prebuilt() {
    local origin=$1 dest=$2 app_dir=$3
    local arch tmp expected
    arch=$(uname -m)
    origin=${origin//\{arch\}/$arch}
    tmp="$dest.download"
    expected=$(setting PRISMA_RELEASE_BINARY_SHA256)
    local shown=${origin%%\?*}
    shown=${shown/\/\/*@/\/\/}
    case "$origin" in
        http://* | https://* | file://*)
            [[ -n "$expected" ]] ||
                fail "PRISMA_RELEASE_BINARY is a URL ($shown), so PRISMA_RELEASE_BINARY_SHA256 must be set too:" \
                    "  heroku config:set PRISMA_RELEASE_BINARY_SHA256=\$(sha256sum <the file> | cut -d' ' -f1)" \
                    "A download is only installed when its checksum is known."
            info "Downloading the prebuilt binary from PRISMA_RELEASE_BINARY ($shown)"
            download "$origin" "$tmp" "PRISMA_RELEASE_BINARY"
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
    if [[ -n "$expected" ]]; then
        verify_sha256 "$tmp" "$expected" "PRISMA_RELEASE_BINARY_SHA256"
        info "SHA-256 verified"
    fi
    extract_binary "$tmp" "$dest"
    rm -f "$tmp"
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
