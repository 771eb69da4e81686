import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './tests/support/longest-first-sequencer.ts';

// Projects, named after what they need to run:
// - unit: pure code, no root, no network, no browser.
// - integration: real sandboxes (namespaces, cgroups, node-pty) and real servers.
// - adversarial: like integration, with a hostile machine.
// - e2e: real Chromium against the built site and the real sandbox server.
// - fuzz: property-based fuzzing of every message at every hop (fixed seed; FUZZ_SCALE=… via `npm run fuzz` runs long).
// - vm: the VM driver's files (tests/integration/vm-*.test.ts): QEMU under emulation, after the others, two at a time;
//   vm-alone: the one of them that counts every VM of the host (vm-driver.test.ts), alone after them.
// - host-wide: files counting the whole host's kernel state (dying memory cgroups), alone at the very end.
// Every file makes its own machines, servers, ports and temporary folders (and site builds take a lock), so files of
// the first five projects run two at a time, longest first (LongestFirstSequencer): on 2 cores most of a file's time
// is spent waiting (a machine starting, a timeout running out, a page loading), and a second file fills it. The VM
// files run afterwards (groups 1 and 2), away from the rest: an emulated guest wants a whole core, and its boot is
// the longest wait. Two of them at a time still fit: each keeps about one core busy (vm-lab and vm-server side by
// side took 82 s on 2 cores, against 57 + 75 s one after the other, at load average 1.5–4).
// Timeouts are generous because the machines are shared and noisy; speed is measured by `npm run bench`.
// TEST_WORKERS=1 runs them one at a time again, as before (to compare, or on a host with one core to spare).
const TWO_AT_A_TIME = { maxWorkers: workers(process.env.TEST_WORKERS), sequence: { groupOrder: 0 } };
/** Files that count host-wide kernel state: they run alone (project host-wide). */
const HOST_WIDE_COUNTS = ['tests/adversarial/memory-cgroups.test.ts'];
/** VM files that count every VM of the host: they run alone (project vm-alone). */
const VM_HOST_WIDE = ['tests/integration/vm-driver.test.ts'];
const MACHINE_TIMEOUTS = { testTimeout: 120_000, hookTimeout: 300_000 };

function workers(value: string | undefined): number {
  if (value === undefined || value === '') return 2;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new Error(`TEST_WORKERS=${JSON.stringify(value)}: expected a whole number ≥ 1 (default 2)`);
  return count;
}

export default defineConfig({
  test: {
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      { test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], testTimeout: 20_000, ...TWO_AT_A_TIME } },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          exclude: ['tests/integration/vm-*.test.ts'],
          ...MACHINE_TIMEOUTS,
          ...TWO_AT_A_TIME,
        },
      },
      { test: { name: 'fuzz', include: ['tests/fuzz/**/*.test.ts'], testTimeout: 1_800_000, hookTimeout: 300_000, ...TWO_AT_A_TIME } },
      // Root inside a real machine plays the attacker; one file per threat (issue 17), each well under a minute.
      {
        test: {
          name: 'adversarial',
          include: ['tests/adversarial/**/*.test.ts'],
          exclude: HOST_WIDE_COUNTS,
          ...MACHINE_TIMEOUTS,
          ...TWO_AT_A_TIME,
        },
      },
      { test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], ...MACHINE_TIMEOUTS, ...TWO_AT_A_TIME } },
      // The VM files that count only their own VMs, two at a time: each keeps about one core busy (one guest booting
      // or answering at a time, but for the lab's three at its start), so the second file fills the other core.
      {
        test: {
          name: 'vm',
          include: ['tests/integration/vm-*.test.ts'],
          exclude: VM_HOST_WIDE,
          maxWorkers: workers(process.env.TEST_WORKERS),
          ...MACHINE_TIMEOUTS,
          sequence: { groupOrder: 1 },
        },
      },
      // vm-driver.test.ts counts every VM of the host (its leftover clean-ups, `all` included, and the QEMU processes
      // left): alone, after the other VM files.
      { test: { name: 'vm-alone', include: VM_HOST_WIDE, fileParallelism: false, ...MACHINE_TIMEOUTS, sequence: { groupOrder: 2 } } },
      // Files whose check counts something of the whole host's kernel, which any other file's machines change too
      // (the dying memory cgroups in /proc/cgroups): alone, last, after the VM files.
      { test: { name: 'host-wide', include: HOST_WIDE_COUNTS, fileParallelism: false, ...MACHINE_TIMEOUTS, sequence: { groupOrder: 3 } } },
    ],
  },
});
