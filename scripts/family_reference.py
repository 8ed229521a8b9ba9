#!/usr/bin/env python3
"""The LMS family's plain recursions in NumPy: the reference of src/lms/family.cpp (data/reference/family/).

Each member runs the notebook's loop on the notebook's data (np.random.seed, x = randn(N, 1), d = lfilter(wo, 1, x)
+ sqrt(sigmav2) randn(N)); only the update differs. Written as a reader would write it from the update's formula,
independently of the C++. Needs NumPy and SciPy (Debian's python3-numpy, python3-scipy): /usr/bin/python3
scripts/family_reference.py [OUT_DIR]."""
import os
import sys

import numpy as np
from scipy import signal

SCENARIOS = {
    "default": dict(seed=0, N=500, M=3, eta=0.1, sigmav2=0.01, wo=[0.1, 0.2, 0.3]),
    "one_tap": dict(seed=7, N=300, M=1, eta=0.05, sigmav2=0.01, wo=[0.1, 0.2, 0.3]),
    "eight_taps": dict(seed=11, N=400, M=8, eta=0.02, sigmav2=0.02, wo=[0.3, -0.2, 0.1, 0.05]),
}
OPTIONS = dict(eps=1e-6, gamma=0.01, beta=0.5, huber_delta=0.1, lam=1.0, rls_delta=0.01, adagrad_eps=1e-10,
               rmsprop_alpha=0.99, rmsprop_eps=1e-8, adam_beta1=0.9, adam_beta2=0.999, adam_eps=1e-8)


def data(seed, N, wo, sigmav2, **_):
    np.random.seed(seed)
    x = np.random.randn(N, 1)
    d = signal.lfilter(np.array(wo), 1, x.squeeze()) + np.sqrt(sigmav2) * np.random.randn(N)
    return x.squeeze(), d


def run(update, x, d, M, state):
    """The notebook's loop: xM newest first, e = d - w.xM, then update(w, xM, e, state) returns the new w."""
    N = len(x)
    xM, w = np.zeros(M), np.zeros(M)
    W, E = np.zeros((N + 1, M)), np.zeros(N)
    for i in range(N):
        xM = np.concatenate(([x[i]], xM[:-1]))
        e = d[i] - w @ xM
        w = update(w, xM, e, state)
        W[i + 1], E[i] = w, e
    return W, E


def members(eta, o):
    def heavy_ball(nesterov):
        def update(w, xM, e, s):
            g = -2 * e * xM
            s["buf"] = g.copy() if "buf" not in s else o["beta"] * s["buf"] + g
            return w - eta / 2 * (g + o["beta"] * s["buf"] if nesterov else s["buf"])
        return update

    def adagrad(w, xM, e, s):
        g = -2 * e * xM
        s["sum"] = s.get("sum", np.zeros_like(w)) + g * g
        return w - eta * g / (np.sqrt(s["sum"]) + o["adagrad_eps"])

    def rmsprop(w, xM, e, s):
        g = -2 * e * xM
        a = o["rmsprop_alpha"]
        s["v"] = a * s.get("v", np.zeros_like(w)) + (1 - a) * g * g
        return w - eta * g / (np.sqrt(s["v"]) + o["rmsprop_eps"])

    def adam(w, xM, e, s):
        g = -2 * e * xM
        b1, b2 = o["adam_beta1"], o["adam_beta2"]
        s["t"] = s.get("t", 0) + 1
        s["m"] = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
        s["v"] = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
        denominator = np.sqrt(s["v"]) / np.sqrt(1 - b2 ** s["t"]) + o["adam_eps"]
        return w - eta / (1 - b1 ** s["t"]) * s["m"] / denominator

    def rls(w, xM, e, s):
        M = len(w)
        P = s.get("P", np.eye(M) / o["rls_delta"])
        k = P @ xM / (o["lam"] + xM @ P @ xM)
        P = (P - np.outer(k, xM @ P)) / o["lam"]
        s["P"] = (P + P.T) / 2
        return w + k * e

    return {
        "lms": lambda w, xM, e, s: w + eta * e * xM,
        "nlms": lambda w, xM, e, s: w + eta * e * xM / (o["eps"] + xM @ xM),
        "sign-error": lambda w, xM, e, s: w + eta * np.sign(e) * xM,
        "sign-data": lambda w, xM, e, s: w + eta * e * np.sign(xM),
        "sign-sign": lambda w, xM, e, s: w + eta * np.sign(e) * np.sign(xM),
        "leaky": lambda w, xM, e, s: (1 - eta * o["gamma"]) * w + eta * e * xM,
        "momentum": heavy_ball(False),
        "nesterov": heavy_ball(True),
        "lmf": lambda w, xM, e, s: w + eta * e ** 3 * xM,
        "huber": lambda w, xM, e, s: w + eta * np.clip(e, -o["huber_delta"], o["huber_delta"]) * xM,
        "adagrad": adagrad,
        "rmsprop": rmsprop,
        "adam": adam,
        "rls": rls,
    }


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "data", "reference", "family")
    for name, scenario in SCENARIOS.items():
        x, d = data(**scenario)
        for member, update in members(scenario["eta"], OPTIONS).items():
            folder = os.path.join(out, name, member)
            os.makedirs(folder, exist_ok=True)
            W, E = run(update, x, d, scenario["M"], {})
            np.save(os.path.join(folder, "w.npy"), W)
            np.save(os.path.join(folder, "e.npy"), E)
        with open(os.path.join(out, name, "params.txt"), "w") as f:  # the format of the other references
            for key in ("seed", "N", "M", "eta", "sigmav2"):
                f.write(f"{key} {scenario[key]!r}\n")
            f.write("wo " + ",".join(repr(float(v)) for v in scenario["wo"]) + "\n")


if __name__ == "__main__":
    main()
