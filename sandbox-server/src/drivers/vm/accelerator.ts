// KVM or TCG. /dev/kvm existing proves nothing (on some hosts it is a stub:
// QEMU aborts with -cpu host, or hangs), so "auto" boots the guest's kernel
// under KVM once — the initramfs answers "probe ok" and powers off — and
// trusts KVM only if that works. The answer is cached, keyed by everything
// it depends on.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import type { PrepareProgress } from '../driver.ts';
import { hashOf, vmCacheDir } from './cache.ts';
import type { GuestBoot } from './guest-boot.ts';
import { runCommand } from './run-command.ts';

export type Accelerator = 'kvm' | 'tcg';

/** Under KVM the probe takes a second or two; a hung KVM is given this long. */
const PROBE_TIMEOUT_MS = 20_000;
const PROBE_MARKER = 'cours-linux initramfs: probe ok';

export interface ProbeResult {
  accelerator: Accelerator;
  /** Why, in a sentence (shown in the logs and the bench). */
  reason: string;
}

export async function chooseAccelerator(
  wanted: 'auto' | Accelerator,
  options: { qemu: string; cacheDir: string; boot: GuestBoot; progress: PrepareProgress },
): Promise<ProbeResult> {
  if (wanted === 'tcg') return { accelerator: 'tcg', reason: 'TCG chosen by configuration' };
  if (!existsSync('/dev/kvm')) {
    if (wanted === 'kvm')
      throw new Error(
        'accelerator "kvm" was asked for but /dev/kvm does not exist: enable virtualisation (VT-x/AMD-V, nested virtualisation in a cloud VM) or use "auto"',
      );
    return { accelerator: 'tcg', reason: 'no /dev/kvm: TCG (emulation)' };
  }
  const qemuVersion = (await runCommand(options.qemu, ['--version'])).split('\n')[0] ?? '';
  const cacheFile = join(vmCacheDir(options.cacheDir), `accelerator-${hashOf(qemuVersion, release(), options.boot.hash)}.json`);
  let result: ProbeResult | undefined;
  if (existsSync(cacheFile)) {
    result = JSON.parse(readFileSync(cacheFile, 'utf8')) as ProbeResult;
    options.progress('vm-accelerator', `cached probe: ${result.reason}`);
  } else {
    options.progress('vm-accelerator', 'probing KVM with a short boot');
    result = await probeKvm(options.qemu, options.boot);
    await writeFile(cacheFile, JSON.stringify(result));
    options.progress('vm-accelerator', result.reason);
  }
  if (wanted === 'kvm' && result.accelerator !== 'kvm') {
    throw new Error(`accelerator "kvm" was asked for but KVM does not work on this host (${result.reason}); use "auto" or "tcg"`);
  }
  return result;
}

async function probeKvm(qemu: string, boot: GuestBoot): Promise<ProbeResult> {
  const started = Date.now();
  const args = [
    '-accel',
    'kvm',
    '-cpu',
    'host',
    '-machine',
    'pc',
    '-m',
    '128',
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    boot.kernel,
    '-initrd',
    boot.initrd,
    '-append',
    'console=ttyS0 panic=-1 quiet cours_linux.probe',
    '-serial',
    'stdio',
  ];
  const { output, code, timedOut } = await new Promise<{ output: string; code: number | null; timedOut: boolean }>((resolve) => {
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROBE_TIMEOUT_MS);
    child.once('error', (error) => chunks.push(Buffer.from(error.message)));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ output: Buffer.concat(chunks).toString('utf8'), code, timedOut });
    });
  });
  const ms = Date.now() - started;
  if (output.includes(PROBE_MARKER)) return { accelerator: 'kvm', reason: `KVM works (probe boot in ${ms} ms)` };
  const why = timedOut ? `a probe boot under KVM hung for ${PROBE_TIMEOUT_MS / 1000} s` : `a probe boot under KVM failed (exit ${code}): ${lastLine(output)}`;
  return { accelerator: 'tcg', reason: `${why}: TCG (emulation)` };
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1) ?? 'no output';
}
