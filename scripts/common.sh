# Shared by scripts/run and scripts/test: install what is missing, configure, build. Sourced, not run.
#
# Environment:
#   LMSREF_BUILD_DIR   the build folder (default: build/ in the checkout)
#   LMSREF_NO_APT=1    never call apt-get (a machine whose dependencies come from elsewhere, e.g. a pip torch)
#   CMAKE_PREFIX_PATH, Torch_DIR   another LibTorch (with CUDA, say) and other dependencies; when set and the
#                      project configures with them, apt-get is not called either
#   CMAKE_BUILD_TYPE   default Release
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${LMSREF_BUILD_DIR:-$ROOT/build}
# What building, testing and plotting need, as Debian 12 packages.
PACKAGES=(g++ cmake ninja-build libtorch-dev libcli11-dev libfmt-dev catch2 nlohmann-json3-dev libgnuplot-iostream-dev
          librandom123-dev libboost-iostreams-dev libboost-filesystem-dev gnuplot-nox)
# What the Python twin of the notebook needs (scripts/bench, scripts/make_reference.py), run by /usr/bin/python3.
PYTHON_PACKAGES=(python3-torch python3-numpy python3-scipy)

log() { printf '==> %s\n' "$*" >&2; }

# The Debian packages (default: PACKAGES) that are not installed.
missing_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    local package wanted=("$@")
    [ $# -gt 0 ] || wanted=("${PACKAGES[@]}")
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' || echo "$package"
    done
}

configure() {
    local args=(-S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}")
    [ -f "$BUILD_DIR/CMakeCache.txt" ] || ! command -v ninja >/dev/null 2>&1 || args+=(-G Ninja)
    [ -z "${CMAKE_PREFIX_PATH:-}" ] || args+=(-DCMAKE_PREFIX_PATH="$CMAKE_PREFIX_PATH")
    [ -z "${Torch_DIR:-}" ] || args+=(-DTorch_DIR="$Torch_DIR")
    cmake "${args[@]}" "$@"
}

install_missing_packages() {
    local missing
    missing=$(missing_packages "$@" | tr '\n' ' ')
    if [ -z "${missing// /}" ]; then return 0; fi
    if [ "${LMSREF_NO_APT:-0}" = 1 ]; then
        log "LMSREF_NO_APT=1: not installing $missing"
        return 0
    fi
    if [ -n "${CMAKE_PREFIX_PATH:-}${Torch_DIR:-}" ] && configure >/dev/null 2>&1; then
        log "dependencies found through CMAKE_PREFIX_PATH/Torch_DIR; not installing $missing"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { log "missing packages: $missing; run as root or install sudo"; exit 1; }
        sudo=(sudo)
    fi
    log "installing $missing"
    "${sudo[@]}" apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

build() {
    install_missing_packages
    log "configuring in $BUILD_DIR"
    configure >/dev/null
    log "building"
    cmake --build "$BUILD_DIR" -j "$(nproc)" >&2
}
