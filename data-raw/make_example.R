# Builds data/rlpsy_example.rda: 300 simulated participants, 100 decisions
# each, in a 5 x 5 gridworld. Run from the package root with rlpsy installed
# (or after devtools::load_all()):
#   Rscript data-raw/make_example.R

library(rlpsy)

# The task: start top left, goal bottom right, a trap next to the two
# routes into the goal, two walls, slippery moves.
grid <- rlpsy_gridworld(
  nrow = 5, ncol = 5,
  walls = rbind(c(2, 2), c(3, 4)),
  goal = c(5, 5), trap = c(4, 4),
  step_cost = 0.04, goal_reward = 1, trap_reward = -1,
  slip = 0.1, start = c(1, 1)
)
gamma <- 0.9
# With tau = 1 the entropy bonus of the soft value (up to log(4) = 1.39 per
# step) outweighs every reward in [-1, 1], so soft-optimal agents would avoid
# the goal; a small temperature keeps the values goal-directed.
tau <- 0.05

set.seed(20240517)
n_participants <- 300
beta <- exp(rnorm(n_participants, mean = log(2), sd = 0.5))

rlpsy_example <- rlpsy_simulate(grid, beta, n_decisions = 100,
                                gamma = gamma, tau = tau)
true_beta <- attr(rlpsy_example, "beta")  # named by participant id
rlpsy_example$true_beta <- unname(true_beta[rlpsy_example$participant])
attr(rlpsy_example, "task") <- grid
attr(rlpsy_example, "gamma") <- gamma
attr(rlpsy_example, "tau") <- tau

save(rlpsy_example, file = file.path("data", "rlpsy_example.rda"),
     compress = "xz")
