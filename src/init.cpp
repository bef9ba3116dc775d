// Placeholder translation unit so the package has compiled code from the start.
#include <Rcpp.h>

// [[Rcpp::export(rng = false)]]
int rlpsy_core_version() { return 1; }
