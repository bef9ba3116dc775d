# The fit driver: prepare (encode, initialise) -> optimise (generalised EM
# on the C++ core) -> build the rlpsy_fit object. DESIGN.md section 1.

#' Fit the RL psychometric model by generalised EM
#'
#' Explains each participant's decisions by a softmax policy
#' \eqn{\pi(a \mid s, \beta_j) = \mathrm{softmax}_a(\beta_j A(s, a))} over
#' the identified advantage \eqn{A} of a shared task value function
#' \eqn{Q(s, a)} and estimates all of it jointly: one inverse temperature
#' \eqn{\beta_j > 0} per participant ("decisiveness"), the tabular \eqn{Q},
#' and, when no reward is observed, a bounded reward
#' \eqn{r(s, a) = \tanh(w_{sa})} (inverse reinforcement learning).
#'
#' @section Model:
#' Per state, the advantage is \eqn{Q} centred over the available actions and
#' scaled to unit root-mean-square, \eqn{A = c / \sqrt{\mathrm{mean}(c^2) +
#' \varepsilon}}, which removes the two symmetries of the softmax likelihood
#' (per-state shifts of \eqn{Q} and the \eqn{(cQ, \beta / c)} co-scaling), so
#' \eqn{\beta_j} is on a scale shared by all participants. The objective
#' (minimised) is the behaviour negative log-likelihood plus
#' `lambda_bell` times the summed squared soft Bellman residuals
#' \eqn{\delta_t = Q(s_t, a_t) - r_t - \gamma (1 - d_t) V(s'_t)} with
#' \eqn{V(s) = \tau \log \sum_a e^{Q(s, a) / \tau}}, plus `lambda_cql` times
#' the CQL term, plus `lambda_r` \eqn{\|w\|^2}, plus the normal prior on
#' \eqn{z_j = \log \beta_j}; see [rlpsy_control()] for the weights.
#'
#' @section Choice sets:
#' A state's choice set is its available actions that were taken there at
#' least once. An action never taken in a state has no observed transitions,
#' so the data cannot value it; under the behaviour term alone its value would
#' drift to minus infinity and squeeze the others' advantage (beta would grow
#' without bound). Such pairs are listed in `fit$diagnostics$never_taken`
#' (with a warning when `available` marked them available); with `q = "task"`
#' and a `task`, the task values them and they stay.
#'
#' @section What beta measures:
#' With an observed reward (the default `q = "joint"` or `q = "task"`),
#' \eqn{\beta_j} is how decisively and consistently participant j acts on the
#' task's values: the fitted advantage stays within a few per cent of the
#' task's (`summary()` shows this "task consistency"). With a learned reward
#' (inverse RL), Q is shaped by the population's choices, and \eqn{\beta_j} is
#' decisiveness relative to the population's inferred values.
#'
#' @section Algorithm:
#' Q starts from the task's values (observed reward) or the pooled, smoothed
#' log action frequencies (learned reward), `z = 0`, and the prior is
#' \eqn{N(0, 1)}. Each EM iteration runs the safeguarded Newton E-step for every
#' \eqn{z_j} (in parallel) and, for the empirical-Bayes prior, finds the fixed
#' point of E-step and prior update (\eqn{\mu = \mathrm{mean}(\hat z)},
#' \eqn{\sigma^2 = \mathrm{mean}((\hat z - \mu)^2 + SE^2)}, accelerated by
#' SQUAREM); then the M-step minimises the *profiled* objective
#' \eqn{J^*(Q, w) = \min_z J(Q, w, z)} for that prior by preconditioned L-BFGS,
#' with the exact E-step inside every evaluation (its gradient is
#' \eqn{\partial J / \partial Q} at \eqn{z^*}), so the coupling of Q and the
#' betas no longer slows the fit to EM's linear rate. It stops when the
#' M-step has converged (its predicted decrease is below `tol` per decision)
#' and neither any \eqn{z_j} nor the prior moved more than `tol_z` in the
#' iteration. The fit ends with an E-step under
#' the returned \eqn{Q} and prior, so [coef()], [confint()] and `fit$prior`
#' agree.
#' Standard errors of \eqn{\log\beta_j} come from the exact second derivative
#' of the participant's log posterior at its mode; they are conditional on
#' the estimated \eqn{Q} (its uncertainty is not propagated).
#'
#' @section Latent regression:
#' With `person_formula`, the prior of \eqn{z_j} is \eqn{N(x_j'\Gamma,
#' \sigma^2)} with \eqn{x_j} the participant's row of the design of
#' `person_formula` on `person_data` (as mirt's `covdata` or TAM's latent
#' regression), and the empirical-Bayes step becomes the EM update of a
#' normal regression with latent responses: \eqn{\Gamma} is the least-squares
#' fit of the posterior modes (MAP) or means (marginal) on \eqn{X}, and
#' \eqn{\sigma^2 = \mathrm{mean}((\hat z - X\Gamma)^2 + v)} with \eqn{v} the
#' posterior variances. Scores shrink toward the covariate-predicted mean.
#' `fit$prior` is then a list: `coefficients` (terms x 1 matrix), `se`,
#' `vcov`, `sigma` (residual SD), `mu` (the mean of the prior means, used
#' for participants without covariates, e.g. in [predict.rlpsy_fit()]),
#' `mean` (every participant's \eqn{x_j'\Gamma}) and `formula`. The
#' covariance of \eqn{\Gamma} is \eqn{\sigma^2 (X' R X)^{-1}}, \eqn{R =
#' \mathrm{diag}(1 - v_j / \sigma^2)}: the inverse information of
#' \eqn{\Gamma} when the unshrunk estimates are normal with variance
#' \eqn{\sigma^2 + s_j^2} (\eqn{s_j} their standard error), so measurement
#' error widens it; it is conditional on Q, like every standard error of
#' the fit. Without `person_formula`, `fit$prior` is `c(mu, sigma)` as
#' before. With D > 1 dimensions of beta (`dimension`), the prior of
#' \eqn{z_j \in R^D} is \eqn{N(\Gamma' x_j, \Sigma)}: \eqn{\Gamma} is a
#' terms x dimensions matrix (the least-squares fit of each dimension's
#' modes or means on \eqn{X}), \eqn{\Sigma} the residual covariance
#' (\eqn{\mathrm{mean}_j(r_j r_j' + V_j)}), and `fit$prior` holds `mu`,
#' `Sigma`, `coefficients` and `se` (terms x dimensions), `vcov` (the
#' covariance of \eqn{\mathrm{vec}(\Gamma)}, rows `"dimension:term"`, the
#' inverse of \eqn{\sum_j W_j \otimes x_j x_j'} with \eqn{W_j =
#' \Sigma^{-1}(\Sigma - V_j)\Sigma^{-1} = (\Sigma + S_j)^{-1}}, the same
#' approximation as for one dimension), `mean` (participants x dimensions)
#' and `formula`.
#'
#' @section Marginal likelihood:
#' `method = "marginal"` fits Q (and w) and the prior by maximising the
#' marginal likelihood of the decisions, each \eqn{z_j} integrated over its
#' prior (\eqn{\mathcal{L}_{\text{beh-mix}}} of the specification), less the
#' penalties. It starts from the MAP fit and runs an EM: at the current Q and
#' prior, every participant's posterior is computed on `quad_nodes`
#' ([rlpsy_control()]) adaptive Gauss-Hermite nodes (centred at the mode,
#' scaled by its standard error, as [rlpsy_marginal_loglik()]), then the
#' prior gets the marginal-ML update (\eqn{\mu = \sum_{jg} w_{jg} z_{jg} / J},
#' \eqn{\sigma^2 = \sum_{jg} w_{jg} (z_{jg} - \mu)^2 / J}, or the
#' regression's) and L-BFGS minimises \eqn{\sum_j \sum_g w_{jg}} (behaviour of
#' j at \eqn{e^{z_{jg}}}) plus the penalties over Q with the nodes and their
#' posterior weights \eqn{w_{jg}} fixed. For fixed nodes this is an exact EM,
#' so the marginal objective (`fit$trace$total`: minus the marginal
#' log-likelihood plus the penalties) does not increase, up to the
#' quadrature's error when the nodes re-adapt. It stops when the M-step has
#' converged and no posterior mean and no prior parameter moved more than
#' `tol_z`. `fit$z` and `fit$se` stay the posterior modes and their standard
#' errors at the final Q and prior (so [coef()], [confint()] work as for a
#' MAP fit); `fit$eap` and `fit$eap_sd` are the posterior means and SDs;
#' `fit$marginal` holds the marginal log-likelihood and objective;
#' [logLik()] returns the marginal log-likelihood, which [anova()] compares.
#' With D = 2 or 3 dimensions of beta the nodes form a product of D rules
#' (15 or 9 nodes each by default, `quad_nodes`), centred at the mode and
#' sheared by the Cholesky factor of the posterior covariance; the
#' likelihood is separable over dimensions, so (participant, dimension)
#' pair d is evaluated at the \eqn{q^d} distinct values its coordinate
#' takes on the grid; for the M-step these values, weighted by the
#' posterior weights of the grid nodes on them, are replaced by the q-point
#' Gauss rule of that discrete distribution (exact for a log-likelihood
#' polynomial of degree < 2q in \eqn{z_d}), so that each pair has q nodes as
#' with one dimension. The prior's update is \eqn{\mu = \sum_{jg}
#' w_{jg} z_{jg} / J}, \eqn{\Sigma = \sum_{jg} w_{jg} (z_{jg} - \mu)(z_{jg}
#' - \mu)' / J}; `fit$eap` and `fit$eap_sd` are participants x dimensions
#' matrices. More than 3 dimensions are an error of class
#' `rlpsy_error_unsupported`.
#'
#' @section Several temperatures per person:
#' `dimension` names a column of `data` (character or factor) that assigns
#' each decision to one of D dimensions of \eqn{\beta} (e.g. exploring vs
#' stopping, or the item or task of a multi-task log). Participant j then
#' has \eqn{z_j = \log\beta_j \in R^D}, decisions of dimension d follow
#' \eqn{\mathrm{softmax}(\beta_{jd} A(s, \cdot))}, and the prior is
#' multivariate normal, \eqn{z_j \sim N(\mu, \Sigma)}, with the
#' empirical-Bayes update \eqn{\mu = \mathrm{mean}(\hat z_j)},
#' \eqn{\Sigma = \mathrm{mean}((\hat z_j - \mu)(\hat z_j - \mu)' + V_j)}
#' (\eqn{V_j} the posterior covariance, the inverse of minus the D x D
#' Hessian of the log posterior at the mode), iterated with the E-step.
#' The E-step is a D-dimensional safeguarded Newton per participant (the
#' always negative definite Fisher-type Hessian where the exact one is not,
#' capped steps halved until the log posterior increases), inside every
#' evaluation of the profiled M-step as for one dimension. Standard errors
#' are the square roots of the diagonal of \eqn{V_j}. The dimension must be
#' known before the choice (state, phase, item, time), never the action
#' taken: splitting decisions by the chosen action conditions on the
#' outcome and biases both betas (the action and next-state columns are
#' refused, and a column under which every (state, action) pair of the
#' states with several dimensions has one dimension warns, class
#' `rlpsy_warning_dimension`). Labels are sorted (factor levels in their order); a column
#' with one value gives exactly the fit without `dimension`. A participant
#' without decisions in some dimension is allowed: that \eqn{z_{jd}} is
#' informed by the prior only (the conditional mean given the participant's
#' other dimensions) and its status is `"not_identified"`. With D > 1,
#' `fit$z`, `fit$se` and `fit$beta` are participants x dimensions
#' matrices, `fit$dimensions` holds the labels, `fit$posterior_cov` the
#' participants x D x D posterior covariances, `fit$prior` is `list(mu =
#' named vector, Sigma = named D x D matrix)` (a fixed `prior` c(mu, sigma)
#' of [rlpsy_control()] means \eqn{N(\mu 1, \sigma^2 I)}), and
#' `fit$participants` has one row per participant and dimension (column
#' `dimension`; its `loglik` is the participant's log posterior, all
#' dimensions together). [coef()], [confint()], `predict(type = "beta")`,
#' [tidy()], [cor_validity()] and [rlpsy_reliability()] (model and
#' split-half) work per dimension, and so do the latent regression (see
#' "Latent regression"), `method = "marginal"` (see "Marginal likelihood"),
#' [rlpsy_scores()] and [rlpsy_marginal_loglik()] for up to 3 dimensions;
#' `start`, scoring new data, bootstrap intervals, cross-validation,
#' [rlpsy_fit_stats()] and the beta plots do not support D > 1 yet and stop
#' with an error of class `rlpsy_error_input` or `rlpsy_error_unsupported`.
#'
#' @inheritParams rlpsy_data
#' @param data a data frame with one row per decision, or an object made by
#'   [rlpsy_data()] (then the column arguments are ignored).
#' @param gamma discount factor in \[0, 1).
#' @param tau temperature of the soft Bellman backup (> 0); fixes the scale of
#'   Q, 1 by default.
#' @param q `"joint"` (default) to estimate Q jointly with the betas, held to
#'   the task by the scale-free Bellman penalty (see [rlpsy_control()]), as
#'   one value per (state, action); a Q parameterisation ([rlpsy_q_table()],
#'   [rlpsy_q_linear()], [rlpsy_q_mlp()]) to estimate Q jointly in that form;
#'   or `"task"` to fix Q at the task's values and estimate only the betas and
#'   their prior (the classical two-stage approach): the soft-Q fixed point of
#'   the observed reward under the empirical transitions, or of `task`.
#' @param reward_model with a learned reward (no `reward` column), its form:
#'   `NULL` (default) or [rlpsy_reward_table()] for r(s, a) = tanh(w(s, a)),
#'   `rlpsy_reward_table(next_state = TRUE)` for r(s, a, s'), or
#'   [rlpsy_reward_linear()] for a reward linear in transition features.
#' @param normalise how the advantage is scaled: `"state"` (default, the
#'   specification's) centres Q over each state's choice set and scales it to
#'   unit root-mean-square per state, so every state weighs the same;
#'   `"global"` centres per state but uses one root-mean-square over all
#'   states with decisions (each weighing the same), so states keep their
#'   stakes and near-indifferent states carry little weight.
#' @param task `NULL`, or with `q = "task"` an [rlpsy_task()] whose soft-Q
#'   values (by [rlpsy_soft_q()] with `gamma` and `tau`) are Q; its labels must
#'   cover the data's. Then every available action keeps its place in the
#'   choice sets, taken or not.
#' @param start `NULL`, or an earlier `rlpsy_fit` on the same states and
#'   actions to continue from: its Q (and w), prior and betas (matched by
#'   participant label; new participants start at the prior mean) are the
#'   starting values. With `dimension`, the start must have the same
#'   dimensions.
#' @param person_data `NULL`, or with `person_formula` a data frame with one
#'   row per participant, keyed by a column named as the participant column
#'   of the data (`participant`), holding the person covariates.
#' @param person_formula `NULL`, or a one-sided formula such as
#'   `~ x1 + x2` on the columns of `person_data`: a latent regression, the
#'   prior mean of \eqn{z_j = \log\beta_j} is \eqn{x_j'\Gamma}; see
#'   "Latent regression".
#' @param method `"map"` (default): the posterior modes of the
#'   \eqn{z_j} are estimated jointly with Q (the profiled objective above);
#'   `"marginal"`: Q and the prior maximise the marginal likelihood, each
#'   \eqn{z_j} integrated over its prior; see "Marginal likelihood".
#' @param dimension `NULL` (default: one beta per participant), or the
#'   name of a column of `data` (a string or a bare name), character or
#'   factor, assigning each decision to a dimension of beta; see "Several
#'   temperatures per person". Needs `data` as a data frame.
#' @param control an [rlpsy_control()] object or a list of its settings.
#' @return An object of class `rlpsy_fit`, a list with, among others,
#'   `beta`, `z` and `se` (named by participant; SE of \eqn{z}), `prior`
#'   (`c(mu, sigma)` on the log scale), `Q`, `advantage`, `value` and
#'   `reward` (labelled by state and action), `participants` (a data frame of
#'   per-participant results and E-step status), `objective` (the final
#'   components), `trace` (one row per EM iteration), `converged`, `data`
#'   (the encoded data) and `control`. Use the methods rather than the
#'   elements: [coef.rlpsy_fit()], [confint.rlpsy_fit()],
#'   [predict.rlpsy_fit()], [summary.rlpsy_fit()], [plot.rlpsy_fit()],
#'   [logLik.rlpsy_fit()], [simulate.rlpsy_fit()], [cor_validity()].
#' @section Errors and warnings:
#' Bad data give the errors of [rlpsy_data()]; bad settings those of
#' [rlpsy_control()] (data too large for the machine's memory give class
#' `rlpsy_error_memory`, before anything is allocated); `gamma` outside
#' \[0, 1) or `tau` outside \[1e-100, 1e100\] give an error of class
#' `rlpsy_error_input`. `gamma = 1` is not allowed even when every episode
#' terminates: logs may end inside an episode, and the soft value adds an
#' entropy bonus at every step; use e.g. 0.999. If the objective becomes
#' non-finite (extreme rewards or settings), the fit stops with an error of
#' class `rlpsy_error_numerical` naming the iteration and the components. When EM stops at `max_iter` before converging,
#' or when the E-step of some participants did not converge, one warning of
#' class `rlpsy_warning_convergence` gives the counts; the per-participant
#' status is in `fit$participants$status`. With a single participant the
#' empirical-Bayes prior cannot be estimated: the fit uses the fixed prior
#' \eqn{\log\beta \sim N(0, 1)} and warns (class `rlpsy_warning_prior`).
#' Participants whose beta the data cannot identify (see
#' [identification_participants()]) get status `"not_identified"` and one
#' warning of class `rlpsy_warning_identification` names them. An
#' `rlpsy_data` object passed as `data` is re-validated (lengths, offsets,
#' code ranges, flags, rewards, `available`); a modified one gives an error
#' of class `rlpsy_error_input`. Arguments holding data (as from
#' [do.call()]) appear in `fit$call` as placeholders such as
#' `<data.frame 30000 x 7>`.
#' @examples
#' # rlpsy_example was simulated with gamma = 0.9 and tau = 0.05
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' fit
#' head(coef(fit))
#' # the same with bare column names
#' fit2 <- rlpsy_fit(rlpsy_example, participant, state, action, next_state,
#'                   done = done, reward = reward, gamma = 0.9, tau = 0.05,
#'                   control = rlpsy_control(threads = 1))
#' all.equal(coef(fit), coef(fit2))
#' # two temperatures: decisions in odd and in even states
#' d <- rlpsy_example
#' d$parity <- ifelse(as.integer(factor(d$state)) %% 2 == 1, "odd", "even")
#' fit3 <- rlpsy_fit(d, participant, state, action, next_state, done = done,
#'                   reward = reward, gamma = 0.9, tau = 0.05,
#'                   dimension = parity, control = rlpsy_control(threads = 1))
#' head(coef(fit3))
#' fit3$prior
#' @export
rlpsy_fit <- function(data, participant, state, action, next_state,
                      done = NULL, reward = NULL, available = NULL, gamma,
                      tau = 1, q = c("joint", "task"),
                      normalise = c("state", "global"), task = NULL,
                      reward_model = NULL, start = NULL, person_data = NULL,
                      person_formula = NULL, method = c("map", "marginal"),
                      dimension = NULL, control = rlpsy_control()) {
  call <- match.call()
  ctrl <- as_control(control)
  if (missing(gamma)) rlpsy_abort("`gamma` is missing; give the discount factor in [0, 1).")
  gamma <- check_number(gamma, "gamma", min = 0)
  if (gamma >= 1) rlpsy_abort("`gamma` must be in [0, 1), not ", gamma, ".")
  tau <- check_number(tau, "tau", min = 1e-100, max = 1e100)
  q_model <- rlpsy_q_table()
  if (inherits(q, "rlpsy_q")) {
    q_model <- q
    q <- "joint"
  } else {
    q <- check_choice(q, c("joint", "task"), "q")
  }
  normalise <- check_choice(normalise, c("state", "global"), "normalise")
  method <- check_choice(method, c("map", "marginal"), "method")
  enc <- if (inherits(data, "rlpsy_data")) strip_dimension(check_encoding(data)) else
    encode_decision_data(data, decision_columns(data, environment()), available)
  dim_col <- resolve_column(substitute(dimension), function() dimension,
                            if (is.data.frame(data)) names(data))
  enc <- dimension_encoding(enc, data, dim_col)
  spec <- model_spec(enc, q, normalise, task, gamma, tau)
  spec$q_model <- q_model
  spec$reward_model <- check_reward_model(reward_model, enc)
  X <- check_person_prior(person_design(enc, person_data, person_formula), ctrl)
  check_dimension_use(enc, method)
  ctrl <- prior_for_data(ctrl, enc)
  prep <- prepare_fit(enc, spec, ctrl, start)
  if (!is.null(X)) prep$state <- with_design(prep$state, X)
  run <- if (q == "task") run_fixed_q(prep$core, prep$enc, prep$state, ctrl, method) else
    if (method == "marginal") run_marginal(prep$core, prep$enc, prep$state, ctrl) else
    run_em(prep$core, prep$enc, prep$state, ctrl)
  build_fit(call, prep, run, ctrl)
}

#' What is being fitted: the Q mode, the normalisation and the task
#' @noRd
model_spec <- function(enc, q, normalise, task, gamma, tau) {
  if (!is.null(task)) {
    if (!inherits(task, "rlpsy_task")) {
      rlpsy_abort("`task` must be NULL or an rlpsy_task() object, not ",
                  describe_value(task), ".")
    }
    if (q != "task") {
      rlpsy_abort("`task` gives Q as the task's soft-Q values, so it needs ",
                  "q = \"task\"; with q = \"joint\" Q is estimated from the data.")
    }
  }
  if (q == "task" && is.null(enc$reward) && is.null(task)) {
    rlpsy_abort("q = \"task\" needs the task's values: give an observed `reward` ",
                "column or a `task`; with a learned reward use q = \"joint\".")
  }
  list(q = q, normalise = normalise, task = task, gamma = gamma, tau = tau)
}

#' The learned reward's form: NULL for the default tabular r(s, a)
#' @noRd
check_reward_model <- function(rm, enc) {
  if (is.null(rm)) return(NULL)
  if (!inherits(rm, "rlpsy_reward")) {
    rlpsy_abort("`reward_model` must be NULL, rlpsy_reward_table() or ",
                "rlpsy_reward_linear(), not ", describe_value(rm), ".")
  }
  if (!is.null(enc$reward)) {
    rlpsy_abort("`reward_model` gives the form of a learned reward, but the ",
                "data have an observed `reward` column; drop one of them.")
  }
  if (rm$type == "table" && !rm$next_state) NULL else rm
}

#' The empirical-Bayes prior needs at least two participants; with one, fall
#' back to the fixed prior N(0, 1) on log beta, with a warning.
#' @noRd
prior_for_data <- function(ctrl, enc) {
  if (is.character(ctrl$prior) && enc$n_participants < 2L) {
    rlpsy_warn("The empirical-Bayes prior needs at least 2 participants; the ",
               "data have 1, so the fixed prior log(beta) ~ N(0, 1) is used ",
               "(set `prior` in rlpsy_control() to choose another).",
               class = "prior")
    ctrl$prior <- c(mu = 0, sigma = 1)
  }
  ctrl
}

#' Stage 1 of a fit: choice sets, the task's values and the scale-free
#' penalty weights, the C++ core and the starting values.
#' @noRd
prepare_fit <- function(enc, spec, ctrl, start) {
  # choice sets start from the user's `available` (kept in the fit's data,
  # so that refits of a fit's data, e.g. split halves, start from it too)
  if (is.null(enc$available_user)) enc$available_user <- enc$available
  enc$available <- enc$available_user
  enc$behaviour_states <- NULL  # set below for flat_states = "drop" only
  cs <- choice_sets(enc, keep_all = !is.null(spec$task))
  available_given <- !all(enc$available_user)
  enc$available <- cs$available
  settings <- core_settings(ctrl, spec, learned = is.null(enc$reward), unit = 1)
  q_model <- q_standardise(spec$q_model, enc$states, enc$actions, enc$available)
  params <- list(q = q_params(q_model, enc$states, enc$actions, enc$available),
                 reward = spec$reward_model)
  core <- make_core(enc, settings, params, ctrl$shards)
  task_Q <- task_values(core, enc, spec)
  unit <- if (is.null(enc$reward)) 1 else value_unit(task_Q, enc)
  settings <- core_settings(ctrl, spec, learned = is.null(enc$reward), unit = unit)
  core_set_settings(core, settings)
  if (ctrl$flat_states == "drop" && !is.null(task_Q)) {
    flat <- flat_states(task_Q, enc, unit, ctrl$flat_tol)$state
    if (length(flat)) {
      # their decisions still count for the task's values, not for beta
      enc$behaviour_states <- !enc$states %in% flat
      core <- make_core(enc, settings, params, ctrl$shards)
    }
  }
  spec$q_model <- q_model
  state0 <- initial_state(enc, ctrl, task_Q, start, core, spec, params)
  list(enc = enc, core = core, settings = settings, spec = spec, params = params,
       task_Q = task_Q,
       unit = unit, never_taken = cs$never_taken,
       available_given = available_given, state = state0)
}

#' Choice sets. A state's choice set is its available actions that were taken
#' there at least once: an action never taken in a state has no transitions,
#' so the task data say nothing of its value, and under the behaviour term
#' alone its value would drift to minus infinity and squeeze the advantage of
#' the others. States without decisions keep their available actions (their
#' values enter the soft value of the states before them). With a `task`
#' (q = "task"), the task values every action and nothing is dropped.
#' @return list(available = the choice-set matrix, never_taken = a data frame
#'   of the (state, action) pairs removed)
#' @noRd
choice_sets <- function(enc, keep_all) {
  av <- enc$available
  S <- enc$n_states
  K <- enc$n_actions
  taken <- matrix(tabulate(enc$action * S + enc$state + 1L, S * K) > 0, S, K)
  visited <- rowSums(taken) > 0
  drop <- av & !taken & visited
  if (keep_all) drop[] <- FALSE
  av[drop] <- FALSE
  idx <- which(drop, arr.ind = TRUE)
  list(available = av,
       never_taken = data.frame(state = enc$states[idx[, 1]],
                                action = enc$actions[idx[, 2]],
                                stringsAsFactors = FALSE))
}

#' The task's values: the soft-Q fixed point of the observed reward under the
#' empirical transitions (C++ core), or of a given task; NULL with a learned
#' reward and no task.
#' @noRd
task_values <- function(core, enc, spec) {
  if (!is.null(spec$task)) return(task_q_from(spec$task, enc, spec))
  if (is.null(enc$reward)) return(NULL)
  tq <- core_task_q(core, 100000L, 1e-12)
  if (tq$iter < 0L) {
    rlpsy_warn("The task's soft-Q values did not converge in 100,000 sweeps ",
               "(gamma = ", spec$gamma, " is close to 1).", class = "convergence")
  }
  tq$Q
}

#' Soft-Q values of a given task on the data's state and action labels
#' @noRd
task_q_from <- function(task, enc, spec) {
  Qt <- rlpsy_soft_q(task, spec$gamma, spec$tau)
  miss_s <- setdiff(enc$states, rownames(Qt))
  miss_a <- setdiff(enc$actions, colnames(Qt))
  if (length(miss_s) || length(miss_a)) {
    rlpsy_abort("`task` lacks labels seen in the data: ",
                if (length(miss_s)) paste0("states ", show_values(miss_s)),
                if (length(miss_s) && length(miss_a)) "; ",
                if (length(miss_a)) paste0("actions ", show_values(miss_a)), ".")
  }
  Q <- unname(Qt[enc$states, enc$actions, drop = FALSE])
  Q[!enc$available | is.na(Q)] <- 0
  Q
}

#' The unit of Q for the scale-free Bellman weight: the root-mean-square of
#' the task's centred values over the decisions, v^2 = sum_s n_s mean_a
#' c(s, a)^2 / N (c = Q centred over the choice set). 1 when the task's
#' values do not distinguish any actions.
#' @noRd
value_unit <- function(Q, enc) {
  n_s <- tabulate(enc$state + 1L, enc$n_states)
  v <- sqrt(sum(n_s * state_spread(Q, enc$available)^2) / sum(n_s))
  if (!is.finite(v) || v <= 0) 1 else v
}

#' Per state, the root-mean-square of Q centred over the choice set
#' (rho(s) of the identified advantage without eps)
#' @noRd
state_spread <- function(Q, available) {
  Qa <- Q
  Qa[!available] <- NA
  sqrt(rowMeans((Qa - rowMeans(Qa, na.rm = TRUE))^2, na.rm = TRUE))
}

#' The settings the C++ core needs. The Bellman weight is in units of the
#' task's values: lambda_bell / unit^2.
#' @noRd
core_settings <- function(ctrl, spec, learned, unit) {
  lambda_bell <- ctrl$lambda_bell
  if (is.null(lambda_bell)) lambda_bell <- if (learned) 1 else 1000
  lambda_cql <- ctrl$lambda_cql
  if (is.null(lambda_cql)) lambda_cql <- if (learned) 0.05 else 0
  list(gamma = spec$gamma, tau = spec$tau, eps = ctrl$eps,
       lambda_bell = lambda_bell / unit^2, lambda_bell_unitless = lambda_bell,
       unit = unit, lambda_cql = lambda_cql, lambda_r = ctrl$lambda_r,
       normalise = spec$normalise)
}

#' Starting values: Q from the task's values when there are any, else from
#' pooled, smoothed log action frequencies (so A starts as a sensible
#' policy); w = 0, z = 0, prior N(0, 1) or the fixed one; or the estimates of
#' an earlier fit (`start`), matched by label.
#' @noRd
initial_state <- function(enc, ctrl, task_Q, start, core, spec, params) {
  S <- enc$n_states
  K <- enc$n_actions
  av <- enc$available
  if (!is.null(task_Q)) {
    Q <- task_Q
  } else {
    counts <- matrix(tabulate(enc$state * K + enc$action + 1L, S * K), S, K,
                     byrow = TRUE)
    freq <- (counts + 0.5) * av
    Q <- log(freq / rowSums(freq))
  }
  Q[!av] <- 0
  prior <- if (is.character(ctrl$prior)) c(mu = 0, sigma = 1) else ctrl$prior
  n_w <- core_info(core)$n_w
  st <- list(theta = q_start(spec$q_model, params$q, Q, av),
             w = if (is.null(enc$reward)) {
               if (is.null(params$reward)) matrix(0, S, K) else numeric(n_w)
             },
             z = numeric(enc$n_participants), prior = prior)
  if (n_dimensions(enc) > 1L) {
    st$D <- n_dimensions(enc)
    st$z <- rep(prior[["mu"]], enc$n_participants * st$D)
    st$prior <- mvn_prior_start(prior, enc$dimensions)
  }
  if (!is.null(start)) st <- start_from(st, start, enc, ctrl, spec)
  st
}

#' Starting values from an earlier fit: Q, w and the prior (when estimated)
#' carried over; participants matched by label, new ones start at mu.
#' @noRd
start_from <- function(st, start, enc, ctrl, spec) {
  if (!inherits(start, "rlpsy_fit")) {
    rlpsy_abort("`start` must be NULL or an rlpsy_fit object, not ",
                describe_value(start), ".")
  }
  if (!identical(rownames(start$Q), enc$states) ||
      !identical(colnames(start$Q), enc$actions)) {
    rlpsy_abort("`start` was fitted on other states or actions than `data`; ",
                "a warm start needs the same state and action labels (give ",
                "factors with the same levels).")
  }
  if (is.null(start$w) == is.null(enc$reward)) {
    rlpsy_abort("`start` was fitted with a", if (is.null(start$w)) "n observed" else
                " learned", " reward and `data` has a", if (is.null(enc$reward))
                " learned" else "n observed", " one; a warm start needs the same kind.")
  }
  form <- function(x) if (is.null(x)) "table" else x$type
  if (form(start$q_model) != spec$q_model$type ||
      length(start$theta) != length(st$theta) ||
      !identical(form(start$reward_model), form(spec$reward_model)) ||
      length(start$w) != length(st$w)) {
    rlpsy_abort("`start` has another form of Q or of the learned reward than ",
                "this fit (`q`, `reward_model`); a warm start needs the same.")
  }
  if (spec$q_model$type == "table") {
    st$theta <- unname(unclass(start$Q))
    st$theta[!enc$available] <- 0
  } else {
    st$theta <- unname(start$theta)
  }
  if (!is.null(enc$reward)) st$w <- NULL else st$w <- unname(unclass(start$w))
  if (is.matrix(st$w)) st$w[!enc$available] <- 0
  D <- n_dimensions(enc)
  if (!identical(n_dimensions(start$data), D) ||
      (D > 1L && !identical(start$data$dimensions, enc$dimensions))) {
    rlpsy_abort("`start` was fitted with other dimensions of beta than this fit ",
                "(`dimension`); a warm start needs the same.")
  }
  if (D > 1L) {
    if (is.character(ctrl$prior)) st$prior[c("mu", "Sigma")] <- start$prior[c("mu", "Sigma")]
    # participant-major z (the core's pseudo-participants j * D + d)
    old <- match(enc$participants, rownames(start$z))
    z <- matrix(st$prior$mu, enc$n_participants, D, byrow = TRUE)
    z[!is.na(old), ] <- unclass(start$z)[old[!is.na(old)], , drop = FALSE]
    st$z <- as.vector(t(z))
    return(st)
  }
  if (is.character(ctrl$prior)) {
    st$prior <- c(mu = start$prior[["mu"]], sigma = start$prior[["sigma"]])
  }
  old <- match(enc$participants, names(start$z))
  st$z <- ifelse(is.na(old), st$prior[["mu"]], unname(start$z)[old])
  st
}

#' Empirical-Bayes update of the prior of z: mu = mean(z),
#' sigma^2 = mean((z - mu)^2 + se^2).
#' @noRd
update_prior <- function(z, se) {
  mu <- mean(z)
  c(mu = mu, sigma = sqrt(mean((z - mu)^2 + se^2)))
}

#' E-step at the current Q and, with an empirical prior, the empirical-Bayes
#' fixed point of (E-step, prior update), accelerated by SQUAREM (Varadhan
#' and Roland 2008) on (mu, log sigma): the plain iteration converges at rate
#' about 1 - reliability, slowly when the data say little about each beta.
#' Returns the state with z, prior and the last E-step.
#' @noRd
estep_prior <- function(core, st, ctrl, empirical) {
  D <- if (is.null(st$D)) 1L else st$D
  estep_at <- function(s) {
    e <- core_estep(core, st$theta, st$z, prior_mu(s), prior_sigma(s),
                    ctrl$threads, ctrl$estep_iter, ctrl$estep_tol, NULL, prior_prec(s))
    st$z <<- e$z
    e
  }
  e <- estep_at(st)
  if (empirical) {
    map <- function(x) {
      e <<- estep_at(set_prior_par(st, x))
      if (D == 1L) prior_update(st, e$z, e$se^2) else
        prior_update(st, by_participant(e$z, D), mean_posterior_cov(e, D))
    }
    ok <- function(xs) prior_par_ok(st, xs)
    st <- set_prior_par(st, squarem_fixed_point(map, prior_par(st),
                                                ctrl$tol_z * 1e-2, ok))
    e <- estep_at(st)
  }
  st$estep <- e
  st
}

#' The fixed point of `map` from x0 by SQUAREM (Varadhan and Roland 2008),
#' at most 200 cycles; `ok(xs)` says whether an extrapolated point may be
#' used (else the plain second step is).
#' @noRd
squarem_fixed_point <- function(map, x0, tol, ok) {
  for (k in seq_len(200L)) {
    x1 <- map(x0)
    if (max(abs(x1 - x0)) < tol) { x0 <- x1; break }
    x2 <- map(x1)
    r <- x1 - x0
    v <- x2 - x1 - r
    alpha <- if (sum(v^2) > 0) -sqrt(sum(r^2) / sum(v^2)) else -1
    alpha <- min(-1, alpha)
    xs <- x0 - 2 * alpha * r + alpha^2 * v
    x_new <- if (ok(xs)) map(xs) else x2
    done <- max(abs(x_new - x0)) < tol
    x0 <- x_new
    if (done) break
  }
  x0
}

#' Q fixed at the task's values: only the betas and the prior are estimated
#' (the two-stage approach); with method = "marginal", by the marginal EM
#' with no M-step on Q.
#' @noRd
run_fixed_q <- function(core, enc, st, ctrl, method = "map") {
  if (method == "marginal") return(run_marginal(core, enc, st, ctrl, fixed_q = TRUE))
  t0 <- proc.time()[["elapsed"]]
  st <- estep_prior(core, st, ctrl, is.character(ctrl$prior))
  obj <- core_objective(core, st$theta, st$w, st$z, prior_mu(st),
                        prior_sigma(st), ctrl$threads, FALSE, prior_prec(st))
  trace <- data.frame(t(c(iter = 1, obj$components, trace_prior(st), max_dz = NA_real_,
                          mstep_iter = 0, mstep_evals = 0, mstep_status = 0,
                          decrement = 0, time = proc.time()[["elapsed"]] - t0)))
  list(state = st, estep = st$estep, trace = trace, converged = TRUE,
       iterations = 1L)
}

#' The EM loop on the core. Each iteration: E-step and (empirical prior)
#' the prior's fixed point at the current Q; then the profiled M-step,
#' L-BFGS on Q (and w) with the E-step inside every evaluation, for that
#' prior. Converged when the M-step converged (predicted decrease below `tol`
#' per decision) and neither any z_j nor the prior moved more than `tol_z` in
#' the iteration. Returns the
#' final state, the last E-step and the per-iteration trace.
#' @noRd
run_em <- function(core, enc, st, ctrl) {
  empirical <- is.character(ctrl$prior)
  tol_abs <- ctrl$tol * max(1, enc$n_decisions)
  trace <- list()
  pb <- em_progress(ctrl)
  on.exit(pb$close(), add = TRUE)
  converged <- FALSE
  for (it in seq_len(ctrl$max_iter)) {
    t0 <- proc.time()[["elapsed"]]
    z_old <- st$z
    prior_old <- prior_vector(st)
    st <- estep_prior(core, st, ctrl, empirical)
    m <- core_mstep(core, st$theta, st$w, st$z, prior_mu(st),
                    prior_sigma(st), TRUE, ctrl$threads, ctrl$mstep_iter,
                    tol_abs, it == 1L, ctrl$estep_iter, ctrl$estep_tol,
                    prior_prec(st))
    st$theta <- m$theta
    st$w <- m$w
    st$z <- m$estep$z
    max_dz <- max(abs(st$z - z_old))
    comp <- m$components
    if (!is.finite(comp[["total"]])) {
      rlpsy_abort("The objective became non-finite at EM iteration ", it, " (",
                  paste(names(comp), format(comp), sep = " = ", collapse = ", "),
                  "); rescale the reward, or use a smaller `tau` or smaller ",
                  "penalty weights.", class = "numerical")
    }
    trace[[it]] <- c(iter = it, comp, trace_prior(st), max_dz = max_dz,
                     mstep_iter = m$iter, mstep_evals = m$n_eval,
                     mstep_status = m$status, decrement = m$decrement,
                     time = proc.time()[["elapsed"]] - t0)
    pb$update(trace[[it]])
    # the M-step converged for a prior that no longer moves, and no z moved
    if (m$status == 0L && max_dz < ctrl$tol_z &&
        max(abs(prior_vector(st) - prior_old)) < ctrl$tol_z) {
      converged <- TRUE
      break
    }
  }
  # end with an E-step under the returned Q and prior
  st <- estep_prior(core, st, ctrl, empirical)
  trace <- as.data.frame(do.call(rbind, trace))
  list(state = st, estep = st$estep, trace = trace, converged = converged,
       iterations = it)
}

#' Progress of the EM loop (R/progress.R): a cli progress bar with the
#' iteration and the change in J (ctrl$progress), and with `verbose` a
#' compact line every k iterations. Its update() takes the trace row of an
#' iteration; close() prints the last line when it was not printed.
#' @noRd
em_progress <- function(ctrl, envir = parent.frame()) {
  progress_em(ctrl, envir)
}

#' One compact verbose line for an EM iteration (tr: its trace row; dJ: the
#' change of the objective since the previous iteration)
#' @noRd
em_report <- function(tr, dJ = NA_real_) {
  cat(sprintf("EM %4d: J = %.10g  dJ = %9.2e  max|dz| = %.1e  mu = %.3f  sigma = %.3f  (%.2fs)\n",
              as.integer(tr[["iter"]]), tr[["total"]], dJ, tr[["max_dz"]],
              tr[["mu"]], tr[["sigma"]], tr[["time"]]))
  utils::flush.console()
}

#' A private random stream: returns a function that evaluates its argument
#' with the stream's RNG state (seeded by `seed` if not NULL, else the global
#' one), restoring the caller's global RNG state afterwards.
#' @noRd
seeded_stream <- function(seed) {
  if (is.null(seed)) return(function(expr) expr)
  state <- NULL
  function(expr) {
    had <- exists(".Random.seed", envir = globalenv(), inherits = FALSE)
    old <- if (had) get(".Random.seed", envir = globalenv(), inherits = FALSE)
    on.exit(if (had) assign(".Random.seed", old, envir = globalenv())
            else rm(".Random.seed", envir = globalenv()))
    if (is.null(state)) set.seed(seed) else
      assign(".Random.seed", state, envir = globalenv())
    value <- expr
    state <<- get(".Random.seed", envir = globalenv(), inherits = FALSE)
    value
  }
}
