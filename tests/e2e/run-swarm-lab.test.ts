// The Swarm page, run as a reader would: a page with `machines: [node1,
// node2, node3]` gets a lab of three real machines from the real sandbox
// server; each snippet is clicked and runs on the machine it names; the join
// command node1 prints is typed into node2 and node3 as a reader pastes it;
// the dock shows the three machines with their terminals (« node2 · 1 »);
// what the terminals show is what the page says. One lab for the whole file
// (its steps build on each other, as the page's do). Screenshots go to
// test-results/run-swarm-lab-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from '../support/browser.ts';
import { courseInChromium } from '../support/e2e-fixtures.ts';
import {
  commandOutput,
  rememberedMachine,
  runSnippet,
  screenshot,
  snippets,
  typeInTerminal,
  waitForConnected,
  waitForTerminalText,
} from '../support/terminal-page.ts';

const LESSON = 'docker_linux/swarm/';
const NODES = ['node1', 'node2', 'node3'];
const web = courseInChromium();
let page: Page | undefined;
/** Docker starting in three machines, images pulled three times, on a loaded host: a safety net, not a speed check. */
const SLOW = 180_000;
const PUBLISH = `docker service create --name web --mode global --endpoint-mode dnsrr --publish mode=host,target=80,published=8080 --hostname "{{.Node.Hostname}}" busybox sh -c 'mkdir -p /www && echo "Bonjour de $(hostname)" > /www/index.html && httpd -f -p 80 -h /www'`;
/** What node1 printed for the others to type. */
let joinCommand = '';

beforeAll(async () => {
  page = await web.browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(new URL(LESSON, web.course.server.url).href);
});

afterAll(() => web.deleteMachineOf(page));

/** Snippet `index`, checked to be the one the test expects (its machine and first command). */
async function snippet(index: number, machine: string, firstCommand: string) {
  const figure = snippets(page!).nth(index);
  const commands = JSON.parse((await figure.getAttribute('data-commands')) ?? '[]') as string[];
  expect(commands[0], `snippet ${index} is not the one this test expects`).toBe(firstCommand);
  expect(await figure.getAttribute('data-machine')).toBe(machine);
  return figure;
}

/** A terminal's text with its wrapped rows joined again (long lines wrap at the terminal's width). */
async function unwrapped(name: string): Promise<string> {
  return (await settled(name)).replace(/\n/g, '');
}

/**
 * What terminal `name` shows once its prompt is back on its last line: a run
 * ends at the shell's mark, a frame before xterm has drawn the last output.
 */
function settled(name: string): Promise<string> {
  return waitForTerminalText(page!, name, /:~\$\s*$/, 60_000);
}

describe('the Swarm page and its lab of three machines', () => {
  it('declares its lab, and each block names its machine', async () => {
    await expect(page!.locator('article').getAttribute('data-lab-machines')).resolves.toBe('node1 node2 node3');
    await expect(snippets(page!).count()).resolves.toBe(9);
    const join = snippets(page!).nth(3);
    expect(await join.getAttribute('data-machine')).toBe('node2');
    expect(await join.getAttribute('data-copy-only')).toBe('the fence says {runnable=false}');
    await expect(join.getByRole('button', { name: 'Exécuter', exact: true }).count()).resolves.toBe(0);
  });

  it('starts the lab on the first click and shows its three machines in the dock', async () => {
    const first = await snippet(0, 'node1', 'hostname');
    await runSnippet(page!, first, 'done', SLOW).catch((error: unknown) => {
      // Say why the server could not make the lab (its log), not only that it could not.
      const why = web.course.server.logs.filter((line) => line.level === 'error' || line.level === 'warn').slice(-8);
      throw new Error(`${(error as Error).message}\nserver log:\n${why.map((line) => JSON.stringify(line).slice(0, 800)).join('\n')}`);
    });
    const text = await settled('node1/1');
    expect(text).toMatch(/\nnode1\n/);
    expect(text).toMatch(/192\.168\.\d+\.12\s+node2\n192\.168\.\d+\.13\s+node3/);
    const dock = page!.locator('[data-terminal-dock]');
    await expect(dock.locator('.terminal-dock-title').innerText()).resolves.toBe('Votre lab');
    await expect(dock.locator('[data-lab-machine]').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.labMachine))).resolves.toEqual(NODES);
    await expect(dock.locator('[data-lab-machine="node1"] [data-machine-terminals]').innerText()).resolves.toBe('· 1');
    await expect(dock.locator('[data-lab-machine="node2"] [data-machine-terminals]').innerText()).resolves.toBe('aucun terminal');
    await expect(dock.getByRole('button', { name: 'Réinitialiser le lab' }).count()).resolves.toBe(1);
    // The status names the machines and their addresses on the lab's network.
    await expect(dock.locator('[data-machine-status]').innerText()).resolves.toMatch(
      /^Lab démarré : node1 \(192\.168\.\d+\.11\), node2 \(192\.168\.\d+\.12\), node3/,
    );
    await screenshot(page!, 'run-swarm-lab-1-started');
  });

  it('makes node1 the manager of a new swarm, which prints the join command', async () => {
    await runSnippet(page!, await snippet(1, 'node1', 'docker swarm init --advertise-addr eth0'), 'done', SLOW);
    const text = await unwrapped('node1/1');
    expect(text).toMatch(/Swarm initialized: current node \([0-9a-z]+\) is now a manager\./);
    joinCommand = /docker swarm join --token SWMTKN-1-[0-9a-z-]+ 192\.168\.\d+\.11:2377/.exec(text)?.[0] ?? '';
    expect(joinCommand, 'node1 printed no join command').not.toBe('');
  });

  it('runs the node2 block on node2, which is in no swarm yet', async () => {
    const block = await snippet(2, 'node2', "docker info --format '{{.Swarm.LocalNodeState}}'");
    // The page says where it runs, beside « Exécuter ».
    await expect(block.locator('.run-target').innerText()).resolves.toBe('sur node2');
    await runSnippet(page!, block, 'done', SLOW);
    expect(await settled('node2/1')).toMatch(/\ninactive\n/);
    // node1's terminal did not see it.
    expect(await settled('node1/1')).not.toMatch(/LocalNodeState/);
  });

  it('joins node2, and node3 from a terminal the dock opens on it, with the command node1 printed', async () => {
    await typeInTerminal(page!, 'node2/1', joinCommand);
    await waitForTerminalText(page!, 'node2/1', /This node joined a swarm as a worker\./, SLOW);

    await page!.getByRole('button', { name: 'Nouveau terminal sur node3' }).click();
    await waitForConnected(page!, 'node3/1', SLOW);
    await expect(page!.locator('lesson-terminal[machine="node3"] .lt-title').innerText()).resolves.toBe('node3 · 1');
    await typeInTerminal(page!, 'node3/1', joinCommand);
    await waitForTerminalText(page!, 'node3/1', /This node joined a swarm as a worker\./, SLOW);
    await screenshot(page!, 'run-swarm-lab-2-joined');
  });

  it('lists three Ready nodes, node1 the leader', async () => {
    await runSnippet(page!, await snippet(4, 'node1', 'docker node ls'), 'done', SLOW);
    const text = await settled('node1/1');
    expect(text).toMatch(/\*\s+node1\s+Ready\s+Active\s+Leader/);
    expect(text).toMatch(/node2\s+Ready\s+Active/);
    expect(text).toMatch(/node3\s+Ready\s+Active/);
  });

  it('spreads a service of three replicas, one on each node', async () => {
    await runSnippet(
      page!,
      await snippet(5, 'node1', 'docker service create --name veilleur --replicas 3 --replicas-max-per-node 1 busybox sleep 600'),
      'done',
      SLOW,
    );
    const text = await settled('node1/1');
    expect(text).toMatch(/overall progress: 3 out of 3 tasks/);
    expect(text).toMatch(/verify: Service converged/);
    const placed = [...text.matchAll(/^veilleur\.\d\s+(node\d)\s+Running/gm)].map((match) => match[1]).sort();
    expect(placed).toEqual(NODES);
  });

  it('publishes a port that every node answers, in host mode (no IPVS on this kernel)', async () => {
    await runSnippet(page!, await snippet(6, 'node1', PUBLISH), 'done', SLOW);
    const text = await settled('node1/1');
    expect(text).toMatch(/verify: Service converged/);
    for (const node of NODES) expect(text).toMatch(new RegExp(`curl -s ${node}:8080\\nBonjour de ${node}\\n`));
    await runSnippet(page!, await snippet(7, 'node3', 'curl -s node2:8080'), 'done', SLOW);
    expect(await settled('node3/1')).toMatch(/curl -s node2:8080\nBonjour de node2\n/);
    await screenshot(page!, 'run-swarm-lab-3-published');
  });

  it('shows each machine with its terminals, « node2 · 1 »', async () => {
    const dock = page!.locator('[data-terminal-dock]');
    for (const node of NODES) await expect(dock.locator(`[data-lab-machine="${node}"] [data-machine-terminals]`).innerText()).resolves.toBe('· 1');
    await expect(dock.locator('lesson-terminal .lt-title').allInnerTexts()).resolves.toEqual(['node1 · 1', 'node2 · 1', 'node3 · 1']);
  });

  it('removes the services', async () => {
    await runSnippet(page!, await snippet(8, 'node1', 'docker service rm veilleur web'), 'done', SLOW);
    expect(await settled('node1/1')).toMatch(/ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS\n/);
  });

  it('resets node3 alone from the dock: a new machine, out of the swarm, the others untouched', async () => {
    const node1Before = await settled('node1/1');
    await page!.getByRole('button', { name: 'Réinitialiser node3' }).click();
    await page!.locator('[data-machine-status]', { hasText: "node3 est neuve ; les autres machines du lab n'ont pas changé." }).waitFor({ timeout: SLOW });
    await waitForConnected(page!, 'node3/1', SLOW);
    expect(await commandOutput(page!, 'node3/1', "hostname; docker info --format '{{.Swarm.LocalNodeState}}'", SLOW)).toBe('node3\ninactive');
    // node1 kept its shell and what it showed.
    expect(await settled('node1/1')).toBe(node1Before);
  });

  it('finds the same lab again after a reload, its three terminals reattached', async () => {
    const before = await rememberedMachine(page!);
    expect(before?.terminals).toEqual(['node1/1', 'node2/1', 'node3/1']);
    await page!.reload();
    for (const node of NODES) await waitForConnected(page!, `${node}/1`, SLOW);
    expect((await rememberedMachine(page!))?.id).toBe(before?.id);
    // The shells are the same ones: node2's still shows that it joined.
    await waitForTerminalText(page!, 'node2/1', /This node joined a swarm as a worker\./, SLOW);
  });

  it(
    'resets the whole lab in place: the same lab, three new machines, every terminal on a new shell',
    async () => {
      const before = await rememberedMachine(page!);
      await page!.getByRole('button', { name: 'Réinitialiser le lab' }).click();
      await page!.locator('[data-machine-status]', { hasText: 'Lab neuf : toutes ses machines sont prêtes.' }).waitFor({ timeout: SLOW });
      for (const node of NODES) {
        await waitForConnected(page!, `${node}/1`, SLOW);
        expect(await commandOutput(page!, `${node}/1`, "hostname; docker info --format '{{.Swarm.LocalNodeState}}'", SLOW)).toBe(`${node}\ninactive`);
      }
      expect((await rememberedMachine(page!))?.id).toBe(before?.id);
      // node2's screen was cleared with its old shell.
      expect(await settled('node2/1')).not.toMatch(/joined a swarm/);
      // A safety net as long as its own waits (three new machines with Docker on a loaded host; CI once passed 120 s).
    },
    4 * SLOW,
  );
});
