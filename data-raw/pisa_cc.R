# Builds data/pisa_cc.rda: the compact Climate Control MDP (see
# data-raw/cc_decisions.R) for a seeded random sample of 2,000 of the 16,763
# students of the PISA 2012 item CP025Q01, and a table of those students.
# Run from the package root:
#   Rscript data-raw/pisa_cc.R
# The raw data (`cc_data` of the R package ProcData, GPL >= 2) are read from
# the file named by the environment variable RLPSY_PISA_CC, or from
# ../shared/data/pisa-cc/cc_data.rda relative to the package root.

source(file.path("data-raw", "cc_decisions.R"))

candidates <- c(Sys.getenv("RLPSY_PISA_CC"),
                file.path("..", "shared", "data", "pisa-cc", "cc_data.rda"))
path <- candidates[nzchar(candidates) & file.exists(candidates)][1]
if (is.na(path)) {
  stop("cc_data.rda not found; set RLPSY_PISA_CC or run from the package ",
       "root next to ../shared. Looked for: ",
       paste(candidates[nzchar(candidates)], collapse = ", "))
}
env <- new.env()
load(path, envir = env)
cc <- env$cc_data
seqs <- cc$seqs$action_seqs
stopifnot(all(names(seqs) %in% names(cc$responses)))

set.seed(20120401)
ids <- sort(sample(names(seqs), 2000))
seqs <- seqs[ids]

dec <- cc_decisions(seqs)
pisa_cc <- data.frame(
  participant = dec$student, state = dec$state, action = dec$action,
  next_state = dec$next_state, done = dec$done, reward = dec$reward,
  country = factor(substr(dec$student, 1, 3)), stringsAsFactors = FALSE)
attr(pisa_cc, "available") <- cc_available()

n_events <- tabulate(match(pisa_cc$participant, ids), length(ids))
pisa_cc_students <- data.frame(
  participant = ids, country = factor(substr(ids, 1, 3), levels(pisa_cc$country)),
  correct = as.integer(cc$responses[ids]), n_events = n_events,
  stringsAsFactors = FALSE)
stopifnot(all(n_events == lengths(seqs) - 1L))

file <- file.path("data", "pisa_cc.rda")
save(pisa_cc, pisa_cc_students, file = file, compress = "xz")
size <- file.size(file)
cat(sprintf("%s: %d students, %d decisions, %.1f kB\n", file,
            nrow(pisa_cc_students), nrow(pisa_cc), size / 1024))
if (size >= 200 * 1024) stop("data/pisa_cc.rda is larger than 200 kB")
