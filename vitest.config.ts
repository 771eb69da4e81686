import { defineConfig } from 'vitest/config';

// Three projects, named after what they need to run:
// - unit: pure code, no root, no network, no browser; runs in parallel.
// - integration: real sandboxes (namespaces, cgroups, node-pty) and real servers; one file at a time.
// - adversarial: like integration, with a hostile machine; one file at a time.
// - e2e: real Chromium against the built site and the real sandbox server; one file at a time.
// - fuzz: property-based fuzzing of every message at every hop (fixed seed; FUZZ_SCALE=… via `npm run fuzz` runs long).
// Timeouts are generous because the machines are shared and noisy; speed is measured by `npm run bench`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'fuzz',
          include: ['tests/fuzz/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 1_800_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          // Root inside a real machine plays the attacker; one file per threat (issue 17), each well under a minute.
          name: 'adversarial',
          include: ['tests/adversarial/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
