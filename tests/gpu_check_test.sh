#!/usr/bin/env bash
# The CTest test "gpu_check: ...": tests/gpu_check_test.sh SOURCE_DIR BUILD_DIR. Runs scripts/gpu_check
# --allow-no-gpu on this build (--prebuilt, so nothing is configured or built again) with a scratch $OUT, and checks
# what the GPU visit depends on: exit 0; exactly gpu_check.txt, gpu_check.json and gpu_check_logs.tar.gz in $OUT;
# the archive holds every step's log and no .npy; the summary is the last lines of standard output; the JSON says
# no GPU, every step as expected, the CUDA steps no-gpu. Then a missing .deps: one line on standard error, exit 2,
# nothing in $OUT. Skipped (77) where there is a GPU: there gpu_check is the visit itself, not a check of the script.
set -euo pipefail
source_dir=$1 build_dir=$2
if command -v nvidia-smi >/dev/null 2>&1 && [ -n "$(nvidia-smi -L 2>/dev/null || true)" ]; then
    echo "skipped: this machine has a GPU (run scripts/gpu_check itself)"
    exit 77
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

mkdir "$scratch/out"
set +e
OUT=$scratch/out "$source_dir/scripts/gpu_check" --allow-no-gpu --prebuilt "$build_dir" --build-dir "$scratch/work" \
    --suite no --budget 200 >"$scratch/stdout" 2>"$scratch/stderr"
rc=$?
set -e
cat "$scratch/stdout"
[ "$rc" = 0 ] || { cat "$scratch/stderr"; fail "gpu_check --allow-no-gpu exited $rc"; }

files=$(cd "$scratch/out" && find . -mindepth 1 | sort | tr '\n' ' ')
[ "$files" = "./gpu_check.json ./gpu_check.txt ./gpu_check_logs.tar.gz " ] || fail "OUT holds: $files"

listing=$(tar -tzf "$scratch/out/gpu_check_logs.tar.gz")
! grep -q '\.npy$' <<<"$listing" || fail "the archive holds .npy files"
for log in steps.tsv torch.txt ctest_gpu.log compare_cuda.log ensemble_philox_cpu.log ensemble_numpy_cuda.log \
           bench_cuda_R1e6.log bench_cpu_R1e6.log ensemble_philox_cpu/summary.json; do
    grep -qx "gpu_check_logs/$log" <<<"$listing" || fail "the archive lacks gpu_check_logs/$log"
done
[ "$(stat -c %s "$scratch/out/gpu_check_logs.tar.gz")" -lt 1000000 ] || fail "the archive is over 1 MB"

lines=$(wc -l <"$scratch/out/gpu_check.txt")
[ "$lines" -ge 10 ] || fail "gpu_check.txt has $lines lines"
tail -n "$lines" "$scratch/stdout" | cmp -s - "$scratch/out/gpu_check.txt" ||
    fail "the last $lines lines of standard output are not gpu_check.txt"

python3 - "$scratch/out/gpu_check.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
status = {s["name"]: s["status"] for s in report["steps"]}
expected = {"deps": "skipped", "configure": "skipped", "build": "skipped", "ctest_gpu": "skipped",
            "compare_cuda": "no-gpu", "ensemble_philox_cpu": "passed", "ensemble_philox_cuda": "no-gpu",
            "ensemble_numpy_cpu": "passed", "ensemble_numpy_cuda": "no-gpu", "ensemble_stages_cuda": "no-gpu",
            "bench_cuda_R1e5": "no-gpu", "bench_cuda_R1e6": "no-gpu", "bench_cuda_R1e7": "no-gpu",
            "bench_cpu_R1e6": "passed", "bench_cuda_numpy_R1e6": "no-gpu", "bench_tensor_cuda_R1e5": "no-gpu",
            "ctest_suite": "skipped"}
for tool in ("memcheck", "racecheck"):
    for rng in ("philox", "numpy"):
        expected[f"sanitize_{tool}_{rng}"] = ("skipped", "no-gpu")
problems = [f"{name}: {status.get(name)} (expected {want})" for name, want in expected.items()
            if status.get(name) not in (want if isinstance(want, tuple) else (want,))]
problems += [f"unexpected step {name}" for name in status if name not in expected]
if report["no_gpu"] is not True or report["ok"] is not True or report["failed"]:
    problems.append(f"no_gpu {report['no_gpu']}, ok {report['ok']}, failed {report['failed']}")
if problems:
    sys.exit("FAILED: gpu_check.json: " + "; ".join(problems))
print(f"gpu_check.json: {len(status)} steps as expected")
PY

# No .deps: one line, exit 2, before anything else (nothing in OUT).
mkdir "$scratch/out2" "$scratch/empty"
set +e
OUT=$scratch/out2 "$source_dir/scripts/gpu_check" --allow-no-gpu --deps "$scratch/empty" \
    --build-dir "$scratch/work2" >"$scratch/stdout2" 2>"$scratch/stderr2"
rc=$?
set -e
[ "$rc" = 2 ] || fail "without .deps: exit $rc, not 2"
[ "$(wc -l <"$scratch/stderr2")" = 1 ] && [ ! -s "$scratch/stdout2" ] || fail "without .deps: not one line"
grep -q -- '--fetch-deps' "$scratch/stderr2" || fail "without .deps: $(cat "$scratch/stderr2")"
[ -z "$(ls -A "$scratch/out2")" ] && [ ! -e "$scratch/work2" ] || fail "without .deps: it wrote files"
echo "without .deps: $(cat "$scratch/stderr2")"
echo "gpu_check --allow-no-gpu: OUT holds exactly $files"
