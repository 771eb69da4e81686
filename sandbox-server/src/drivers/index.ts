// Chooses how sandboxes are made. The server asks for a driver by name and
// only ever sees the SandboxDriver contract (driver.ts).
import type { SandboxDriver } from './driver.ts';
import { createNamespaceDriver, type NamespaceDriverOptions } from './namespace/index.ts';
import { createVmDriver, type VmDriverOptions } from './vm/index.ts';

export interface DriverOptions {
  namespace: NamespaceDriverOptions;
  vm: VmDriverOptions;
}
export type DriverName = keyof DriverOptions;
export const DRIVER_NAMES: readonly DriverName[] = ['namespace', 'vm'];

/** A driver by name; its options are checked by the driver itself (errors name the bad option). */
export function createDriver<N extends DriverName>(name: N, options: DriverOptions[N]): SandboxDriver;
export function createDriver(name: string, options?: unknown): SandboxDriver;
export function createDriver(name: string, options: unknown = {}): SandboxDriver {
  switch (name) {
    case 'namespace':
      return createNamespaceDriver(options as NamespaceDriverOptions);
    case 'vm':
      return createVmDriver(options as VmDriverOptions);
    default:
      throw new Error(`unknown sandbox driver "${name}": use ${DRIVER_NAMES.map((known) => `"${known}"`).join(' or ')}`);
  }
}
