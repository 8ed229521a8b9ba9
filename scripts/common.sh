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
          librandom123-dev libeigen3-dev libboost-iostreams-dev libboost-filesystem-dev gnuplot-nox libopenmpi-dev
          openmpi-bin)
# What the Python twin of the notebook needs (scripts/bench, scripts/make_reference.py), run by /usr/bin/python3.
PYTHON_PACKAGES=(python3-torch python3-numpy python3-scipy)

log() { printf '==> %s\n' "$*" >&2; }

# --libtorch pypi (scripts/test, scripts/run): LibTorch 2.x from PyPI's torch wheel, in a virtual environment under
# .cache/ (reused), built in build-pypi/. The wheel is CUDA-enabled and pulls the nvidia-* CUDA wheels: about 5 GB.
# From 2.7 on the wheels use the C++11 ABI (older ones cannot link with Debian's CLI11, fmt and Boost).
PYPI_TORCH_VERSION=2.7.1
# NumPy and SciPy in the same venv, for the notebook's functions under torch 2.x (scripts/check_reference, scripts/bench
# --python pypi): the versions of Debian 12's python3-numpy and python3-scipy, which made data/reference.
PYPI_NUMPY_VERSION=1.24.2
PYPI_SCIPY_VERSION=1.10.1
PYPI_TORCH_VENV=$ROOT/.cache/pypi-torch

# Parses a leading `--libtorch debian|pypi` off the script's arguments; prints the remaining ones, NUL-separated.
# Usage: eval "$(libtorch_option "$@")" sets LIBTORCH and ARGS.
libtorch_option() {
    local libtorch=debian
    if [ "${1:-}" = --libtorch ]; then
        [ $# -ge 2 ] || { log "--libtorch needs debian or pypi"; echo 'exit 2'; return; }
        libtorch=$2
        shift 2
    elif [[ "${1:-}" == --libtorch=* ]]; then
        libtorch=${1#--libtorch=}
        shift
    fi
    case $libtorch in
        debian | pypi) ;;
        *) log "--libtorch $libtorch: not debian or pypi"; echo 'exit 2'; return ;;
    esac
    printf 'LIBTORCH=%q; ARGS=(' "$libtorch"
    [ $# -eq 0 ] || printf '%q ' "$@"
    printf ')\n'
}

# The venv with torch==PYPI_TORCH_VERSION, numpy==PYPI_NUMPY_VERSION and scipy==PYPI_SCIPY_VERSION (made or completed
# when one is missing); sets PYPI_PYTHON, its interpreter. When PyPI cannot be reached, says
# `SKIPPED: LibTorch 2.x (reason)` and exits 0; any other failure exits non-zero.
pypi_torch_venv() {
    local python=$PYPI_TORCH_VENV/bin/python have=''
    local want="$PYPI_TORCH_VERSION $PYPI_NUMPY_VERSION $PYPI_SCIPY_VERSION"
    [ -x "$python" ] && have=$("$python" -c 'import numpy, scipy, torch
print(torch.__version__.split("+")[0], numpy.__version__, scipy.__version__)' 2>/dev/null || true)
    if [ "$have" != "$want" ]; then
        if ! /usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
            install_missing_packages python3-venv
        fi
        [ -x "$python" ] || { log "making $PYPI_TORCH_VENV"; /usr/bin/python3 -m venv "$PYPI_TORCH_VENV"; }
        # One look at the index first (torch's page): unreachable is a skip, not a failure.
        local reason
        if ! reason=$("$python" - "$PYPI_TORCH_VERSION" 2>&1 <<'PY'
import os, subprocess, sys, urllib.request
index = os.environ.get("PIP_INDEX_URL") or subprocess.run(
    [sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True).stdout.strip()
index = (index or "https://pypi.org/simple").rstrip("/")
try:
    page = urllib.request.urlopen(f"{index}/torch/", timeout=30).read().decode()
except Exception as error:
    sys.exit(f"{index} cannot be reached: {error}")
if f"torch-{sys.argv[1]}-" not in page:
    print(f"{index}/torch/ lists no torch {sys.argv[1]}", file=sys.stderr)  # pip will say more
PY
        ); then
            echo "SKIPPED: LibTorch 2.x (PyPI: ${reason##*$'\n'})"
            exit 0
        fi
        log "installing torch==$PYPI_TORCH_VERSION numpy==$PYPI_NUMPY_VERSION scipy==$PYPI_SCIPY_VERSION from PyPI into" \
            "$PYPI_TORCH_VENV (about 5 GB with torch's CUDA wheels; only what is missing)"
        "$python" -m pip install --disable-pip-version-check -q "torch==$PYPI_TORCH_VERSION" \
            "numpy==$PYPI_NUMPY_VERSION" "scipy==$PYPI_SCIPY_VERSION" >&2
    fi
    PYPI_PYTHON=$python
}

# pypi_torch_venv, then CMAKE_PREFIX_PATH and BUILD_DIR for the wheel's LibTorch.
use_pypi_libtorch() {
    pypi_torch_venv
    local python=$PYPI_PYTHON torch_root
    torch_root=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)
    # share/cmake for TorchConfig.cmake; the torch folder itself so that its lib/ comes before the system's
    # (TorchConfig's find_library would otherwise pick Debian's libtorch.so where libtorch-dev is installed too).
    export CMAKE_PREFIX_PATH="$torch_root/share/cmake;$torch_root${CMAKE_PREFIX_PATH:+;$CMAKE_PREFIX_PATH}"
    BUILD_DIR=${LMSREF_BUILD_DIR:-$ROOT/build-pypi}
    log "LibTorch $("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null) from $torch_root"
}

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
    # CI: a warning is an error (cmake/warnings.cmake); elsewhere the setting in the build folder stays.
    [ -z "${CI:-}" ] || args+=(-DLMSREF_WARNINGS_AS_ERRORS=ON)
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
