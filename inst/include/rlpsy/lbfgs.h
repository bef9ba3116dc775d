// rlpsy core: L-BFGS with a monotone backtracking line search (the M-step).
//
// Minimises f(x) with the two-loop recursion (Nocedal & Wright, Alg. 7.4)
// and an Armijo backtracking line search with safeguarded quadratic
// interpolation, so every accepted step strictly decreases f: the M-step can
// never increase J. The curvature memory persists between calls (warm start
// across EM iterations, where the objective changes only through beta); a
// pair is stored only when s'y > 0, and a non-descent direction resets the
// memory. Written here rather than taken from a library so that the memory
// can be kept across calls and the core has no dependency beyond Eigen.
// Plain C++, no R headers.
#ifndef RLPSY_LBFGS_H
#define RLPSY_LBFGS_H

#include <Eigen/Core>
#include <cmath>
#include <deque>
#include <functional>
#include <vector>

namespace rlpsy {

enum MStatus { kMConverged = 0, kMMaxIter = 1, kMLineSearch = 2, kMNonFinite = 3 };

// Stopping is scale-free: `tol` is in the units of f itself (for the fit, J
// in nats; the R side passes a tolerance per decision times the number of
// decisions), never relative to |f|, whose size depends on constants such as
// the within-tuple variance of the reward.
struct LbfgsOptions {
  int max_iter = 20;   // iterations per call
  int memory = 10;     // curvature pairs kept
  double tol = 1e-8;   // stop when the predicted decrease -g'd / 2 <= tol
};

struct LbfgsMemory {
  std::deque<Eigen::VectorXd> s, y;
  std::deque<double> rho;
  // inverse of a positive diagonal curvature estimate (preconditioner);
  // empty means the identity
  Eigen::VectorXd hinv;
  // or a symmetric positive definite operator out = M^-1 in (takes
  // precedence over hinv when set)
  std::function<void(const Eigen::VectorXd&, Eigen::VectorXd&)> precond;
  void clear() {  // forget the pairs (the preconditioner stays)
    s.clear();
    y.clear();
    rho.clear();
  }
};

struct LbfgsResult {
  double f = 0, decrement = 0;
  int iter = 0, n_eval = 0, status = kMMaxIter;
};

// M^-1 v for the preconditioner of mem (precond, diag(hinv) or I)
inline Eigen::VectorXd apply_precond(const LbfgsMemory& mem,
                                     const Eigen::VectorXd& v) {
  if (mem.precond) {
    Eigen::VectorXd out(v.size());
    mem.precond(v, out);
    return out;
  }
  if (mem.hinv.size() == v.size()) return v.cwiseProduct(mem.hinv);
  return v;
}

// d = -H g by the two-loop recursion over the stored pairs, with the
// initial matrix H0 = c * M^-1 (M^-1 = precond, or diag(hinv), or the
// identity), c = s'y / (y' M^-1 y) from the newest pair.
inline Eigen::VectorXd lbfgs_direction(const LbfgsMemory& mem,
                                       const Eigen::VectorXd& g) {
  Eigen::VectorXd q = -g;
  const int m = static_cast<int>(mem.s.size());
  std::vector<double> alpha(m);
  for (int i = m - 1; i >= 0; --i) {
    alpha[i] = mem.rho[i] * mem.s[i].dot(q);
    q -= alpha[i] * mem.y[i];
  }
  q = apply_precond(mem, q);
  if (m > 0) {
    const Eigen::VectorXd& y = mem.y[m - 1];
    q *= mem.s[m - 1].dot(y) / y.dot(apply_precond(mem, y));
  }
  for (int i = 0; i < m; ++i) {
    const double b = mem.rho[i] * mem.y[i].dot(q);
    q += (alpha[i] - b) * mem.s[i];
  }
  return q;
}

// Minimise fg(x, g) -> f (fills g) from x, updating x in place.
template <class FG>
LbfgsResult lbfgs_minimize(FG&& fg, Eigen::VectorXd& x, LbfgsMemory& mem,
                           const LbfgsOptions& opt) {
  const Eigen::Index n = x.size();
  LbfgsResult res;
  Eigen::VectorXd g(n), xn(n), gn(n);
  double f = fg(x, g);
  res.n_eval = 1;
  if (!std::isfinite(f) || !g.allFinite()) {
    res.f = f;
    res.status = kMNonFinite;
    return res;
  }
  for (res.iter = 0; res.iter < opt.max_iter; ++res.iter) {
    if (n == 0) {
      res.status = kMConverged;
      break;
    }
    Eigen::VectorXd d = lbfgs_direction(mem, g);
    double slope = g.dot(d);
    if (!(slope < 0.0)) {  // not a descent direction: restart
      mem.clear();
      d = lbfgs_direction(mem, g);
      slope = g.dot(d);
    }
    // the quasi-Newton model's predicted decrease: the scale-free test
    res.decrement = -0.5 * slope;
    if (!(res.decrement > opt.tol)) {
      res.status = kMConverged;
      break;
    }
    double step = mem.s.empty() ? std::min(1.0, 1.0 / d.cwiseAbs().maxCoeff()) : 1.0;
    if (mem.s.empty() && (mem.precond || mem.hinv.size() == n))
      step = 1.0;  // Newton-scaled
    double fn = 0.0;
    bool ok = false;
    for (int ls = 0; ls < 50; ++ls) {
      xn = x + step * d;
      fn = fg(xn, gn);
      ++res.n_eval;
      if (std::isfinite(fn) && fn <= f + 1e-4 * step * slope && fn < f) {
        ok = true;
        break;
      }
      // quadratic interpolation of f along d, kept within [0.1, 0.5] step
      double next = 0.5 * step;
      if (std::isfinite(fn)) {
        const double denom = 2.0 * (fn - f - slope * step);
        if (denom > 0) next = -slope * step * step / denom;
      }
      step = std::min(0.5 * step, std::max(0.1 * step, next));
    }
    if (!ok) {  // at the rounding floor of f a converged point fails here
      res.status = res.decrement <= 1e3 * opt.tol ? kMConverged : kMLineSearch;
      break;
    }
    Eigen::VectorXd s = xn - x, y = gn - g;
    const double sy = s.dot(y);
    if (sy > 1e-12 * s.norm() * y.norm()) {
      if (static_cast<int>(mem.s.size()) == opt.memory) {
        mem.s.pop_front();
        mem.y.pop_front();
        mem.rho.pop_front();
      }
      mem.s.push_back(s);
      mem.y.push_back(y);
      mem.rho.push_back(1.0 / sy);
    }
    const double decrease = f - fn;
    x.swap(xn);
    g.swap(gn);
    f = fn;
    if (decrease <= 1e-3 * opt.tol && res.decrement <= 1e3 * opt.tol) {
      ++res.iter;  // f no longer moves, and the model expects little more
      res.status = kMConverged;
      break;
    }
  }
  res.f = f;
  return res;
}

}  // namespace rlpsy

#endif
