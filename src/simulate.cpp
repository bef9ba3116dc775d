// Rcpp glue for the task tools in inst/include/rlpsy/simulate.h: map R
// vectors, call the kernels, return named lists. All checking is done in R
// (R/task.R, R/simulate.R).
#include <Rcpp.h>
#include <rlpsy/simulate.h>

#include "interrupt.h"

namespace {

// View of a task's sparse transitions and flags (R logicals are ints).
rlpsy::TaskView task_view(int n_states, int n_actions,
                          const Rcpp::IntegerVector& offsets,
                          const Rcpp::IntegerVector& next,
                          const Rcpp::NumericVector& prob,
                          const Rcpp::LogicalVector& available,
                          const Rcpp::LogicalVector& terminal) {
  return rlpsy::TaskView{n_states,      n_actions,        offsets.begin(),
                         next.begin(),  prob.begin(),     available.begin(),
                         terminal.begin()};
}

// Uniform draws from R's generator, so set.seed() reproduces a simulation.
struct RUnif {
  double operator()() { return R::unif_rand(); }
};

}  // namespace

// Soft value iteration (see rlpsy::soft_value_iteration). Q0 is the S x K
// starting point; returns list(Q, iterations, converged, max_change).
// [[Rcpp::export(rng = false)]]
Rcpp::List task_soft_q_cpp(int n_states, int n_actions,
                           Rcpp::IntegerVector offsets,
                           Rcpp::IntegerVector csr_next, Rcpp::NumericVector prob,
                           Rcpp::LogicalVector available,
                           Rcpp::LogicalVector terminal,
                           Rcpp::NumericVector reward, Rcpp::NumericVector Q0,
                           double gamma, double tau, double tol,
                           int max_iter) {
  const rlpsy::TaskView task =
      task_view(n_states, n_actions, offsets, csr_next, prob, available, terminal);
  Rcpp::NumericVector Q = Rcpp::clone(Q0);
  rlpsy_glue::PollingRunner poller;
  const rlpsy::SoftQStatus status = rlpsy_glue::with_interrupts([&] {
    return rlpsy::soft_value_iteration(task, reward.begin(), gamma, tau, tol,
                                       max_iter, Q.begin(), poller);
  });
  return Rcpp::List::create(Rcpp::Named("Q") = Q,
                            Rcpp::Named("iterations") = status.iterations,
                            Rcpp::Named("converged") = status.converged,
                            Rcpp::Named("max_change") = status.max_change);
}

// Simulates softmax agents (see rlpsy::simulate_agents) with R's RNG.
// Returns list(state, action, next_state) as 1-based integer codes and done
// as a logical, one element per decision, participant-major.
// [[Rcpp::export]]
Rcpp::List task_simulate_cpp(int n_states, int n_actions,
                             Rcpp::IntegerVector offsets,
                             Rcpp::IntegerVector csr_next,
                             Rcpp::NumericVector prob,
                             Rcpp::LogicalVector available,
                             Rcpp::LogicalVector terminal,
                             Rcpp::NumericVector advantage,
                             Rcpp::NumericVector start_cum,
                             Rcpp::NumericVector beta, int n_decisions) {
  const rlpsy::TaskView task =
      task_view(n_states, n_actions, offsets, csr_next, prob, available, terminal);
  const R_xlen_t n_rows = static_cast<R_xlen_t>(beta.size()) * n_decisions;
  Rcpp::IntegerVector state(n_rows), action(n_rows), next_state(n_rows);
  Rcpp::LogicalVector done(n_rows);
  RUnif unif;
  rlpsy_glue::PollingRunner poller;
  rlpsy_glue::with_interrupts([&] {
    rlpsy::simulate_agents(task, advantage.begin(), start_cum.begin(),
                           beta.begin(), static_cast<int>(beta.size()),
                           n_decisions, unif,
                           rlpsy::SimulationOutput{state.begin(), action.begin(),
                                                   next_state.begin(),
                                                   done.begin()},
                           poller);
  });
  state = state + 1;
  action = action + 1;
  next_state = next_state + 1;
  return Rcpp::List::create(Rcpp::Named("state") = state,
                            Rcpp::Named("action") = action,
                            Rcpp::Named("next_state") = next_state,
                            Rcpp::Named("done") = done);
}
