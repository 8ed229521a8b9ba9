#!/usr/bin/python3
"""Regenerates lmsref's reference data from the notebook's own Python code.

Run with Debian's interpreter and packages (python3-torch, python3-numpy, python3-scipy):

    /usr/bin/python3 scripts/make_reference.py [--out data/reference]

For each scenario it seeds NumPy (np.random.seed) and PyTorch (torch.manual_seed, right before nn.Linear is
built), builds x and d exactly as the notebook does, runs the notebook's eight functions, copied below as they
are in the notebook, and writes data/reference/<scenario>/x.npy, d.npy and <stage>/{w,y,e}.npy. For the stages
that return only their last loss, e is d - y. It also stores raw draws of NumPy's legacy generator
(random/), Monte Carlo ensembles of the notebook's `lms` (ensemble/<name>/: realization r on the data of seed
S + r, averaged with NumPy) and a manifest.json with every parameter and the versions used. Nothing here is
typed in by hand.
"""
import argparse
import json
import os
import platform

import numpy as np
import scipy
import family_reference
import torch
from scipy import signal
from torch import nn

SCENARIOS = {
    # The notebook's defaults.
    "default": dict(seed=0, N=500, M=3, eta=0.1, sigmav2=0.01, wo=[0.1, 0.2, 0.3], torch_seed=0),
    # An odd N (the noise starts from the gauss value cached by x), another seed, eta and sigmav2, and a wo
    # longer than M.
    "odd": dict(seed=42, N=999, M=4, eta=0.05, sigmav2=0.02, wo=[0.5, -0.4, 0.3, -0.2, 0.1], torch_seed=7),
    # A small M with a large step size.
    "small": dict(seed=7, N=300, M=2, eta=0.5, sigmav2=0.001, wo=[0.8, -0.3], torch_seed=3),
    # The defaults with --seed 42 -N 999.
    "seed42": dict(seed=42, N=999, M=3, eta=0.1, sigmav2=0.01, wo=[0.1, 0.2, 0.3], torch_seed=42),
}
# Monte Carlo ensembles of the notebook's `lms` (lmsref ensemble): realization r = 0 ... R - 1 runs on the data of
# seed + r. The engine adds realizations in blocks of 64; R is chosen around that.
ENSEMBLES = {
    # The notebook's defaults, 32 realizations (one partial block); realization 0 is the "default" scenario.
    "default": dict(seed=0, N=500, M=3, eta=0.1, sigmav2=0.01, wo=[0.1, 0.2, 0.3], R=32),
    # M below len(wo): wo_M is wo cut to M taps, and the rest of wo is noise the filter cannot follow.
    "cut": dict(seed=42, N=300, M=2, eta=0.05, sigmav2=0.02, wo=[0.5, -0.4, 0.3, -0.2, 0.1], R=40),
    # M above len(wo) (wo_M zero-padded), an odd N, seeds 2^32 - 96 ... 2^32 - 64: R = 33 is 8 groups of 4 and one.
    "padded": dict(seed=2**32 - 96, N=257, M=5, eta=0.08, sigmav2=0.01, wo=[0.1, 0.2, 0.3], R=33),
    # Three blocks (64 + 64 + 2) on a short N.
    "blocks": dict(seed=1000, N=80, M=4, eta=0.1, sigmav2=0.01, wo=[0.1, 0.2, 0.3], R=130),
    # M beyond the engine's compiled filter lengths (1 ... 8), below len(wo).
    "long": dict(seed=77, N=120, M=10, eta=0.02, sigmav2=0.05, wo=[0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.0, -0.05,
                                                                     -0.1, -0.15, -0.2, -0.25], R=20),
}
RANDOM_SEEDS = [0, 1, 42, 123456789, 2**32 - 1]
RANDOM_DRAWS = 1001

M = None  # the notebook's classes read the global M


# ---- The notebook's code, as it is in the notebook --------------------------------------------------------
def lms(x, d, eta, M):
    N = len(x)
    xM = np.zeros((M, 1))
    wi = np.zeros((1, M))
    y = np.zeros((N, 1))
    e = np.zeros((N, 1))
    w = np.zeros((N + 1, M))
    for i in range(N):
        xM = np.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]]))
        yi = wi @ xM
        ei = d[i] - yi
        wi = wi + eta/2 * 2 * ei * xM.T
        y[i] = yi
        e[i] = ei
        w[i + 1, :] = wi
    return y, e, w


def lms_torch(x, d, eta, M):
    N = len(x)
    xM = torch.zeros((M, 1))
    wi = torch.zeros((1, M))
    y = torch.zeros((N, 1))
    e = torch.zeros((N, 1))
    w = torch.zeros(N + 1, M)
    for i in range(N):
        xM = torch.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]]))
        yi = wi @ xM
        ei = d[i] - yi
        wi = wi + eta/2 * 2 * ei * xM.T
        y[i] = yi
        e[i] = ei
        w[i + 1, :] = wi
    return y, e, w


def lms_torch_autograd(x, d, eta, M):
    N = len(x)
    xM = torch.zeros((M, 1))
    wi = torch.zeros((1, M), requires_grad=True)
    y = torch.zeros((N, 1))
    e = torch.zeros((N, 1))
    w = torch.zeros(N + 1, M)
    for i in range(N):
        xM = torch.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]]))
        yi = wi @ xM
        ei = d[i] - yi
        mse = ei**2
        mse.backward()
        with torch.no_grad():
            wi[:] = wi[:] - eta/2 * wi.grad
            y[i] = yi
            e[i] = ei
            w[i + 1, :] = wi
        wi.grad.zero_()
    return y, e, w


def lms_torch_loss(x, d, eta, M):
    N = len(x)
    xM = torch.zeros((M, 1))
    wi = torch.zeros((1, M), requires_grad=True)
    y = torch.zeros((N, 1))
    losses = torch.zeros((N, 1))
    w = torch.zeros(N + 1, M)
    loss_function = nn.MSELoss()
    for i in range(N):
        xM = torch.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]]))
        yi = wi @ xM
        loss = loss_function(yi.squeeze(), d[i].squeeze())
        loss.backward()
        with torch.no_grad():
            wi[:] = wi[:] - eta/2 * wi.grad
            y[i] = yi
            losses[i] = loss
            w[i + 1, :] = wi
        wi.grad.zero_()
    return y, loss, w


def lms_torch_optim(x, d, eta, M):
    N = len(x)
    xM = torch.zeros((M, 1))
    wi = torch.zeros((1, M), requires_grad=True)
    y = torch.zeros((N, 1))
    losses = torch.zeros((N, 1))
    w = torch.zeros(N + 1, M)
    loss_function = nn.MSELoss()
    optimizer = torch.optim.SGD([wi], lr=eta/2)
    for i in range(N):
        xM = torch.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]]))
        yi = wi @ xM
        loss = loss_function(yi.squeeze(), d[i].squeeze())
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            y[i] = yi
            losses[i] = loss
            w[i + 1, :] = wi
        wi.grad.zero_()
    return y, loss, w


class LMS(nn.Module):
    def __init__(self):
        super().__init__()
        self.wi = nn.Parameter(torch.zeros((1, M), requires_grad=True))

    def forward(self, xM):
        output = self.wi @ xM
        return output


def lms_torch_model(x, d, eta, M, model):
    N = len(x)
    xM = torch.zeros((M, 1))
    y = torch.zeros((N, 1))
    losses = torch.zeros((N, 1))
    w = torch.zeros(N + 1, M)
    loss_function = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=eta/2)
    for i in range(N):
        xM = torch.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]]))
        model.zero_grad()
        yi = model(xM)
        loss = loss_function(yi.squeeze(), d[i].squeeze())
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            y[i] = yi
            losses[i] = loss
            w[i + 1, :] = model.wi.clone()
    return y, loss, w


def _second_lms_class():  # the notebook redefines LMS; weights_init looks at class names, so keep "LMS"
    class LMS(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(M, 1, bias=False)

        def forward(self, x):
            output = self.l1(x.squeeze())
            return output
    return LMS


LMSLinear = _second_lms_class()


def lms_torch_model_2(x, d, eta, M, model):
    N = len(x)
    xM = torch.zeros((M, 1))
    y = torch.zeros((N, 1))
    losses = torch.zeros((N, 1))
    w = torch.zeros(N + 1, M)
    loss_function = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=eta/2)
    for i in range(N):
        xM = torch.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]]))
        model.zero_grad()
        yi = model(xM)
        loss = loss_function(yi.squeeze(), d[i].squeeze())
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            y[i] = yi
            losses[i] = loss
            w[i + 1, :] = model.l1.weight.clone()
    return y, loss, w


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Linear') != -1:
        if m.weight is not None:
            torch.nn.init.zeros_(m.weight)
        if m.bias is not None:
            torch.nn.init.zeros_(m.bias)


lms_torch_model_3 = lms_torch_model_2  # identical in the notebook, line for line
# ---- end of the notebook's code -----------------------------------------------------------------------------


# ---- the LMS family as PyTorch parts (lmsref family): the notebook's lms_torch_optim with one part swapped ------
# Each member is the notebook's loop with its loss, its optimizer or its forward pass swapped, marked "# new:";
# the lr in each comment is what makes the member's textbook update exact. The twins of src/stages/family_torch.cpp.


class SignOfInput(torch.autograd.Function):
    """y = w x whose backward passes sign(x) instead of x (sign-data, sign-sign)."""

    @staticmethod
    def forward(ctx, w, xM):
        ctx.save_for_backward(xM)
        return w @ xM

    @staticmethod
    def backward(ctx, grad_output):
        (xM,) = ctx.saved_tensors
        return grad_output @ torch.sign(xM).T, None


class RLS(torch.optim.Optimizer):
    """RLS as an optimizer of e^2: from the gradient g = -2 e x and the regressor x (given before each step),
    w += P x e / (lambda + x.P x) = -P g / (2 (lambda + x.P x)); P = (P - k x.P) / lambda, then symmetrised."""

    def __init__(self, params, lam=1.0, delta=0.01):
        super().__init__(params, dict(lam=lam, delta=delta))
        w = self.param_groups[0]["params"][0]
        self.P = torch.eye(w.shape[1]) / delta
        self.xM = None

    @torch.no_grad()
    def step(self, closure=None):
        w = self.param_groups[0]["params"][0]
        lam = self.param_groups[0]["lam"]
        Px = self.P @ self.xM
        denominator = lam + self.xM.T @ Px
        w.sub_((self.P @ w.grad.T).T / (2 * denominator))
        k = Px / denominator
        self.P = (self.P - k @ (self.xM.T @ self.P)) / lam
        self.P = (self.P + self.P.T) / 2


def lms_torch_part(x, d, eta, M, wi, loss_function, optimizer, forward=lambda wi, xM: wi @ xM):
    """The notebook's lms_torch_optim with its loss (loss_function(yi, di, xM)), optimizer and forward pass given."""
    N = len(x)
    xM = torch.zeros((M, 1))
    y = torch.zeros((N, 1))
    w = torch.zeros(N + 1, M)
    for i in range(N):
        xM = torch.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]]))
        yi = forward(wi, xM)
        loss = loss_function(yi.squeeze(), d[i].squeeze(), xM)
        loss.backward()
        if isinstance(optimizer, RLS):
            optimizer.xM = xM  # new (rls): the optimizer also sees the regressor
        optimizer.step()
        with torch.no_grad():
            y[i] = yi
            w[i + 1, :] = wi
        optimizer.zero_grad()
    return y, d - y, w


def lms_torch_member(member, x, d, eta, M, o):
    """Member `member`'s parts, as src/stages/family_torch.cpp builds them, then the loop."""
    wi = torch.zeros((1, M), requires_grad=True)
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    squared = lambda yi, di, xM: mse(yi, di)
    absolute = lambda yi, di, xM: l1(yi, di)  # new: nn.L1Loss, whose gradient is sign(y - d) x
    sign_of_input = SignOfInput.apply  # new: backward passes sign(x)
    half_step = lambda: torch.optim.SGD([wi], lr=eta / 2)  # SGD at eta / 2 on e^2: w += eta e x
    full_step = lambda: torch.optim.SGD([wi], lr=eta)
    if member == "lms":
        return lms_torch_part(x, d, eta, M, wi, squared, half_step())
    if member == "nlms":  # new: e^2 / (eps + x.x), the denominator detached
        normalised = lambda yi, di, xM: mse(yi, di) / (o["eps"] + (xM * xM).sum()).detach()
        return lms_torch_part(x, d, eta, M, wi, normalised, half_step())
    if member == "sign-error":
        return lms_torch_part(x, d, eta, M, wi, absolute, full_step())
    if member == "sign-data":
        return lms_torch_part(x, d, eta, M, wi, squared, half_step(), sign_of_input)
    if member == "sign-sign":
        return lms_torch_part(x, d, eta, M, wi, absolute, full_step(), sign_of_input)
    if member == "leaky":  # new: weight_decay 2 gamma at lr = eta / 2
        return lms_torch_part(x, d, eta, M, wi, squared,
                              torch.optim.SGD([wi], lr=eta / 2, weight_decay=2 * o["gamma"]))
    if member in ("momentum", "nesterov"):  # new: PyTorch's heavy ball (dampening 0), Nesterov's look-ahead
        return lms_torch_part(x, d, eta, M, wi, squared,
                              torch.optim.SGD([wi], lr=eta / 2, momentum=o["beta"], nesterov=member == "nesterov"))
    if member == "lmf":  # new: e^4, whose gradient is -4 e^3 x, at lr = eta / 4
        return lms_torch_part(x, d, eta, M, wi, lambda yi, di, xM: (yi - di) ** 4, torch.optim.SGD([wi], lr=eta / 4))
    if member == "huber":  # new: nn.HuberLoss, whose gradient is -clip(e, -delta, delta) x
        huber = nn.HuberLoss(delta=o["huber_delta"])
        return lms_torch_part(x, d, eta, M, wi, lambda yi, di, xM: huber(yi, di), full_step())
    if member == "adagrad":  # new
        return lms_torch_part(x, d, eta, M, wi, squared, torch.optim.Adagrad([wi], lr=eta, eps=o["adagrad_eps"]))
    if member == "rmsprop":  # new
        return lms_torch_part(x, d, eta, M, wi, squared,
                              torch.optim.RMSprop([wi], lr=eta, alpha=o["rmsprop_alpha"], eps=o["rmsprop_eps"]))
    if member == "adam":  # new
        return lms_torch_part(x, d, eta, M, wi, squared,
                              torch.optim.Adam([wi], lr=eta, betas=(o["adam_beta1"], o["adam_beta2"]),
                                               eps=o["adam_eps"]))
    if member == "rls":  # new: a custom optimizer keeping P
        return lms_torch_part(x, d, eta, M, wi, squared, RLS([wi], lam=o["lam"], delta=o["rls_delta"]))
    raise ValueError(member)


FAMILY = ["lms", "nlms", "sign-error", "sign-data", "sign-sign", "leaky", "momentum", "nesterov", "lmf", "huber",
          "adagrad", "rmsprop", "adam", "rls"]


def notebook_data(seed, N, wo, sigmav2):
    """The notebook's data cell: x (N x 1) and d (N x 1) from np.random.seed(seed)."""
    np.random.seed(seed)
    x = np.random.randn(N, 1)
    wo = np.array([wo])
    d = signal.lfilter(wo.squeeze(), 1, x.squeeze()) + np.sqrt(sigmav2) * np.random.randn(N)
    d = d.reshape(-1, 1)
    return x, d


def ar1_input(u, A):
    """--input ar1:A: x(n) = A x(n - 1) + sqrt(1 - A^2) u(n), x(0) = u(0), from the notebook's u = randn(N, 1)."""
    x = u.copy()
    gain = np.sqrt(1.0 - A * A)
    for n in range(1, len(x)):
        x[n] = A * x[n - 1] + gain * u[n]
    return x


def coloured_data(seed, N, wo, sigmav2, A):
    """notebook_data with x through ar1_input before d is made (the draws in the notebook's order)."""
    np.random.seed(seed)
    x = ar1_input(np.random.randn(N, 1), A)
    d = signal.lfilter(np.array(wo), 1, x.squeeze()) + np.sqrt(sigmav2) * np.random.randn(N)
    return x, d.reshape(-1, 1)


def walk_data(seed, N, wo, sigmav2, Q, A=None):
    """--walk Q: the notebook's x (through ar1_input when A is given) and noise, then q = sqrt(Q) randn(N, len(wo));
    the system wo(0) = wo, wo(n + 1) = wo(n) + q(n); d(n) = sum_k wo_k(n) x(n - k), oldest tap first from 0.0 (lfilter's
    order), plus the noise. Returns x, d (N x 1) and the path ((N + 1) x len(wo))."""
    np.random.seed(seed)
    u = np.random.randn(N, 1)
    x = u if A is None else ar1_input(u, A)
    v = np.random.randn(N)
    q = np.sqrt(Q) * np.random.randn(N, len(wo))
    path = np.empty((N + 1, len(wo)))
    path[0] = wo
    for n in range(N):
        path[n + 1] = path[n] + q[n]
    d = np.empty(N)
    for n in range(N):
        s = 0.0
        for k in range(min(n, len(wo) - 1), -1, -1):
            s += path[n, k] * x[n - k, 0]
        d[n] = s + np.sqrt(sigmav2) * v[n]
    return x, d.reshape(-1, 1), path


# --walk Q data: (seed, N, wo, sigmav2, Q, A or None) per folder of walk/.
WALKS = {
    "white": (0, 400, [0.1, 0.2, 0.3], 0.01, 1e-4, None),
    "ar1_0.5": (3, 301, [0.5, -0.25], 0.1, 1e-3, 0.5),
}

# --input ar1:A data: (seed, N, wo, sigmav2, A) per folder of input/.
COLOURED = {
    "ar1_0.5": (0, 500, [0.1, 0.2, 0.3], 0.01, 0.5),
    "ar1_0.9": (7, 300, [0.1, 0.2, 0.3, 0.4, 0.5], 0.01, 0.9),
    "ar1_-0.7": (4294967295, 64, [0.5, -0.25], 0.1, -0.7),
}


def run_scenario(p):
    """The notebook's cells in order, for one scenario. Returns x, d and {stage: (y, e, w)} as NumPy arrays."""
    global M
    N, M, eta, sigmav2 = p["N"], p["M"], p["eta"], p["sigmav2"]
    torch.set_default_dtype(torch.float32)  # as a fresh notebook starts

    x, d = notebook_data(p["seed"], N, p["wo"], sigmav2)
    x_np, d_np = x, d

    out = {"numpy": lms(x, d, eta, M)}

    torch.set_default_dtype(torch.float64)
    x = torch.tensor(x)
    d = torch.tensor(d)

    out["tensor"] = lms_torch(x, d, eta, M)
    out["autograd"] = lms_torch_autograd(x, d, eta, M)
    out["mseloss"] = lms_torch_loss(x, d, eta, M)
    out["sgd"] = lms_torch_optim(x, d, eta, M)
    out["module"] = lms_torch_model(x, d, eta, M, LMS())
    torch.manual_seed(p["torch_seed"])
    model = LMSLinear()
    initial_weights = model.l1.weight.detach().clone()
    out["linear"] = lms_torch_model_2(x, d, eta, M, model)
    # lmsref's convention: row 0 of w holds the initial weights (the notebook leaves it at zero).
    out["linear"][2][0, :] = initial_weights
    model = LMSLinear()
    model.apply(weights_init)
    out["linear-zero"] = lms_torch_model_3(x, d, eta, M, model)

    arrays = {}
    for stage, (y, e, w) in out.items():
        y = np.asarray(y.detach() if torch.is_tensor(y) else y, dtype=np.float64)
        w = np.asarray(w.detach() if torch.is_tensor(w) else w, dtype=np.float64)
        if torch.is_tensor(e) and e.dim() == 0:  # the stages that return only their last loss
            e = d_np - y
        e = np.asarray(e.detach() if torch.is_tensor(e) else e, dtype=np.float64)
        arrays[stage] = (y, e, w)
    return x_np, d_np, arrays


def run_ensemble(p):
    """The notebook's `lms` on the data of seeds seed ... seed + R - 1, averaged over the realizations with NumPy.
    Returns mse (N,) = mean_r e_r(n)^2, msd (N + 1,) = mean_r ||w_r(n) - wo_M||^2 (wo cut or zero-padded to M taps)
    and meanw (N + 1, M) = mean_r w_r(n)."""
    N, M, R = p["N"], p["M"], p["R"]
    wo_M = np.zeros(M)
    wo_M[: min(M, len(p["wo"]))] = p["wo"][:M]
    e_all = np.empty((R, N))
    w_all = np.empty((R, N + 1, M))
    for r in range(R):
        x, d = notebook_data(p["seed"] + r, N, p["wo"], p["sigmav2"])
        _, e, w = lms(x, d, p["eta"], M)
        e_all[r] = e[:, 0]
        w_all[r] = w
    mse = np.mean(e_all**2, axis=0)
    msd = np.mean(np.sum((w_all - wo_M) ** 2, axis=2), axis=0)
    meanw = np.mean(w_all, axis=0)
    return mse, msd, meanw


def write_params(path, params):
    with open(path, "w") as f:  # for the C++ tests: "key value" lines
        for key, value in params.items():
            f.write(f"{key} {','.join(map(repr, value)) if isinstance(value, list) else repr(value)}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "data", "reference"))
    args = parser.parse_args()
    out = os.path.normpath(args.out)

    for name, params in SCENARIOS.items():
        x, d, arrays = run_scenario(params)
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        np.save(os.path.join(folder, "x.npy"), x)
        np.save(os.path.join(folder, "d.npy"), d)
        write_params(os.path.join(folder, "params.txt"), params)
        for stage, (y, e, w) in arrays.items():
            os.makedirs(os.path.join(folder, stage), exist_ok=True)
            for label, array in (("y", y), ("e", e), ("w", w)):
                np.save(os.path.join(folder, stage, label + ".npy"), array)
        print(f"{name}: N={params['N']} M={params['M']} final numpy w = {arrays['numpy'][2][-1]}")

    for name, params in ENSEMBLES.items():
        assert params["seed"] + params["R"] - 1 <= 2**32 - 1, name  # NumPy's seeds are 32-bit
        mse, msd, meanw = run_ensemble(params)
        folder = os.path.join(out, "ensemble", name)
        os.makedirs(folder, exist_ok=True)
        write_params(os.path.join(folder, "params.txt"), params)
        np.save(os.path.join(folder, "mse.npy"), mse)
        np.save(os.path.join(folder, "msd.npy"), msd)
        np.save(os.path.join(folder, "meanw.npy"), meanw)
        print(f"ensemble/{name}: N={params['N']} M={params['M']} R={params['R']} final msd = {msd[-1]:.6g}")

    # The family's PyTorch programs on the scenarios of scripts/family_reference.py (family/), float64.
    torch.set_default_dtype(torch.float64)
    for name, params in family_reference.SCENARIOS.items():
        x, d = notebook_data(params["seed"], params["N"], params["wo"], params["sigmav2"])
        x, d = torch.tensor(x), torch.tensor(d)
        for member in FAMILY:
            y, e, w = lms_torch_member(member, x, d, params["eta"], params["M"], family_reference.OPTIONS)
            folder = os.path.join(out, "family_torch", name, member)
            os.makedirs(folder, exist_ok=True)
            np.save(os.path.join(folder, "w.npy"), w.detach().numpy())
            np.save(os.path.join(folder, "e.npy"), e.detach().numpy())
        print(f"family_torch/{name}: {len(FAMILY)} members, N={params['N']} M={params['M']}")

    for name, (seed, N, wo, sigmav2, A) in COLOURED.items():
        folder = os.path.join(out, "input", name)
        os.makedirs(folder, exist_ok=True)
        x, d = coloured_data(seed, N, wo, sigmav2, A)
        np.save(os.path.join(folder, "x.npy"), x)
        np.save(os.path.join(folder, "d.npy"), d)
        print(f"input/{name}: N={N}")

    for name, (seed, N, wo, sigmav2, Q, A) in WALKS.items():
        folder = os.path.join(out, "walk", name)
        os.makedirs(folder, exist_ok=True)
        x, d, path = walk_data(seed, N, wo, sigmav2, Q, A)
        np.save(os.path.join(folder, "x.npy"), x)
        np.save(os.path.join(folder, "d.npy"), d)
        np.save(os.path.join(folder, "wo.npy"), path)
        print(f"walk/{name}: N={N}")

    random_dir = os.path.join(out, "random")
    os.makedirs(random_dir, exist_ok=True)
    for seed in RANDOM_SEEDS:
        state = np.random.RandomState(seed)
        np.save(os.path.join(random_dir, f"state_{seed}.npy"), state.get_state()[1].astype(np.float64))
        np.save(os.path.join(random_dir, f"random_sample_{seed}.npy"), state.random_sample(RANDOM_DRAWS))
        np.save(os.path.join(random_dir, f"randn_{seed}.npy"), np.random.RandomState(seed).randn(RANDOM_DRAWS))

    # Files in the formats lmsref's reader meets, written by NumPy itself, and what each one holds as float64.
    io_dir = os.path.join(out, "io")
    os.makedirs(io_dir, exist_ok=True)
    values = np.arange(-3, 3).reshape(3, 2) * 0.25 + 0.1
    np.save(os.path.join(io_dir, "float64_3x2.npy"), values)
    np.save(os.path.join(io_dir, "float32_3x2.npy"), values.astype(np.float32))
    np.save(os.path.join(io_dir, "float32_3x2_as_float64.npy"), values.astype(np.float32).astype(np.float64))
    np.save(os.path.join(io_dir, "fortran_3x2.npy"), np.asfortranarray(values))
    integers = np.array([[-300], [0], [7], [32767]])
    for dtype in ("int8", "uint8", "int16", "int32", "int64", "uint32"):
        fits = integers[(integers >= np.iinfo(dtype).min) & (integers <= np.iinfo(dtype).max)].reshape(-1, 1)
        np.save(os.path.join(io_dir, f"{dtype}.npy"), fits.astype(dtype))
        np.save(os.path.join(io_dir, f"{dtype}_as_float64.npy"), fits.astype(np.float64))
    np.save(os.path.join(io_dir, "vector_5.npy"), np.linspace(-1.0, 1.0, 5))
    np.save(os.path.join(io_dir, "scalar.npy"), np.float64(2.5))
    np.save(os.path.join(io_dir, "bad_3d.npy"), np.zeros((2, 2, 2)))
    np.save(os.path.join(io_dir, "bad_big_endian.npy"), np.ones(3, dtype=">f8"))
    np.save(os.path.join(io_dir, "bad_complex.npy"), np.ones(3, dtype=np.complex128))
    np.save(os.path.join(io_dir, "bad_bool.npy"), np.ones(3, dtype=bool))

    # The tensor tour's random factories (lmsref basics, seed 0), in the order the tour draws them.
    basics_dir = os.path.join(out, "basics")
    os.makedirs(basics_dir, exist_ok=True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    np.save(os.path.join(basics_dir, "rand_2x2.npy"), torch.rand(2, 2).numpy())
    np.save(os.path.join(basics_dir, "randn_3x3.npy"), torch.randn(3, 3).numpy())
    np.save(os.path.join(basics_dir, "linspace_0_1_10.npy"), torch.linspace(0, 1, 10).numpy())
    torch.manual_seed(0)
    np.save(os.path.join(basics_dir, "rand_4x3.npy"), torch.rand(4, 3).numpy())
    values = np.random.RandomState(0).randn(5)
    np.save(os.path.join(basics_dir, "randn5_seed0.npy"), values)
    np.save(os.path.join(basics_dir, "randn5_seed0_as_float32.npy"), torch.Tensor(values).numpy())

    manifest = {
        "generated_by": "scripts/make_reference.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                     "torch": torch.__version__},
        "scenarios": SCENARIOS,
        "ensembles": ENSEMBLES,
        "stages": ["numpy", "tensor", "autograd", "mseloss", "sgd", "module", "linear", "linear-zero"],
        "files": "<scenario>/params.txt (the parameters, one 'key value' line each), x.npy, d.npy (N x 1); <scenario>/<stage>/y.npy, e.npy (N x 1), w.npy ((N+1) x M)",
        "basics": "basics/: torch.manual_seed(0) then rand(2, 2), randn(3, 3), linspace(0, 1, 10); torch.manual_seed(0) "
              "then rand(4, 3); np.random.seed(0) randn(5) and torch.Tensor() of it (float32)",
    "family_torch": "family_torch/<scenario>/<member>/w.npy ((N+1) x M), e.npy (N x 1): each member's PyTorch "
                    "program (lms_torch_member) on the scenarios and settings of scripts/family_reference.py, float64",
    "input": {"cases": {k: {"seed": v[0], "N": v[1], "wo": v[2], "sigmav2": v[3], "A": v[4]}
                        for k, v in COLOURED.items()},
              "files": "input/<case>/x.npy, d.npy (N x 1): coloured_data, the notebook's data with x through "
                       "ar1_input"},
    "walk": {"cases": {k: {"seed": v[0], "N": v[1], "wo": v[2], "sigmav2": v[3], "Q": v[4], "A": v[5]}
                       for k, v in WALKS.items()},
             "files": "walk/<case>/x.npy, d.npy (N x 1), wo.npy ((N + 1) x len(wo)): walk_data, the notebook's data "
                      "on a system that moves as a random walk"},
    "io": "io/: arrays in the dtypes and layouts lmsref reads (and some it refuses), with their float64 values",
    "ensemble": "ensemble/<name>/params.txt (as above, plus R), mse.npy (N,), msd.npy (N+1,), meanw.npy (N+1, M): "
                "the notebook's lms on the data of seeds seed ... seed + R - 1 (x, d as in <scenario>/), "
                "np.mean over the realizations of e^2, of sum((w - wo_M)^2, axis=1) with wo cut or zero-padded to "
                "M taps, and of w",
    "random": {"seeds": RANDOM_SEEDS, "draws": RANDOM_DRAWS,
                   "files": "random/state_<seed>.npy: the 624 MT19937 words after np.random.seed(seed), as float64; "
                            "random_sample_<seed>.npy, randn_<seed>.npy: the first draws of a fresh RandomState(seed)"},
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
