// The work a pass over the data cannot avoid, as a tight scalar loop: for
// each unit u (one participant j in one state s, with n_u decisions) the log
// normaliser of the softmax policy, K exponentials and one log,
//   f = sum_u n_u [m_u + log sum_a exp(beta_u A(s_u, a) - m_u)],
// m_u = beta_u max_a A(s_u, a). Used by bench/bound.R as the yardstick for
// one objective (+ gradient) evaluation of the package. Units are given in
// the package's order (state-major). No R API inside the loops.
#include <Rcpp.h>
#include <cmath>
#include <vector>

// [[Rcpp::export]]
double bound_value(Rcpp::IntegerVector u_state, Rcpp::NumericVector u_beta,
                   Rcpp::NumericVector u_n, Rcpp::NumericVector A_rows,
                   Rcpp::NumericVector amax, int K) {
  const int U = u_state.size();
  const int* st = u_state.begin();
  const double* b = u_beta.begin();
  const double* n = u_n.begin();
  const double* A = A_rows.begin();
  const double* am = amax.begin();
  double f = 0.0;
  for (int u = 0; u < U; ++u) {
    const double* As = A + static_cast<size_t>(st[u]) * K;
    const double bu = b[u], m = bu * am[st[u]];
    double z = 0.0;
    for (int a = 0; a < K; ++a) z += std::exp(bu * As[a] - m);
    f += n[u] * (m + std::log(z));
  }
  return f;
}

// The same pass plus the gradient accumulation the objective needs:
// g(s, .) += n_u beta_u softmax(beta_u A(s, .)).
// [[Rcpp::export]]
Rcpp::List bound_value_grad(Rcpp::IntegerVector u_state, Rcpp::NumericVector u_beta,
                            Rcpp::NumericVector u_n, Rcpp::NumericVector A_rows,
                            Rcpp::NumericVector amax, int K) {
  const int U = u_state.size();
  const int* st = u_state.begin();
  const double* b = u_beta.begin();
  const double* n = u_n.begin();
  const double* A = A_rows.begin();
  const double* am = amax.begin();
  Rcpp::NumericVector g(A_rows.size());
  double* gp = g.begin();
  std::vector<double> p(K);
  double f = 0.0;
  for (int u = 0; u < U; ++u) {
    const size_t row = static_cast<size_t>(st[u]) * K;
    const double* As = A + row;
    const double bu = b[u], m = bu * am[st[u]];
    double z = 0.0;
    for (int a = 0; a < K; ++a) {
      p[a] = std::exp(bu * As[a] - m);
      z += p[a];
    }
    f += n[u] * (m + std::log(z));
    const double w = n[u] * bu / z;
    for (int a = 0; a < K; ++a) gp[row + a] += w * p[a];
  }
  return Rcpp::List::create(Rcpp::Named("value") = f, Rcpp::Named("grad") = g);
}
