#!/usr/bin/env bash
# Install R, rpact and survival from the Debian packages (bookworm: r-base-core, r-cran-rpact,
# r-cran-survival) for benchmarks/simulate_vs_rpact.py and benchmarks/survival_vs_r.py. Needs root (or sudo). Idempotent: does nothing when Rscript
# can already load rpact.
set -euo pipefail

if command -v Rscript >/dev/null 2>&1 && Rscript -e 'suppressMessages({library(rpact); library(survival)})' >/dev/null 2>&1; then
  echo "R, rpact and survival are already installed: $(Rscript -e 'cat(as.character(packageVersion("rpact")))')"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: installing R needs root (apt-get); run benchmarks/setup.sh as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends r-base-core r-cran-rpact r-cran-survival
Rscript -e 'suppressMessages(library(rpact)); cat("rpact", as.character(packageVersion("rpact")), "\n")'
