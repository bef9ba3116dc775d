#!/usr/bin/env bash
# Installs everything rlpsy needs to build, check and test on Debian, R itself
# included (Debian's r-base-dev) when it is missing. Prefers Debian's prebuilt
# r-cran-* packages (fast); falls back to install.packages() with R's own
# configured repository for anything Debian does not have.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

r_pkgs="Rcpp RcppEigen RcppParallel testthat roxygen2 knitr rmarkdown generics rlang cli"
r_pkgs="$r_pkgs ggplot2"
deb_pkgs="r-cran-rcpp r-cran-rcppeigen r-cran-rcppparallel r-cran-testthat
  r-cran-roxygen2 r-cran-knitr r-cran-rmarkdown r-cran-generics r-cran-rlang
  r-cran-cli r-cran-ggplot2 pandoc qpdf"
as_root=false
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then as_root=true; fi
updated=false
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  $updated || { apt-get update -qq; updated=true; }
  # one at a time, so that a package Debian lacks does not stop the others
  for p in "$@"; do
    apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
      echo "install-deps: Debian has no $p here; trying CRAN for it" >&2
  done
}

if ! command -v Rscript >/dev/null; then
  $as_root || { echo "install-deps: R is missing and apt-get needs root" >&2; exit 1; }
  apt_install r-base-dev
fi

missing_r() {
  Rscript -e 'p <- strsplit(commandArgs(TRUE), " ")[[1]];
              cat(p[!vapply(p, requireNamespace, TRUE, quietly = TRUE)])' "$r_pkgs"
}

need=$(missing_r)
if [ -n "$need" ] || ! command -v pandoc >/dev/null || ! command -v qpdf >/dev/null; then
  if $as_root; then
    # shellcheck disable=SC2086
    apt_install $deb_pkgs
  fi
  need=$(missing_r)
  if [ -n "$need" ]; then
    echo "Installing from CRAN: $need"
    # R's configured repository; when none is set, R's own CRAN default
    Rscript -e 'r <- getOption("repos"); if (is.null(r) || identical(unname(r["CRAN"]), "@CRAN@"))
                  r <- c(CRAN = utils::getCRANmirrors(local.only = TRUE)$URL[1]);
                install.packages(strsplit(commandArgs(TRUE), " ")[[1]], repos = r)' "$need"
  fi
fi
need=$(missing_r)
if [ -n "$need" ]; then
  echo "install-deps: could not install R packages: $need" >&2
  exit 1
fi
