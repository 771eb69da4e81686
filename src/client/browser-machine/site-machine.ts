// Which machines this build's pages use (COURSE_MACHINE) and the site's base
// path, written into the bundle by astro.config.mjs (Vite `define`). Outside
// a site build (unit tests) the defaults apply.
import type { MachineMode } from './machine-choice.ts';

declare const __COURSE_MACHINE__: { machine: MachineMode; basePath: string } | undefined;

export function siteMachine(): { machine: MachineMode; basePath: string } {
  return typeof __COURSE_MACHINE__ === 'object' && __COURSE_MACHINE__ !== null ? __COURSE_MACHINE__ : { machine: 'auto', basePath: '/' };
}
