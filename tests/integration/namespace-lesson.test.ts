// Every exercise of the lesson "Les Namespaces" (tests/support/lesson-exercises.ts),
// typed as the student would, in a real sandbox with a real dockerd, through
// the driver API only.
import { afterAll, beforeAll, expect } from 'vitest';
import { describeLessonExercises, waitForDockerd } from '../support/lesson-exercises.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const fixture = new NamespaceFixture();
let one: OpenedTerminal;
let two: OpenedTerminal;
let dockerdPid: string;

beforeAll(async () => {
  await fixture.prepare();
  const sandbox = await fixture.create('lesson', { docker: true });
  one = await fixture.open(sandbox, '1');
  two = await fixture.open(sandbox, '2');
  dockerdPid = await waitForDockerd(one.reader);
});

afterAll(async () => {
  expect(await fixture.destroyAll()).toEqual([]);
});

describeLessonExercises({ machine: () => ({ one, two, dockerdPid }) });
