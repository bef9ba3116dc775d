// Glue shared by the Rcpp files: the per-fit Core object behind the
// external pointer, its parallel runner, and conversions between R objects
// and the core's arrays. No numerics here.
#ifndef RLPSY_GLUE_CORE_H
#define RLPSY_GLUE_CORE_H

#include <Rcpp.h>
#include <RcppEigen.h>
// TBB through RcppParallel's build of it. Not the umbrella RcppParallel.h:
// it also pulls in RMatrix.h, which uses std::iterator (deprecated in
// C++17), and its parallelFor() builds a new tbb::task_arena on every call
// (about 0.3 ms and a few kB of memory each); a fit makes thousands of
// parallel calls, so each fit keeps one arena instead.
#include <RcppParallel/TBB.h>

#include <memory>
#include <thread>

#include "rlpsy/estep.h"
#include "rlpsy/lbfgs.h"
#include "rlpsy/model.h"
#include "interrupt.h"

namespace rlpsy_glue {

using namespace Rcpp;

// Runs core loops in the fit's task arena (null: serially). Each index's
// work writes only its own slots, so how TBB splits the range, and how the
// range is cut into slices, does not change any result. Between slices (a
// few tens of milliseconds of work each) it asks R, on the main thread, for
// a pending interrupt and throws rlpsy::Interrupted there.
struct ParallelRunner : rlpsy::Runner {
  tbb::task_arena* arena;
  rlpsy_glue::RInterrupt intr;
  explicit ParallelRunner(tbb::task_arena* a) : arena(a) {}
  bool interrupted() const override { return intr(); }
  void operator()(std::size_t n, std::size_t grain,
                  const rlpsy::RangeBody& body) const override {
    if (n == 0) return;
    if (n <= grain) {
      body(0, n);
      poll();
      return;
    }
    const std::size_t threads = arena ? arena->max_concurrency() : 1;
    rlpsy::run_in_slices(n, grain * threads * 2, 0.01, *this,
                         [&](std::size_t b, std::size_t e) {
      if (arena == nullptr) {
        body(b, e);
        return;
      }
      arena->execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(b, e, grain),
                          [&](const tbb::blocked_range<std::size_t>& r) {
                            body(r.begin(), r.end());
                          });
      });
    });
  }
};

// The per-fit object behind the external pointer: the model (data and work
// arrays), the L-BFGS memory kept across M-steps, and the task arena.
struct Core {
  rlpsy::Model model;
  rlpsy::LbfgsMemory memory;
  std::unique_ptr<tbb::task_arena> arena;
  int arena_threads = 0;
  Core(rlpsy::Data d, rlpsy::Settings s) : model(std::move(d), s) {}

  // A runner with `threads` threads; the arena is made once per thread count.
  ParallelRunner runner(int threads) {
    // more threads than the hardware runs would only make TBB warn (R caps
    // `threads` with a message; results do not depend on the count)
    const int hw = static_cast<int>(std::thread::hardware_concurrency());
    if (hw > 0 && threads > hw) threads = hw;
    if (threads <= 1) return ParallelRunner(nullptr);
    if (!arena || arena_threads != threads) {
      arena.reset(new tbb::task_arena(threads));
      arena_threads = threads;
    }
    return ParallelRunner(arena.get());
  }
};

inline rlpsy::Settings settings_from(const List& s) {
  rlpsy::Settings out;
  out.gamma = as<double>(s["gamma"]);
  out.tau = as<double>(s["tau"]);
  out.eps = as<double>(s["eps"]);
  out.lambda_bell = as<double>(s["lambda_bell"]);
  out.lambda_cql = as<double>(s["lambda_cql"]);
  out.lambda_r = as<double>(s["lambda_r"]);
  out.global_norm = s.containsElementNamed("normalise") &&
                    as<std::string>(s["normalise"]) == "global";
  return out;
}

inline Core* core_of(SEXP ptr) {
  XPtr<Core> p(ptr);
  if (!p) stop("internal: the fit's core object is gone (was it saved and reloaded?)");
  return p.get();
}

// R S x K (column-major) -> core parameters (row-major), and back.
inline void to_rows(const NumericMatrix& M, double* out) {
  const int S = M.nrow(), K = M.ncol();
  for (int s = 0; s < S; ++s)
    for (int a = 0; a < K; ++a) out[static_cast<size_t>(s) * K + a] = M(s, a);
}
inline NumericMatrix from_rows(const double* x, int S, int K) {
  NumericMatrix M(S, K);
  for (int s = 0; s < S; ++s)
    for (int a = 0; a < K; ++a) M(s, a) = x[static_cast<size_t>(s) * K + a];
  return M;
}

inline Eigen::VectorXd pack(const rlpsy::Model& m, const NumericMatrix& Q,
                     Nullable<NumericMatrix> w) {
  const int S = m.data().S, K = m.data().K;
  if (Q.nrow() != S || Q.ncol() != K) stop("internal: Q has the wrong shape");
  Eigen::VectorXd x(m.n_params());
  to_rows(Q, x.data());
  if (m.learned_reward()) {
    if (w.isNull()) stop("internal: a learned reward needs w");
    NumericMatrix W(w.get());
    if (W.nrow() != S || W.ncol() != K) stop("internal: w has the wrong shape");
    to_rows(W, x.data() + m.n_q());
  }
  return x;
}

inline NumericVector components_of(const rlpsy::Components& c) {
  return NumericVector::create(
      _["total"] = c.total, _["behaviour"] = c.behaviour,
      _["bellman"] = c.bellman, _["cql"] = c.cql, _["reward_l2"] = c.reward_l2,
      _["prior"] = c.prior);
}


}  // namespace rlpsy_glue

#endif
