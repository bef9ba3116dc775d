// Rcpp glue for the numerical core in inst/include/rlpsy: converts R objects,
// calls the core, returns named lists. No numerics here.
#include "core.h"

using namespace Rcpp;
using namespace rlpsy_glue;

// [[Rcpp::export(rng = false)]]
SEXP core_new(List enc, List settings, int shards = 1) {
  rlpsy::RawDecisions raw;
  raw.n_participants = static_cast<int>(Rf_xlength(enc["offsets"])) - 1;
  raw.n_states = as<int>(enc["n_states"]);
  raw.n_actions = as<int>(enc["n_actions"]);
  read_columns(enc, raw);
  if (enc.containsElementNamed("behaviour_states") &&
      !Rf_isNull(enc["behaviour_states"])) {
    if (Rf_xlength(enc["behaviour_states"]) != raw.n_states)
      stop("internal: behaviour_states has the wrong length");
    raw.behaviour = int_field(enc, "behaviour_states");
  }
  Core* core;
  try {
    rlpsy_glue::PollingRunner poller;
    core = new Core(rlpsy::compress(raw, poller, shards), settings_from(settings));
  } catch (const rlpsy::Interrupted&) {
    throw Rcpp::internal::InterruptedException();
  } catch (std::exception& e) {
    stop("internal: %s", e.what());
  }
  return XPtr<Core>(core, true);
}

// [[Rcpp::export(rng = false)]]
void core_set_settings(SEXP ptr, List settings) {
  core_of(ptr)->model.set_settings(settings_from(settings));
}

// [[Rcpp::export(rng = false)]]
List core_info(SEXP ptr) {
  const rlpsy::Model& m = core_of(ptr)->model;
  const rlpsy::Data& d = m.data();
  return List::create(_["n_decisions"] = static_cast<double>(d.N),
                      _["n_participants"] = d.J, _["n_states"] = d.S,
                      _["n_actions"] = d.K,
                      _["n_units"] = static_cast<double>(d.n_units()),
                      _["n_cells"] = static_cast<double>(d.n_cells()),
                      _["n_tuples"] = static_cast<double>(d.b_n.size()),
                      _["n_shards"] = static_cast<int>(d.shards.size()),
                      _["n_theta"] = static_cast<double>(m.n_q()),
                      _["n_w"] = static_cast<double>(m.n_w()));
}

// [[Rcpp::export(rng = false)]]
List core_objective(SEXP ptr, SEXP theta, SEXP w,
                    NumericVector z, NumericVector mu, double sigma, int threads,
                    bool gradient, Nullable<NumericMatrix> prec = R_NilValue) {
  return rlpsy_glue::with_interrupts([&]() -> List {
    Core* core = core_of(ptr);
    rlpsy::Model& m = core->model;
    if (z.size() != m.data().J) stop("internal: z has the wrong length");
    Eigen::VectorXd x = pack(m, theta, w);
    Eigen::VectorXd g(m.n_params());
    ParallelRunner run = core->runner(threads);
    m.set_beta(z.begin());
    rlpsy::Components c;
    m.value_grad(x.data(), gradient ? g.data() : nullptr, run, &c);
    const std::vector<double> mus = prior_means(mu, m.data().J);
    if (prec.isNotNull()) {
      const std::vector<double> P = precision_of(prec, m.data().J);
      const int D = static_cast<int>(std::lround(std::sqrt(double(P.size()))));
      c.prior = rlpsy::prior_term_mvn(z.begin(), mus.data(), P.data(), m.data().J / D, D);
    } else {
      c.prior = m.prior(z.begin(), mus.data(), sigma);
    }
    c.total += c.prior;
    List out = List::create(_["value"] = c.total, _["components"] = components_of(c));
    if (gradient) {
      out["grad_theta"] = params_out(m, g.data(), true);
      out["grad_w"] = m.learned_reward() ? RObject(params_out(m, g.data() + m.n_q(), false))
                                         : RObject(R_NilValue);
    }
    return out;
  });
}

// The E-step at theta (estep in estep.h) for the participants `active`
// (0-based; all when NULL), prior N(mu_j, sigma^2). With `prec` (the D x D
// prior precision Sigma^-1), the E-step with D temperatures per
// participant instead (estep_mvn): the core's pseudo-participant j * D + d
// holds participant j's decisions of dimension d, z0 and mu are J*D in that
// order (mu may have length 1), sigma and active are unused, and the
// result adds cov (J*D*D: each participant's posterior covariance (-H)^-1,
// row-major), with loglik, iter and status per participant (J).
// [[Rcpp::export(rng = false)]]
List core_estep(SEXP ptr, SEXP theta, NumericVector z0, NumericVector mu,
                double sigma, int threads, int max_iter, double tol,
                Nullable<IntegerVector> active = R_NilValue,
                Nullable<NumericMatrix> prec = R_NilValue) {
  return rlpsy_glue::with_interrupts([&]() -> List {
    Core* core = core_of(ptr);
    rlpsy::Model& m = core->model;
    const rlpsy::Data& d = m.data();
    if (z0.size() != d.J) stop("internal: z0 has the wrong length");
    std::vector<double> th(m.n_q());
    params_in(m, theta, true, th.data());
    ParallelRunner run = core->runner(threads);
    m.advantage(th.data(), run);
    rlpsy::EStepOptions opt;
    opt.max_iter = max_iter;
    opt.tol = tol;
    if (prec.isNotNull()) {
      const std::vector<double> P = precision_of(prec, d.J);
      const int D = NumericMatrix(prec.get()).nrow();
      return estep_mvn_list(rlpsy::estep_mvn(d, m.A().data(), m.amax().data(), D,
                                             z0.begin(), prior_means(mu, d.J).data(),
                                             P.data(), opt, run));
    }
    std::vector<int> act;
    if (active.isNotNull()) {
      IntegerVector a(active.get());
      for (int j : a) {
        if (j < 0 || j >= d.J) stop("internal: active participant out of range");
        act.push_back(j);
      }
    }
    const std::vector<double> mus = prior_means(mu, d.J);
    rlpsy::EStepResult r = rlpsy::estep(d, m.A().data(), m.amax().data(),
                                        z0.begin(), mus.data(), sigma, opt, run, act);
    return List::create(_["z"] = r.z, _["se"] = r.se, _["loglik"] = r.loglik,
                        _["iter"] = r.iter, _["status"] = r.status);
  });
}

// L-BFGS on x = [theta, w] from x for an objective `eval(x, g)` (g null: the
// value only) at the current person nodes: the preconditioner from the
// curvature at x and those nodes, then the minimisation with the L-BFGS
// memory kept across M-steps. Returns the record; x is the minimiser.
template <class Eval>
rlpsy::LbfgsResult mstep_lbfgs(Core* core, Eigen::VectorXd& x, int max_iter,
                               double tol, bool reset_memory, Eval eval) {
  rlpsy::Model& m = core->model;
  if (reset_memory) core->memory.clear();
  core->memory.hinv.resize(m.n_params());
  m.curvature_inverse(x.data(), core->memory.hinv.data());
  core->memory.precond = nullptr;
  // Bellman-dominated curvature (observed reward): the tuple-based
  // preconditioner instead of the diagonal
  if (!m.learned_reward() &&
      m.bellman_precond_setup(x.data(), core->memory.hinv.data())) {
    core->memory.precond = [&m](const Eigen::VectorXd& in, Eigen::VectorXd& out) {
      m.bellman_precond_apply(in.data(), out.data());
    };
  }
  rlpsy::LbfgsOptions opt;
  opt.max_iter = max_iter;
  opt.tol = tol;
  auto fg = [&](const Eigen::VectorXd& xx, Eigen::VectorXd& gg) {
    return eval(xx, gg.data());
  };
  return rlpsy::lbfgs_minimize(fg, x, core->memory, opt);
}

// The result of an M-step as R sees it.
inline List mstep_result(const rlpsy::Model& m, const Eigen::VectorXd& x,
                         const rlpsy::Components& c, const rlpsy::LbfgsResult& r) {
  return List::create(
      _["theta"] = params_out(m, x.data(), true),
      _["w"] = m.learned_reward() ? RObject(params_out(m, x.data() + m.n_q(), false))
                                  : RObject(R_NilValue),
      _["value"] = c.total, _["components"] = components_of(c),
      _["iter"] = r.iter, _["n_eval"] = r.n_eval, _["status"] = r.status,
      _["decrement"] = r.decrement);
}

// The M-step: L-BFGS on theta = [Q, w] from (Q, w). With profile = FALSE,
// beta = exp(z) stays fixed (the plain GEM M-step). With profile = TRUE, it
// minimises the profiled objective J*(theta) = min_z J(theta, z) for the
// fixed prior (mu, sigma): every evaluation first runs the exact E-step at
// theta (warm-started from the previous evaluation's z), and by the envelope
// theorem dJ*/dtheta is dJ/dtheta at z*(theta), so L-BFGS sees the coupling
// between Q and the betas and converges superlinearly where EM crawls.
// mu: one prior mean, or one per participant. Returns theta, the E-step at
// the returned theta (profile only), the components there and the L-BFGS
// record.
// [[Rcpp::export(rng = false)]]
List core_mstep(SEXP ptr, SEXP theta, SEXP w,
                NumericVector z, NumericVector mu, double sigma, bool profile,
                int threads, int max_iter, double tol, bool reset_memory,
                int estep_iter = 100, double estep_tol = 1e-8,
                Nullable<NumericMatrix> prec = R_NilValue) {
  return rlpsy_glue::with_interrupts([&]() -> List {
    Core* core = core_of(ptr);
    rlpsy::Model& m = core->model;
    const rlpsy::Data& d = m.data();
    if (z.size() != d.J) stop("internal: z has the wrong length");
    const std::vector<double> mus = prior_means(mu, d.J);
    Eigen::VectorXd x = pack(m, theta, w);
    ParallelRunner run = core->runner(threads);
    std::vector<double> zcur(z.begin(), z.end());
    m.set_beta(zcur.data());
    rlpsy::EStepOptions eopt;
    eopt.max_iter = estep_iter;
    eopt.tol = estep_tol;
    rlpsy::EStepResult e;
    // several temperatures per participant: the MVN E-step and prior
    const bool mvn = prec.isNotNull();
    const std::vector<double> P = mvn ? precision_of(prec, d.J) : std::vector<double>();
    const int D = mvn ? static_cast<int>(std::lround(std::sqrt(double(P.size())))) : 1;
    rlpsy::EStepMvnResult em;
    // keep the components of the last evaluation: it is almost always at the
    // returned point, which then needs no extra pass over the data
    rlpsy::Components c;
    Eigen::VectorXd last_x;
    auto eval = [&](const Eigen::VectorXd& xx, double* gg) {
      last_x = xx;
      if (profile) {
        m.advantage(xx.data(), run);
        if (mvn) {
          em = rlpsy::estep_mvn(d, m.A().data(), m.amax().data(), D, zcur.data(),
                                mus.data(), P.data(), eopt, run);
          zcur = em.z;
        } else {
          e = rlpsy::estep(d, m.A().data(), m.amax().data(), zcur.data(),
                           mus.data(), sigma, eopt, run);
          zcur = e.z;
        }
        m.set_beta(zcur.data());
      }
      double f = m.value_grad(xx.data(), gg, run, &c);
      if (profile) {
        c.prior = mvn ? rlpsy::prior_term_mvn(zcur.data(), mus.data(), P.data(), d.J / D, D)
                      : m.prior(zcur.data(), mus.data(), sigma);
        c.total += c.prior;
        f = c.total;
      }
      return f;
    };
    rlpsy::LbfgsResult r = mstep_lbfgs(core, x, max_iter, tol, reset_memory, eval);
    if (last_x != x) eval(x, nullptr);
    List out = mstep_result(m, x, c, r);
    if (profile && mvn) out["estep"] = estep_mvn_list(em);
    else if (profile)
      out["estep"] = List::create(_["z"] = e.z, _["se"] = e.se,
                                  _["loglik"] = e.loglik, _["iter"] = e.iter,
                                  _["status"] = e.status);
    return out;
  });
}

// The M-step of the marginal (quadrature) EM: L-BFGS on theta = [Q, w]
// minimising sum_j sum_g w_g * (behaviour of j at beta = exp(z_g)) plus the
// penalties, with the person nodes fixed: participant j's nodes are
// [node_off[j], node_off[j+1]) of node_z and node_w (adaptive Gauss-Hermite
// nodes with normalised posterior weights). The prior does not depend on
// theta and is left out (components: prior = 0).
// [[Rcpp::export(rng = false)]]
List core_mstep_nodes(SEXP ptr, SEXP theta, SEXP w, IntegerVector node_off,
                      NumericVector node_z, NumericVector node_w, int threads,
                      int max_iter, double tol, bool reset_memory) {
  return rlpsy_glue::with_interrupts([&]() -> List {
    Core* core = core_of(ptr);
    rlpsy::Model& m = core->model;
    const int J = m.data().J;
    if (node_off.size() != J + 1 || node_off[0] != 0 ||
        node_z.size() != node_off[J] || node_w.size() != node_off[J])
      stop("internal: the person nodes do not match the participants");
    for (int j = 0; j < J; ++j)
      if (node_off[j + 1] < node_off[j]) stop("internal: node offsets must not decrease");
    Eigen::VectorXd x = pack(m, theta, w);
    ParallelRunner run = core->runner(threads);
    m.set_nodes(node_off.begin(), node_z.begin(), node_w.begin());
    rlpsy::Components c;
    Eigen::VectorXd last_x;
    auto eval = [&](const Eigen::VectorXd& xx, double* gg) {
      last_x = xx;
      return m.value_grad(xx.data(), gg, run, &c);
    };
    rlpsy::LbfgsResult r = mstep_lbfgs(core, x, max_iter, tol, reset_memory, eval);
    if (last_x != x) eval(x, nullptr);
    return mstep_result(m, x, c, r);
  });
}

// The task's values (soft-Q fixed point of the observed reward under the
// empirical transitions), S x K.
// [[Rcpp::export(rng = false)]]
List core_task_q(SEXP ptr, int max_iter, double tol) {
  return rlpsy_glue::with_interrupts([&]() -> List {
    const rlpsy::Model& m = core_of(ptr)->model;
    const int S = m.data().S, K = m.data().K;
    std::vector<double> q(static_cast<size_t>(S) * K);
    rlpsy_glue::PollingRunner poll;
    const int it = m.task_values(q.data(), max_iter, tol, poll);
    return List::create(_["Q"] = from_rows(q.data(), S, K), _["iter"] = it);
  });
}

// Q (S x K) of theta under the fit's Q parameterisation.
// [[Rcpp::export(rng = false)]]
NumericMatrix core_q(SEXP ptr, SEXP theta) {
  const rlpsy::Model& m = core_of(ptr)->model;
  std::vector<double> th(m.n_q());
  params_in(m, theta, true, th.data());
  const int S = m.data().S, K = m.data().K;
  std::vector<double> q(static_cast<size_t>(S) * K);
  m.q_model().values(th.data(), q.data());
  return from_rows(q.data(), S, K);
}

// The identified advantage of theta under the fit's settings (per-state or
// global normalisation), S x K, 0 for unavailable actions.
// [[Rcpp::export(rng = false)]]
NumericMatrix core_advantage(SEXP ptr, SEXP theta) {
  Core* core = core_of(ptr);
  rlpsy::Model& m = core->model;
  std::vector<double> th(m.n_q());
  params_in(m, theta, true, th.data());
  m.advantage(th.data(), rlpsy::Runner());
  return from_rows(m.A().data(), m.data().S, m.data().K);
}

// The Bellman tuples (s, a, s', d) of the fit's data, 0-based, with their
// counts and mean observed reward, in the core's order.
// [[Rcpp::export(rng = false)]]
List core_tuples(SEXP ptr) {
  const rlpsy::Data& d = core_of(ptr)->model.data();
  IntegerVector done(d.b_done.begin(), d.b_done.end());
  return List::create(_["state"] = IntegerVector(d.b_s.begin(), d.b_s.end()),
                      _["action"] = IntegerVector(d.b_a.begin(), d.b_a.end()),
                      _["next_state"] = IntegerVector(d.b_next.begin(), d.b_next.end()),
                      _["done"] = done, _["n"] = NumericVector(d.b_n.begin(), d.b_n.end()),
                      _["reward"] = NumericVector(d.b_rbar.begin(), d.b_rbar.end()));
}

// The Q and reward parameterisations. q: list(type = "table" | "linear" |
// "mlp", features = (S*K) x P matrix, rows in row-major (s, a) order, hidden).
// r: NULL or list(type = "table", index = 0-based parameter of each tuple,
// n = number of parameters) or list(type = "linear", features = tuples x P).
// [[Rcpp::export(rng = false)]]
void core_set_params(SEXP ptr, List q, Nullable<List> r = R_NilValue) {
  rlpsy::Model& m = core_of(ptr)->model;
  const long SK = static_cast<long>(m.data().S) * m.data().K;
  const long T = static_cast<long>(m.data().b_n.size());
  std::unique_ptr<rlpsy::QModel> qm = q_model_from(q, SK);
  std::unique_ptr<rlpsy::RewardModel> rm;
  if (r.isNotNull() && m.learned_reward()) {
    List rl(r.get());
    const std::string rt = as<std::string>(rl["type"]);
    if (rt == "linear") {
      NumericMatrix F = rl["features"];
      if (F.nrow() != T) stop("internal: reward features need one row per tuple");
      rm.reset(new rlpsy::LinearReward(F.ncol(), row_major(F)));
    } else if (rt == "table") {
      IntegerVector idx = rl["index"];
      const long n = as<long>(rl["n"]);
      if (idx.size() != T) stop("internal: reward index needs one entry per tuple");
      std::vector<long> ix(idx.begin(), idx.end());
      for (long i : ix)
        if (i < 0 || i >= n) stop("internal: reward index out of range");
      rm.reset(new rlpsy::TableReward(n, std::move(ix), {}));
    } else {
      stop("internal: unknown reward type");
    }
  }
  m.set_params(std::move(qm), std::move(rm));
}

// The learned reward per Bellman tuple at w.
// [[Rcpp::export(rng = false)]]
NumericVector core_reward(SEXP ptr, SEXP w) {
  const rlpsy::Model& m = core_of(ptr)->model;
  if (!m.learned_reward()) stop("internal: the reward is observed");
  std::vector<double> wv(m.n_w());
  params_in(m, w, false, wv.data());
  NumericVector r(m.data().b_n.size());
  m.reward_values(wv.data(), r.begin());
  return r;
}

// [[Rcpp::export(rng = false)]]
bool core_alive(SEXP ptr) {
  if (TYPEOF(ptr) != EXTPTRSXP) return false;
  return R_ExternalPtrAddr(ptr) != nullptr;
}
