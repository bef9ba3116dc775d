// Rcpp glue for inst/include/rlpsy/checks.h: the O(N) checks and counts of
// an rlpsy_data object. The R side (R/data-validate.R, R/identification.R)
// checks the types and lengths first.
#include <Rcpp.h>
#include <rlpsy/checks.h>

#include "fields.h"

namespace {

rlpsy::EncodedView view_of(const Rcpp::List& enc) {
  Rcpp::IntegerVector offsets = enc["offsets"];
  rlpsy::EncodedView e;
  e.J = static_cast<int>(offsets.size()) - 1;
  e.S = Rcpp::as<int>(enc["n_states"]);
  e.K = Rcpp::as<int>(enc["n_actions"]);
  e.N = Rf_xlength(enc["state"]);
  rlpsy_glue::read_columns(enc, e);
  e.participant = rlpsy_glue::int_field(enc, "participant");
  return e;
}

}  // namespace

// First problem of an encoding whose types and lengths are right, or "".
// [[Rcpp::export(rng = false)]]
std::string encoding_problem_cpp(Rcpp::List enc, double max_abs_reward) {
  return rlpsy::encoding_problem(view_of(enc), max_abs_reward);
}

// list(n_choice, n_info) per participant (see rlpsy::identification_counts).
// [[Rcpp::export(rng = false)]]
Rcpp::List identification_counts_cpp(Rcpp::List enc) {
  std::vector<int> n_choice, n_info;
  rlpsy::identification_counts(view_of(enc), n_choice, n_info);
  return Rcpp::List::create(Rcpp::Named("n_choice") = n_choice,
                            Rcpp::Named("n_info") = n_info);
}
