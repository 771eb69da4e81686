// The lesson « Premiers conteneurs », run as a reader would: every snippet
// clicked in order in real Chromium, against the real sandbox server (which
// serves the class image store) and a real machine with dockerd, offline;
// what the terminal shows is checked against what the lesson says.
// Screenshots go to test-results/run-docker-lesson-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from '../support/browser.ts';
import { courseInChromium } from '../support/e2e-fixtures.ts';
import { afterLast, commandOutput, runSnippet, screenshot, snippets, terminalText, waitForTerminalText } from '../support/terminal-page.ts';

const LESSON = 'docker_linux/premiers-conteneurs/';
const web = courseInChromium();
let page: Page | undefined;
/** A pull or a build on a loaded host can take a while: a safety net, not a speed check. */
const SLOW = 180_000;

beforeAll(async () => {
  page = await web.browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(new URL(LESSON, web.course.server.url).href);
});

afterAll(() => web.deleteMachineOf(page));

async function snippet(index: number, firstCommand: string) {
  const figure = snippets(page!).nth(index);
  const commands = JSON.parse((await figure.getAttribute('data-commands')) ?? '[]') as string[];
  expect(commands[0], `snippet ${index} is not the one this test expects`).toBe(firstCommand);
  return figure;
}

describe('running the Docker lesson', () => {
  it('has eight snippets, each with Exécuter', async () => {
    await expect(snippets(page!).count()).resolves.toBe(8);
  });

  it('runs a first container, pulling busybox from the class store', async () => {
    const first = await snippet(0, 'docker run --rm busybox echo "Bonjour depuis un conteneur"');
    // The first click starts the machine; `docker` waits for a dockerd still starting (rootfs /usr/local/bin/docker).
    await runSnippet(page!, first, 'done', SLOW);
    const text = await terminalText(page!, '1');
    expect(text).toMatch(/\nBonjour depuis un conteneur/);
    expect(text).not.toMatch(/permission denied|Cannot connect to the Docker daemon/i);
    await screenshot(page!, 'run-docker-lesson-1-run');
  });

  it('runs one in the background, looks inside, stops and removes it', async () => {
    await runSnippet(page!, await snippet(1, 'docker run -d --name veilleur busybox sleep 600'), 'done', SLOW);
    const text = await terminalText(page!, '1');
    expect(text).toMatch(/veilleur\s+busybox\s+Up/);
    expect(afterLast(text, 'docker exec veilleur ps')).toMatch(/1 root\s+sleep 600/);
    expect(await commandOutput(page!, '1', 'docker ps -a --filter name=veilleur --format "{{.Names}}" | wc -l')).toBe('0');
  });

  it('builds an image from a Dockerfile and runs it', async () => {
    await runSnippet(page!, await snippet(2, 'mkdir -p ~/bonjour && cd ~/bonjour'), 'done', SLOW);
    const text = await terminalText(page!, '1');
    expect(text).toMatch(/Successfully tagged bonjour:latest/);
    expect(afterLast(text, 'docker run --rm bonjour')).toMatch(/\nImage construite dans ma machine/);
    await screenshot(page!, 'run-docker-lesson-2-build');
  });

  it("pushes that image to the reader's own space of the class registry ($DEPOT), removes it, and runs it back from there", async () => {
    await runSnippet(page!, await snippet(3, 'echo "$DEPOT"'), 'done', SLOW);
    // The last rows: the image is gone from the machine, so it comes back from the reader's space, busybox's layer kept.
    const text = await waitForTerminalText(page!, '1', /\nImage construite dans ma machine\n/);
    expect(text).not.toMatch(/denied|unauthorized|not found/i);
    const back = afterLast(text, 'docker run --rm "$DEPOT/bonjour"');
    const depot = await commandOutput(page!, '1', 'echo "$DEPOT"');
    expect(depot).toMatch(/^localhost:5000\/lecteur-[0-9a-f]{10}$/);
    expect(back).toContain(`Unable to find image '${depot}/bonjour:latest' locally`);
    expect(back).toMatch(/Already exists[\s\S]*Pull complete[\s\S]*\nImage construite dans ma machine/);
    expect(await commandOutput(page!, '1', 'docker image ls "$DEPOT/bonjour" --format "{{.Repository}}"')).toBe(`${depot}/bonjour`);
    await screenshot(page!, 'run-docker-lesson-2b-push');
  });

  it('reaches a container by its name on a network of two', async () => {
    await runSnippet(page!, await snippet(4, 'docker network create mon-reseau'), 'done', SLOW);
    expect(afterLast(await terminalText(page!, '1'), 'wget -qO- http://web/')).toMatch(/\nBonjour du serveur web/);
  });

  it('publishes a port that curl reaches on 127.0.0.1', async () => {
    await runSnippet(page!, await snippet(5, 'docker run -d --name web-public -p 8080:80 -v ~/site:/www:ro busybox httpd -f -p 80 -h /www'), 'done', SLOW);
    const text = await terminalText(page!, '1');
    expect(afterLast(text, 'curl 127.0.0.1:8080')).toMatch(/\nBonjour du serveur web/);
    expect(text).toMatch(/80\/tcp -> 0\.0\.0\.0:8080/);
    await screenshot(page!, 'run-docker-lesson-3-port');
  });

  it('keeps notes in a volume across containers', async () => {
    await runSnippet(page!, await snippet(6, 'docker volume create carnet'), 'done', SLOW);
    const text = await terminalText(page!, '1');
    expect(afterLast(text, 'cat /data/notes.txt')).toMatch(/première note\s+deuxième note/);
    expect(text).toMatch(/local\s+carnet/);
  });

  it('starts and removes a two-service application with docker compose', async () => {
    await runSnippet(page!, await snippet(7, 'mkdir -p ~/pile && cd ~/pile'), 'done', SLOW);
    const text = await terminalText(page!, '1');
    expect(afterLast(text, 'curl 127.0.0.1:8081')).toMatch(/\nBonjour du serveur web/);
    expect(afterLast(text, 'docker compose logs client')).toMatch(/client_1\s+\| Bonjour du serveur web/);
    expect(text).toMatch(/Removing network pile_default/);
    await screenshot(page!, 'run-docker-lesson-4-compose');
  });
});
