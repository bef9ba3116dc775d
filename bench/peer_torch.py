#!/usr/bin/python3
"""Peer: the same generalised EM as rlpsy_fit() in PyTorch on the CPU.

    /usr/bin/python3 bench/peer_torch.py <exchange-dir> [threads] [check|fit|both]

Reads the decisions and settings that bench/peers.R writes as CSV files,
checks the objective, its gradient and one E-step at a common point, then
fits and writes torch_* CSV files into the directory.

Same model and objective as R/reference.R (DESIGN.md section 1), in double
precision: identified advantage per state, softmax policy
softmax(beta_j A(s, .)), the soft Bellman term per (state, action) pair
(n_sa times the squared mean residual of the pair's decisions), CQL term,
normal prior on z_j = log beta_j, with the effective weights rlpsy's core
uses (settings.csv: lambda_bell already divided by the task's value unit
squared). Same starting values as rlpsy_fit() (start_Q.csv: the task's
values with an observed reward; z = 0, prior N(0, 1)). The algorithm is
the plain generalised EM that rlpsy replaced by its profiled M-step: a
safeguarded Newton E-step on z (vectorised over decisions and participants:
every still-active participant steps together, with step halving), the
empirical-Bayes prior update, an M-step of `mstep_iter` iterations of
torch.optim.LBFGS (strong-Wolfe line search, history 10, kept across EM
iterations) on Q (and w) with beta fixed and the gradient by autograd; stop
when J changed by less than tol per decision (tol * N) and max |dz| is
below tol_z, then a final E-step. Gives up, not converged, after
`max_time` seconds (settings.csv, if given).
"""
import csv
import os
import sys
import time

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
NEG_INF = float("-inf")


def read_settings(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {r["name"]: float(r["value"]) for r in rows}


class Problem:
    """Decisions as tensors (0-based codes), the settings, counts."""

    def __init__(self, d, av, st):
        self.set = st
        self.J, self.S, self.K = int(st["J"]), int(st["S"]), int(st["K"])
        self.learned = st["learned"] == 1
        self.p = torch.as_tensor(d[:, 0], dtype=torch.long)
        self.s = torch.as_tensor(d[:, 1], dtype=torch.long)
        self.a = torch.as_tensor(d[:, 2], dtype=torch.long)
        self.s2 = torch.as_tensor(d[:, 3], dtype=torch.long)
        self.done = torch.as_tensor(d[:, 4])
        self.reward = torch.as_tensor(d[:, 5])
        self.av = torch.as_tensor(av != 0)
        self.avf = self.av.double()
        self.avs = self.av[self.s]
        self.Ks = self.avf.sum(1)
        self.disc = st["gamma"] * (1.0 - self.done)
        self.N = self.p.shape[0]
        self.sa = self.s * self.K + self.a
        self.n_sa_flat = torch.zeros(self.S * self.K).index_add_(
            0, self.sa, torch.ones(self.N))
        self.n_sa = self.n_sa_flat.reshape(self.S, self.K)
        self.Q0 = None

    def advantage(self, Q):
        mean = (Q * self.avf).sum(1, keepdim=True) / self.Ks[:, None]
        c = (Q - mean) * self.avf
        rho = torch.sqrt((c * c).sum(1, keepdim=True) / self.Ks[:, None] + self.set["eps"])
        return c / rho

    def objective(self, Q, w, bt):
        """J without the prior at (Q, w) for per-decision beta bt."""
        st = self.set
        A = self.advantage(Q)
        As = A[self.s]
        eta = (bt[:, None] * As).masked_fill(~self.avs, NEG_INF)
        beh = (torch.logsumexp(eta, 1) - bt * A[self.s, self.a]).sum()
        V = st["tau"] * torch.logsumexp((Q / st["tau"]).masked_fill(~self.av, NEG_INF), 1)
        r = torch.tanh(w[self.s, self.a]) if self.learned else self.reward
        delta = Q[self.s, self.a] - r - self.disc * V[self.s2]
        # per (s, a) pair: n_sa * (mean residual)^2 = (sum of residuals)^2 / n_sa
        dsum = torch.zeros(self.S * self.K).index_add(0, self.sa, delta)
        bell = (dsum * dsum / self.n_sa_flat.clamp(min=1.0)).sum()
        cql = (torch.logsumexp(Q.masked_fill(~self.av, NEG_INF), 1)[self.s]
               - Q[self.s, self.a]).sum()
        rl2 = (w[self.av] ** 2).sum() if self.learned else torch.zeros(())
        total = (beh + st["lambda_bell"] * bell + st["lambda_cql"] * cql
                 + st["lambda_r"] * rl2)
        return total, {"behaviour": beh.item(), "bellman": bell.item(),
                       "cql": cql.item(), "reward_l2": rl2.item()}

    # --- E-step ---------------------------------------------------------------
    def estep_eval(self, z, parts, A, T, mu, sigma):
        """l, g, H, HF for participants `parts` (a long tensor) at z[parts]."""
        keep = torch.zeros(self.J, dtype=torch.bool)
        keep[parts] = True
        idx = torch.nonzero(keep[self.p]).squeeze(1)
        pj = self.p[idx]
        beta_full = torch.zeros(self.J)
        beta_full[parts] = torch.exp(z)
        bt = beta_full[pj]
        As = A[self.s[idx]]
        eta = (bt[:, None] * As).masked_fill(~self.avs[idx], NEG_INF)
        lse = torch.logsumexp(eta, 1)
        P = torch.exp(eta - lse[:, None])
        EA = (P * As).sum(1)
        VA = (P * (As - EA[:, None]) ** 2).sum(1)
        agg = torch.zeros(self.J, 3).index_add_(0, pj, torch.stack([lse, EA, VA], 1))[parts]
        beta = torch.exp(z)
        prec = 1.0 / sigma ** 2
        S1 = T - agg[:, 1]
        HF = -beta ** 2 * agg[:, 2] - prec
        return {"l": beta * T - agg[:, 0] - 0.5 * (z - mu) ** 2 * prec,
                "g": beta * S1 - (z - mu) * prec, "H": beta * S1 + HF, "HF": HF}

    @torch.no_grad()
    def estep(self, Q, z0, mu, sigma, max_iter=100, tol=1e-8, max_step=2.0):
        A = self.advantage(Q)
        J = self.J
        T = torch.zeros(J).index_add_(0, self.p, A[self.s, self.a])
        z = z0.clone()
        allp = torch.arange(J)
        e = self.estep_eval(z, allp, A, T, mu, sigma)
        status = torch.ones(J, dtype=torch.long)  # 0 conv, 1 max_iter, 2 non-finite, 3 stalled
        active = torch.ones(J, dtype=torch.bool)
        eps64 = float(np.finfo(np.float64).eps)
        for _ in range(max_iter):
            bad = active & (~torch.isfinite(e["l"]) | ~torch.isfinite(e["g"]))
            status[bad] = 2
            conv = active & ~bad & (e["g"].abs() <= tol)
            status[conv] = 0
            active &= ~(bad | conv)
            act = torch.nonzero(active).squeeze(1)
            if act.numel() == 0:
                break
            h = torch.where(e["H"][act] < 0, e["H"][act], e["HF"][act])
            step = torch.zeros(J)
            step[act] = (-e["g"][act] / h).clamp(-max_step, max_step)
            pending = act
            for _h in range(60):
                if pending.numel() == 0:
                    break
                t = self.estep_eval(z[pending] + step[pending], pending, A, T[pending], mu, sigma)
                el, eg = e["l"][pending], e["g"][pending]
                round_l = 64 * eps64 * el.abs()
                ok = torch.isfinite(t["l"]) & ((t["l"] >= el) |
                                               ((t["l"] >= el - round_l) & (t["g"].abs() < eg.abs())))
                acc = pending[ok]
                z[acc] += step[acc]
                for k in e:
                    e[k][acc] = t[k][ok]
                pending = pending[~ok]
                step[pending] *= 0.5
            status[pending] = 3
            active[pending] = False
            accepted = torch.zeros(J, dtype=torch.bool)
            accepted[act] = True
            accepted[pending] = False
            tiny = accepted & (step.abs() <= 1e-13 * (1 + z.abs()))
            status[tiny] = 0
            active &= ~tiny
        h = torch.where(e["H"] < 0, e["H"], e["HF"])
        status[(status == 0) & ~(e["H"] < 0)] = 3
        return z, 1.0 / torch.sqrt(-h), status

    # --- EM -------------------------------------------------------------------
    def init(self):
        Q = self.Q0.clone()
        Q[~self.av] = 0.0
        return Q

    def fit(self):
        st = self.set
        Q = self.init().requires_grad_(True)
        w = torch.zeros(self.S, self.K, requires_grad=True) if self.learned else None
        params = [Q] + ([w] if self.learned else [])
        n_par = sum(p.numel() for p in params)
        opt = torch.optim.LBFGS(params, lr=1, max_iter=int(st["mstep_iter"]),
                                history_size=10, line_search_fn="strong_wolfe")
        z = torch.zeros(self.J)
        mu, sigma = 0.0, 1.0
        J_old = float("inf")
        converged = False
        it = 0
        max_time = st.get("max_time", float("inf"))
        t_start = time.perf_counter()
        for it in range(1, int(st["max_iter"]) + 1):
            z_new, se, _ = self.estep(Q.detach(), z, mu, sigma,
                                      int(st["estep_iter"]), st["estep_tol"])
            max_dz = (z_new - z).abs().max().item()
            z = z_new
            mu = z.mean().item()
            sigma = torch.sqrt(((z - mu) ** 2 + se ** 2).mean()).item()
            bt = torch.exp(z)[self.p]

            def closure():
                opt.zero_grad()
                f, _ = self.objective(Q, w, bt)
                f.backward()
                return f

            with torch.no_grad():
                f0 = self.objective(Q, w, bt)[0].item()
            scale = max(1.0, abs(f0))
            opt.param_groups[0]["tolerance_change"] = st["tol"] * self.N * 1e-2
            opt.param_groups[0]["tolerance_grad"] = 1e-8 * scale / n_par
            opt.step(closure)
            with torch.no_grad():
                value = self.objective(Q, w, bt)[0].item()
            total = value + ((z - mu) ** 2).sum().item() / (2 * sigma ** 2)
            change = abs(J_old - total)
            J_old = total
            if change < st["tol"] * self.N and max_dz < st["tol_z"]:
                converged = True
                break
            if time.perf_counter() - t_start > max_time:
                break
        z, se, status = self.estep(Q.detach(), z, mu, sigma, int(st["estep_iter"]), st["estep_tol"])
        return {"Q": Q.detach(), "w": None if w is None else w.detach(), "z": z,
                "mu": mu, "sigma": sigma, "iterations": it, "converged": converged}

    def total(self, Q, w, z, mu, sigma):
        Q = Q.clone().requires_grad_(True)
        if w is not None:
            w = w.clone().requires_grad_(True)
        f, comp = self.objective(Q, w, torch.exp(z)[self.p])
        f.backward()
        prior = ((z - mu) ** 2).sum().item() / (2 * sigma ** 2)
        comp["prior"] = prior
        return f.item() + prior, comp, Q.grad


def write_matrix(path, M):
    np.savetxt(path, M.numpy(), delimiter=",", fmt="%.17g")


def check(prob, st, d_dir):
    """Objective, gradient and one E-step at the common check point."""
    Qc = torch.as_tensor(np.loadtxt(os.path.join(d_dir, "check_Q.csv"), delimiter=",")
                         .reshape(prob.S, prob.K))
    zc = torch.as_tensor(np.loadtxt(os.path.join(d_dir, "check_z.csv"), delimiter=",",
                                    skiprows=1).reshape(-1))
    wc = None
    if prob.learned:
        wc = torch.as_tensor(np.loadtxt(os.path.join(d_dir, "check_w.csv"), delimiter=",")
                             .reshape(prob.S, prob.K))
    tot, comp, grad = prob.total(Qc, wc, zc, st["check_mu"], st["check_sigma"])
    with open(os.path.join(d_dir, "torch_check.csv"), "w") as f:
        f.write("name,value\n")
        f.write("total,%.17g\n" % tot)
        for k, v in comp.items():
            f.write("%s,%.17g\n" % (k, v))
    write_matrix(os.path.join(d_dir, "torch_check_grad.csv"), grad)
    ze, _, _ = prob.estep(Qc, zc, st["check_mu"], st["check_sigma"],
                          int(st["estep_iter"]), st["estep_tol"])
    with open(os.path.join(d_dir, "torch_check_estep.csv"), "w") as f:
        f.write("z\n")
        f.writelines("%.17g\n" % v for v in ze.tolist())


def main():
    d_dir = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    what = sys.argv[3] if len(sys.argv) > 3 else "both"
    torch.set_num_threads(threads)
    st = read_settings(os.path.join(d_dir, "settings.csv"))
    d = np.loadtxt(os.path.join(d_dir, "decisions.csv"), delimiter=",", skiprows=1)
    d = d.reshape(-1, 6)
    av = np.loadtxt(os.path.join(d_dir, "available.csv"), delimiter=",").reshape(
        int(st["S"]), int(st["K"]))
    prob = Problem(d, av, st)
    prob.Q0 = torch.as_tensor(np.loadtxt(os.path.join(d_dir, "start_Q.csv"), delimiter=",")
                              .reshape(prob.S, prob.K))

    with open(os.path.join(d_dir, "torch_version.txt"), "w") as f:
        f.write(torch.__version__ + "\n")
    if what in ("check", "both"):
        check(prob, st, d_dir)
    if what == "check":
        return

    t0 = time.perf_counter()
    fit = prob.fit()
    secs = time.perf_counter() - t0
    tot, _, _ = prob.total(fit["Q"], fit["w"], fit["z"], fit["mu"], fit["sigma"])
    with open(os.path.join(d_dir, "torch_fit.csv"), "w") as f:
        f.write("name,value\n")
        for k, v in [("time_s", secs), ("iterations", fit["iterations"]),
                     ("converged", int(fit["converged"])), ("objective", tot),
                     ("mu", fit["mu"]), ("sigma", fit["sigma"]),
                     ("threads", torch.get_num_threads())]:
            f.write("%s,%.17g\n" % (k, v))
    write_matrix(os.path.join(d_dir, "torch_Q.csv"), fit["Q"])
    if fit["w"] is not None:
        write_matrix(os.path.join(d_dir, "torch_w.csv"), fit["w"])
    with open(os.path.join(d_dir, "torch_z.csv"), "w") as f:
        f.write("z\n")
        f.writelines("%.17g\n" % v for v in fit["z"].tolist())


if __name__ == "__main__":
    main()
