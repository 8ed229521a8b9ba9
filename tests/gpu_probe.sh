#!/usr/bin/env bash
# The CTest gpu tests' probe: tests/gpu_probe.sh PROBE LMSREF TESTS SPEC. PROBE says what the tests need:
#   kernel    the ensemble's CUDA kernel (`ensemble --rng philox --device cuda`), not LibTorch's CUDA;
#   libtorch  LibTorch's CUDA (`ensemble --stage tensor --device cuda`), not the kernel.
# Each probes what it needs alone, so that a broken LibTorch CUDA does not hide the kernel's tests, nor the reverse.
# When the probe fails, prints `skipped: ` and its output (lmsref's one-line reason) and exits 77 (CTest's
# SKIP_RETURN_CODE); else runs the Catch2 tests SPEC of TESTS.
set -u
probe=$1 lmsref=$2 tests=$3 spec=$4
case $probe in
    kernel) command=(ensemble --rng philox --device cuda -R 1 -N 1 --progress never) ;;
    libtorch) command=(ensemble --stage tensor --device cuda -R 1 -N 1 --progress never) ;;
    *) echo "gpu_probe.sh: unknown probe $probe" >&2; exit 2 ;;
esac
if ! output=$("$lmsref" "${command[@]}" 2>&1); then
    echo "skipped: no ${probe/libtorch/LibTorch CUDA}: lmsref ${command[*]}: $(printf '%s\n' "$output" | tail -n 1)"
    exit 77
fi
exec "$tests" "$spec" -w NoTests
