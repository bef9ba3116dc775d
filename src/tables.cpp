// Rcpp glue for the task-level equations used outside a fit (new tasks,
// predictions, the R-level helpers): the identified advantage, the soft
// value, the softmax policy and the values of a Q parameterisation. The
// numerics are the core's own functions (inst/include/rlpsy/model.h,
// params.h), so R computes none of these equations again.
#include "core.h"

using namespace Rcpp;
using namespace rlpsy_glue;

namespace {

std::vector<uint8_t> avail_rows(const LogicalMatrix& av) {
  std::vector<uint8_t> out(static_cast<size_t>(av.nrow()) * av.ncol());
  for (int s = 0; s < av.nrow(); ++s)
    for (int a = 0; a < av.ncol(); ++a)
      out[static_cast<size_t>(s) * av.ncol() + a] = av(s, a) == TRUE;
  return out;
}

}  // namespace

// Identified advantage of Q (S x K) over the available actions; `global`
// NULL (per state) or a logical vector marking the states of the one RMS.
// [[Rcpp::export(rng = false)]]
NumericMatrix advantage_cpp(NumericMatrix Q, LogicalMatrix available, double eps,
                            Nullable<LogicalVector> global = R_NilValue) {
  const int S = Q.nrow(), K = Q.ncol();
  if (available.nrow() != S || available.ncol() != K) stop("internal: shapes differ");
  const std::vector<double> q = row_major(Q);
  const std::vector<uint8_t> av = avail_rows(available);
  std::vector<uint8_t> g;
  if (global.isNotNull()) {
    LogicalVector gl(global.get());
    if (gl.size() != S) stop("internal: global has the wrong length");
    for (int s = 0; s < S; ++s) g.push_back(gl[s] == TRUE);
  }
  std::vector<double> A(q.size());
  rlpsy::advantage_table(q.data(), av.data(), S, K, eps, g.empty() ? nullptr : g.data(),
                         A.data());
  NumericMatrix out = from_rows(A.data(), S, K);
  out.attr("dimnames") = Q.attr("dimnames");
  return out;
}

// Soft value V(s) of each state (0 for a state without available actions).
// [[Rcpp::export(rng = false)]]
NumericVector soft_value_cpp(NumericMatrix Q, LogicalMatrix available, double tau) {
  const int S = Q.nrow(), K = Q.ncol();
  const std::vector<double> q = row_major(Q);
  const std::vector<uint8_t> av = avail_rows(available);
  std::vector<double> work(K);
  NumericVector V(S);
  for (int s = 0; s < S; ++s) {
    bool any = false;
    for (int a = 0; a < K; ++a) any = any || av[static_cast<size_t>(s) * K + a];
    V[s] = any ? rlpsy::soft_value_row(&q[static_cast<size_t>(s) * K],
                                       &av[static_cast<size_t>(s) * K], K, tau,
                                       work.data())
               : 0.0;
  }
  return V;
}

// Policy probabilities of decisions: row i is softmax(beta[i] A(state[i], .))
// over the available actions (state 1-based), n x K.
// [[Rcpp::export(rng = false)]]
NumericMatrix policy_cpp(NumericMatrix A, LogicalMatrix available, NumericVector beta,
                         IntegerVector state) {
  const int S = A.nrow(), K = A.ncol();
  const R_xlen_t n = state.size();
  if (beta.size() != n) stop("internal: beta and state differ in length");
  const std::vector<double> a = row_major(A);
  const std::vector<uint8_t> av = avail_rows(available);
  NumericMatrix P(n, K);
  std::vector<double> p(K);
  for (R_xlen_t i = 0; i < n; ++i) {
    const int s = state[i] - 1;
    if (s < 0 || s >= S) stop("internal: state out of range");
    rlpsy::policy_row(&a[static_cast<size_t>(s) * K], &av[static_cast<size_t>(s) * K], K,
                      beta[i], p.data());
    for (int k = 0; k < K; ++k) P(i, k) = p[k];
  }
  return P;
}

// Q (S x K) of a Q parameterisation at theta, without a fit (features of a
// new task).
// [[Rcpp::export(rng = false)]]
NumericMatrix q_values_cpp(List q, NumericVector theta, int S, int K) {
  const long SK = static_cast<long>(S) * K;
  std::unique_ptr<rlpsy::QModel> qm = q_model_from(q, SK);
  if (!qm) qm.reset(new rlpsy::TableQ(SK));
  if (theta.size() != qm->n_params()) stop("internal: theta has the wrong length");
  std::vector<double> out(SK);
  qm->values(theta.begin(), out.data());
  return from_rows(out.data(), S, K);
}

// theta's gradient and Gauss-Newton curvature for a given dQ and hQ (S*K,
// row-major): the Q parameterisation's backprop and curvature, for tests.
// [[Rcpp::export(rng = false)]]
List q_backprop_cpp(List q, NumericVector theta, NumericVector dQ, NumericVector hQ) {
  const long SK = dQ.size();
  std::unique_ptr<rlpsy::QModel> qm = q_model_from(q, SK);
  if (!qm) qm.reset(new rlpsy::TableQ(SK));
  if (theta.size() != qm->n_params()) stop("internal: theta has the wrong length");
  NumericVector g(qm->n_params()), h(qm->n_params());
  qm->backprop(theta.begin(), dQ.begin(), g.begin());
  qm->curvature(theta.begin(), hQ.begin(), h.begin());
  return List::create(_["gradient"] = g, _["curvature"] = h);
}
