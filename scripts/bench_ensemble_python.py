#!/usr/bin/python3
"""The NumPy twin of `lmsref ensemble`: the Monte Carlo ensemble as a NumPy user writes it, timed on one thread.

    /usr/bin/python3 scripts/bench_ensemble_python.py [--seed S] [-N N] [-M M] [--eta E] [--sigmav2 V]
                                                      [--wo a,b,c] [-R R] [--rng numpy|philox] [--repeats K]
                                                      [--json FILE] [--save-dir DIR]

--rng numpy (the default; the peer of `lmsref ensemble --rng numpy`): realization r = 0 ... R - 1 uses the
notebook's data of seed S + r (np.random.seed(S + r); x = randn(N, 1); d = lfilter(wo, 1, x) + sqrt(sigmav2)
randn(N)), stacked into N x R arrays: the same numbers as lmsref's, bit for bit.

--rng philox (the peer of `lmsref ensemble --rng philox`): the data as a NumPy user makes them with the Philox bit
generator, one generator for the whole ensemble and every step vectorized: g = Generator(Philox(S));
X = g.standard_normal((N, R)); V = g.standard_normal((N, R)); D = lfilter(wo, 1, X, axis=0) + sqrt(sigmav2) V.
These are NOT lmsref's philox numbers: lmsref makes sample n of realization r from one Philox4x32-10 call with
counter (n, r) and key S, Box-Muller on its words; NumPy's Philox is Philox4x64-10 keyed through SeedSequence(S),
drawn in sequence, and standard_normal is its ziggurat. The same distribution, different numbers: a peer for
speed, not for the bits, whose curves agree with lmsref's only to within sampling noise.

Then the LMS runs as one vectorized step per sample over all realizations (regressors X and weights W are M x R:
e = d[i] - sum(W * X, 0), W += eta e X), accumulating mse[n] = mean_r e_r(n)^2, msd[n] = mean_r ||w_r(n) - wo_M||^2
(wo cut or zero-padded to M taps) and meanw[n] = mean_r w_r(n), as lmsref's ensemble does.

Each of the K repeats times the data generation and the LMS loop separately; the report gives the minimum and the
median over the repeats, in seconds and in ns per realization-sample (1e9 seconds / (R N)), as JSON (to FILE, or
to stdout), with "rng" naming the data's generator. --save-dir writes the curves of the last repeat as mse.npy
(N,), msd.npy (N+1,) and meanw.npy (N+1, M), the shapes of data/reference/ensemble/ (lmsref's own mse and msd files
are N x 1 columns; those references are --rng numpy's).
NumPy is held to one thread (OMP_NUM_THREADS and its kin are set before it is imported). Any interpreter with NumPy
and SciPy runs it (scripts/bench --ensemble --python pypi: the venv's NumPy wheel, with its own OpenBLAS).
"""
import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy starts its BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402


def generate(seed, N, R, wo, sigmav2):
    """x and d of realizations 0 ... R - 1 as N x R arrays: column r holds the notebook's data of seed + r."""
    X = np.empty((N, R))
    D = np.empty((N, R))
    b = np.array(wo)
    for r in range(R):
        np.random.seed(seed + r)
        x = np.random.randn(N, 1)
        d = signal.lfilter(b, 1, x.squeeze()) + np.sqrt(sigmav2) * np.random.randn(N)
        X[:, r] = x[:, 0]
        D[:, r] = d
    return X, D


def generate_philox(seed, N, R, wo, sigmav2):
    """x and d of realizations 0 ... R - 1 as N x R arrays, from one Philox generator, every step vectorized."""
    g = np.random.Generator(np.random.Philox(seed))
    X = g.standard_normal((N, R))
    V = g.standard_normal((N, R))
    D = signal.lfilter(np.array(wo), 1, X, axis=0) + np.sqrt(sigmav2) * V
    return X, D


def lms_ensemble(X, D, eta, M, wo):
    """The LMS on every column of X and D at once; returns mse (N,), msd (N+1,) and meanw (N+1, M)."""
    N, R = X.shape
    wo_M = np.zeros((M, 1))
    wo_M[: min(M, len(wo)), 0] = wo[:M]
    W = np.zeros((M, R))
    XM = np.zeros((M, R))  # the regressors, newest sample first, zeros before the start
    mse = np.empty(N)
    msd = np.empty(N + 1)
    meanw = np.empty((N + 1, M))
    msd[0] = np.mean(np.sum((W - wo_M) ** 2, axis=0))
    meanw[0] = np.mean(W, axis=1)
    for i in range(N):
        XM[1:] = XM[:-1]
        XM[0] = X[i]
        e = D[i] - np.sum(W * XM, axis=0)
        W += eta * e * XM
        mse[i] = np.mean(e**2)
        msd[i + 1] = np.mean(np.sum((W - wo_M) ** 2, axis=0))
        meanw[i + 1] = np.mean(W, axis=1)
    return mse, msd, meanw


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-N", "--samples", type=int, default=500)
    parser.add_argument("-M", "--taps", type=int, default=3)
    parser.add_argument("--eta", type=float, default=0.1)
    parser.add_argument("--sigmav2", type=float, default=0.01)
    parser.add_argument("--wo", default="0.1,0.2,0.3")
    parser.add_argument("-R", "--realizations", type=int, default=10000)
    parser.add_argument("--rng", choices=("numpy", "philox"), default="numpy",
                        help="numpy: np.random.seed(S + r) per realization (lmsref's bits); philox: one "
                             "Generator(Philox(S)) for the whole ensemble (a speed peer, not the same numbers)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json")
    parser.add_argument("--save-dir")
    args = parser.parse_args()
    N, M, R = args.samples, args.taps, args.realizations
    for name, value in (("-N", N), ("-M", M), ("--realizations", R), ("--repeats", args.repeats)):
        if value < 1:
            parser.error(f"{name} must be >= 1")
    if args.seed < 0:
        parser.error(f"--seed {args.seed} must be >= 0")
    if args.rng == "numpy" and args.seed + R - 1 > 2**32 - 1:
        parser.error(f"the seeds {args.seed} ... {args.seed + R - 1} must lie within 0 ... 2^32 - 1 (NumPy's seeds)")
    wo = [float(v) for v in args.wo.split(",")]
    make_data = generate if args.rng == "numpy" else generate_philox

    data_s, lms_s, total_s = [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        X, D = make_data(args.seed, N, R, wo, args.sigmav2)
        middle = time.perf_counter()
        mse, msd, meanw = lms_ensemble(X, D, args.eta, M, wo)
        end = time.perf_counter()
        data_s.append(middle - start)
        lms_s.append(end - middle)
        total_s.append(end - start)
        del X, D

    def ns(seconds):
        return 1e9 * seconds / (R * N)

    def summary(reduce):
        return {"data": reduce(data_s), "lms": reduce(lms_s), "total": reduce(total_s)}

    seconds, median_seconds = summary(min), summary(statistics.median)
    report = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "numpy": np.__version__,
        "scenario": {"N": N, "M": M, "eta": args.eta, "sigmav2": args.sigmav2, "wo": wo, "seed": args.seed},
        "realizations": R,
        "rng": args.rng,
        "threads": 1,
        "repeats": args.repeats,
        "seconds": seconds,  # the minimum over the repeats, each part on its own
        "ns_per_realization_sample": {k: ns(v) for k, v in seconds.items()},
        "median_seconds": median_seconds,
        "median_ns_per_realization_sample": {k: ns(v) for k, v in median_seconds.items()},
    }
    for part in ("data", "lms", "total"):
        print(f"{part:6s} min {report['ns_per_realization_sample'][part]:9.2f}  median "
              f"{report['median_ns_per_realization_sample'][part]:9.2f} ns per realization-sample "
              f"(min {seconds[part]:.3f} s)", file=sys.stderr)

    if args.save_dir:
        os.makedirs(args.save_dir, exist_ok=True)
        np.save(os.path.join(args.save_dir, "mse.npy"), mse)
        np.save(os.path.join(args.save_dir, "msd.npy"), msd)
        np.save(os.path.join(args.save_dir, "meanw.npy"), meanw)
    text = json.dumps(report, indent=2) + "\n"
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
