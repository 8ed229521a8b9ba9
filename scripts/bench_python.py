#!/usr/bin/python3
"""The Python twin of `lmsref bench`: the notebook's own eight functions, timed on the same scenario.

    /usr/bin/python3 scripts/bench_python.py [--seed S] [-N N] [-M M] [--eta E] [--sigmav2 V] [--wo a,b,c]
                                             [--stages a,b | --family a,b] [--repeats R] [--json FILE]

For each stage: one warm-up run, then R timed runs of the whole stage (building its model included, as in
lmsref), reported as min, median and max microseconds per sample, in the JSON format `lmsref bench` writes.
With --family, the LMS family's PyTorch programs instead (make_reference.py's lms_torch_member, float64, the
settings of scripts/family_reference.py), as `lmsref bench --family` times their LibTorch twins.
The functions are the ones scripts/make_reference.py copies from the notebook. Any interpreter with torch, NumPy and
SciPy runs it, e.g. .cache/pypi-torch/bin/python (torch 2.x; scripts/bench --python pypi).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
from scipy import signal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as notebook  # noqa: E402

STAGES = ["numpy", "tensor", "autograd", "mseloss", "sgd", "module", "linear", "linear-zero"]


def stage_runner(stage, x_np, d_np, x, d, eta, M, torch_seed):
    """A function that runs one whole stage, as lmsref does: data conversion and model included."""
    def linear_zero():
        model = notebook.LMSLinear()
        model.apply(notebook.weights_init)
        return notebook.lms_torch_model_3(x, d, eta, M, model)

    def linear():
        torch.manual_seed(torch_seed)
        return notebook.lms_torch_model_2(x, d, eta, M, notebook.LMSLinear())

    return {
        "numpy": lambda: notebook.lms(x_np, d_np, eta, M),
        "tensor": lambda: notebook.lms_torch(x, d, eta, M),
        "autograd": lambda: notebook.lms_torch_autograd(x, d, eta, M),
        "mseloss": lambda: notebook.lms_torch_loss(x, d, eta, M),
        "sgd": lambda: notebook.lms_torch_optim(x, d, eta, M),
        "module": lambda: notebook.lms_torch_model(x, d, eta, M, notebook.LMS()),
        "linear": linear,
        "linear-zero": linear_zero,
    }[stage]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-N", "--samples", type=int, default=500)
    parser.add_argument("-M", "--taps", type=int, default=3)
    parser.add_argument("--eta", type=float, default=0.1)
    parser.add_argument("--sigmav2", type=float, default=0.01)
    parser.add_argument("--wo", default="0.1,0.2,0.3")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--family", help="time these members of the LMS family (make_reference.lms_torch_member), "
                                         "a comma list or all, instead of the stages")
    parser.add_argument("--json")
    args = parser.parse_args()
    stages = args.stages.split(",")
    for stage in stages:
        if stage not in STAGES:
            parser.error(f"unknown stage '{stage}'; the stages are {', '.join(STAGES)}")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    N, M = args.samples, args.taps
    wo = [float(v) for v in args.wo.split(",")]
    notebook.M = M
    torch.set_default_dtype(torch.float32)
    np.random.seed(args.seed)
    x_np = np.random.randn(N, 1)
    d_np = (signal.lfilter(np.array(wo), 1, x_np.squeeze()) + np.sqrt(args.sigmav2) * np.random.randn(N)).reshape(-1, 1)
    torch.set_default_dtype(torch.float64)
    x, d = torch.tensor(x_np), torch.tensor(d_np)
    torch.set_num_threads(1)

    family = None
    if args.family is not None:
        family = notebook.FAMILY if args.family in ("", "all") else args.family.split(",")
        for member in family:
            if member not in notebook.FAMILY:
                parser.error(f"unknown member '{member}'; the members are {', '.join(notebook.FAMILY)}")
        stages = []
    def timed(name, run):
        """One warm-up run, then the timed ones: min, median and max us per sample."""
        run()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) / N * 1e6)
        print(f"{name:12s} median {statistics.median(times):10.3f} us/sample", file=sys.stderr)
        return {"min_us_per_sample": min(times), "median_us_per_sample": statistics.median(times),
                "max_us_per_sample": max(times), "repeats": args.repeats}

    results = {}
    for member in family or []:  # the settings of scripts/family_reference.py, lmsref's defaults
        results[member] = timed(member, lambda: notebook.lms_torch_member(member, x, d, args.eta, M,
                                                                          notebook.family_reference.OPTIONS))
    for stage in stages:
        results[stage] = timed(stage, stage_runner(stage, x_np, d_np, x, d, args.eta, M, args.seed))

    report = {
        "implementation": "python",
        "scenario": {"N": N, "M": M, "eta": args.eta, "sigmav2": args.sigmav2, "wo": wo, "seed": args.seed,
                     "torch_seed": args.seed},
        "libtorch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "executable": sys.executable,
        "device": "cpu",
        "threads": torch.get_num_threads(),
        ("family" if family else "stages"): results,
    }
    text = json.dumps(report, indent=2) + "\n"
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
