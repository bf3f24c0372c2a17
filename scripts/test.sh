#!/usr/bin/env bash
# The README's test command: set up what is missing (system packages, npm packages, the build), then run
# the whole jest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx jest --ci "$@"
