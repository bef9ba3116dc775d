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
#include "fields.h"
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

// The parameters as R sees them: a tabular Q's theta and the default
// learned reward's w are S x K matrices (column-major in R, row-major in the
// core); other parameterisations are plain vectors.
inline bool as_table(const rlpsy::Model& m, bool is_q) {
  return is_q ? m.q_model().is_table() : m.reward_is_pair_table();
}
inline void params_in(const rlpsy::Model& m, SEXP v, bool is_q, double* out) {
  const long n = is_q ? m.n_q() : m.n_w();
  NumericVector x(v);
  if (x.size() != n) stop("internal: %s has the wrong length", is_q ? "theta" : "w");
  if (as_table(m, is_q)) {
    NumericMatrix M(v);
    if (M.nrow() != m.data().S || M.ncol() != m.data().K)
      stop("internal: %s has the wrong shape", is_q ? "Q" : "w");
    to_rows(M, out);
  } else {
    std::copy(x.begin(), x.end(), out);
  }
}
inline SEXP params_out(const rlpsy::Model& m, const double* x, bool is_q) {
  if (as_table(m, is_q)) return from_rows(x, m.data().S, m.data().K);
  return NumericVector(x, x + (is_q ? m.n_q() : m.n_w()));
}

// x = [theta, w] (w only with a learned reward).
inline Eigen::VectorXd pack(const rlpsy::Model& m, SEXP theta, SEXP w) {
  Eigen::VectorXd x(m.n_params());
  params_in(m, theta, true, x.data());
  if (m.learned_reward()) {
    if (Rf_isNull(w)) stop("internal: a learned reward needs w");
    params_in(m, w, false, x.data() + m.n_q());
  }
  return x;
}

// Row-major copy of an R matrix.
inline std::vector<double> row_major(const NumericMatrix& F) {
  std::vector<double> out(static_cast<size_t>(F.nrow()) * F.ncol());
  for (int i = 0; i < F.nrow(); ++i)
    for (int p = 0; p < F.ncol(); ++p) out[static_cast<size_t>(i) * F.ncol() + p] = F(i, p);
  return out;
}

// A Q parameterisation from its R description: list(type = "table" |
// "linear" | "mlp", features = (S*K) x P matrix with rows in row-major
// (s, a) order, hidden); nullptr for the table.
inline std::unique_ptr<rlpsy::QModel> q_model_from(const List& q, long SK) {
  const std::string qt = as<std::string>(q["type"]);
  if (qt == "table") return nullptr;
  if (qt != "linear" && qt != "mlp") stop("internal: unknown Q type");
  NumericMatrix F = q["features"];
  if (F.nrow() != SK) stop("internal: Q features need one row per (state, action)");
  if (qt == "linear")
    return std::unique_ptr<rlpsy::QModel>(new rlpsy::LinearQ(SK, F.ncol(), row_major(F)));
  return std::unique_ptr<rlpsy::QModel>(
      new rlpsy::MlpQ(SK, F.ncol(), as<int>(q["hidden"]), row_major(F)));
}

inline NumericVector components_of(const rlpsy::Components& c) {
  return NumericVector::create(
      _["total"] = c.total, _["behaviour"] = c.behaviour,
      _["bellman"] = c.bellman, _["cql"] = c.cql, _["reward_l2"] = c.reward_l2,
      _["prior"] = c.prior);
}

// The prior means of the participants: one mu recycled, or one per
// participant (a latent regression's x_j' Gamma).
inline std::vector<double> prior_means(const NumericVector& mu, int J) {
  if (mu.size() == 1) return std::vector<double>(J, mu[0]);
  if (mu.size() != J) stop("internal: mu must have length 1 or one per participant");
  return std::vector<double>(mu.begin(), mu.end());
}

// The D x D prior precision of the MVN E-step as a row-major vector; D must
// divide the number of the core's (pseudo-)participants J.
inline std::vector<double> precision_of(const Nullable<NumericMatrix>& prec, int J) {
  NumericMatrix P(prec.get());
  const int D = P.nrow();
  if (D < 1 || P.ncol() != D || J % D != 0) stop("internal: bad prior precision");
  std::vector<double> out(static_cast<size_t>(D) * D);
  for (int a = 0; a < D; ++a)
    for (int b = 0; b < D; ++b) out[a * D + b] = P(a, b);
  return out;
}

// The MVN E-step's result as R sees it.
inline List estep_mvn_list(const rlpsy::EStepMvnResult& r) {
  return List::create(_["z"] = r.z, _["se"] = r.se, _["cov"] = r.cov,
                      _["loglik"] = r.loglik, _["iter"] = r.iter,
                      _["status"] = r.status);
}

}  // namespace rlpsy_glue

#endif
