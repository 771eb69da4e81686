#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds
# what the tests need, type-checks and lints, runs unit, integration and
# end-to-end tests, and ends with the line "N passed, N failed, N skipped"
# (each static check counts as one test there).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || { echo "0 passed, 1 failed"; exit 1; }
source scripts/toolchain.sh

mkdir -p test-results
rm -f test-results/vitest.json test-results/checks.txt
# Static checks first: a type or lint error fails CI, but the tests still run.
for check in check lint; do
  npm run --silent "$check"
  echo "$check $?" >> test-results/checks.txt
done
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
vitest_status=$?
node scripts/test-summary.ts test-results/vitest.json test-results/checks.txt
summary_status=$?
[ $vitest_status -eq 0 ] && [ $summary_status -eq 0 ]
