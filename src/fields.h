// Read-only access to the columns of an rlpsy_data object from C++.
//
// INTEGER(), REAL() and an Rcpp vector's begin() ask R for a writable
// pointer. rlpsy_data's columns are often ALTREP wrappers around a vector
// shared with another object, and a writable pointer makes R duplicate it:
// a full copy of every decision column on each call (measured: 5 x 4 MB at
// 10^6 decisions in one check). The *_RO accessors give the data without a
// copy. The R side has checked the types and lengths.
#ifndef RLPSY_FIELDS_H
#define RLPSY_FIELDS_H

#include <Rcpp.h>

namespace rlpsy_glue {

// integer (or logical) column `name` of the list `enc`
inline const int* int_field(const Rcpp::List& enc, const char* name) {
  SEXP v = enc[name];
  if (TYPEOF(v) == LGLSXP) return LOGICAL_RO(v);
  if (TYPEOF(v) != INTSXP) Rcpp::stop("internal: field `%s` is not an integer vector", name);
  return INTEGER_RO(v);
}

// double column `name`, or null when absent or NULL
inline const double* real_field(const Rcpp::List& enc, const char* name) {
  if (!enc.containsElementNamed(name)) return nullptr;
  SEXP v = enc[name];
  if (Rf_isNull(v)) return nullptr;
  if (TYPEOF(v) != REALSXP) Rcpp::stop("internal: field `%s` is not a double vector", name);
  return REAL_RO(v);
}

// The decision columns of `enc` into any struct with these pointer fields
// (rlpsy::RawDecisions for the core, rlpsy::EncodedView for the checks)
template <class Columns>
void read_columns(const Rcpp::List& enc, Columns& out) {
  out.offsets = int_field(enc, "offsets");
  out.state = int_field(enc, "state");
  out.action = int_field(enc, "action");
  out.next_state = int_field(enc, "next_state");
  out.done = int_field(enc, "done");
  out.reward = real_field(enc, "reward");
  out.available = int_field(enc, "available");
}

}  // namespace rlpsy_glue

#endif
