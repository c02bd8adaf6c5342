# Shared by scripts/demo and scripts/test: install what is missing (Debian packages through
# apt-get, as root or with sudo), and configure a meson build directory once.

# ensure_packages pkg...: apt-get installs the packages that are not installed yet.
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# setup_build dir [meson options...]: configures `dir` unless it already is a build dir
# (then it is reconfigured only if the options changed, which meson works out itself).
setup_build() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

# Packages the native build and its tests need.
NATIVE_PACKAGES=(g++ clang meson ninja-build pkg-config python3 ccache libuv1-dev libfmt-dev catch2 nlohmann-json3-dev zlib1g-dev libcurl4-openssl-dev python3-aiohttp openssl)

export CCACHE_DIR="${CCACHE_DIR:-$PWD/build/ccache}"
