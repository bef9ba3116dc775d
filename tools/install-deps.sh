#!/usr/bin/env bash
# Installs everything rlpsy needs to build, check and test on Debian with R.
# Prefers Debian's prebuilt r-cran-* packages (fast); falls back to CRAN.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

r_pkgs="Rcpp RcppEigen RcppParallel testthat roxygen2 knitr rmarkdown"
missing_r() {
  Rscript -e 'p <- strsplit(commandArgs(TRUE), " ")[[1]];
              cat(p[!vapply(p, requireNamespace, TRUE, quietly = TRUE)])' "$r_pkgs"
}

need=$(missing_r)
if [ -n "$need" ] || ! command -v pandoc >/dev/null || ! command -v qpdf >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
      r-cran-rcpp r-cran-rcppeigen r-cran-rcppparallel r-cran-testthat \
      r-cran-roxygen2 r-cran-knitr r-cran-rmarkdown pandoc qpdf >/dev/null
  fi
  need=$(missing_r)
  if [ -n "$need" ]; then
    echo "Installing from CRAN: $need"
    Rscript -e 'install.packages(strsplit(commandArgs(TRUE), " ")[[1]],
                                 repos = "https://cloud.r-project.org")' "$need"
  fi
fi
need=$(missing_r)
if [ -n "$need" ]; then
  echo "install-deps: could not install R packages: $need" >&2
  exit 1
fi
