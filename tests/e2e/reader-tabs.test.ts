// One reader = one browser: the lesson opened in five tabs in a row, each
// closed before the next, gets a machine every time — the same machine,
// with the same shell, since the reader cookie ties the browser to it (a
// closed tab used to strand its machine, and the fourth tab got HTTP 429).
import { afterAll, describe, expect, it } from 'vitest';
import { deleteSandbox } from '../support/server-client.ts';
import { courseInChromium } from '../support/e2e-fixtures.ts';
import { commandOutput, rememberedMachine, runSnippet, snippets, waitForConnected } from '../support/terminal-page.ts';

const web = courseInChromium();
let machine: { id: string; token: string } | undefined;

afterAll(async () => {
  if (machine) await deleteSandbox(web.course.server, machine);
});

describe('five tabs in a row', () => {
  it('each gets a machine, and it is the same one', async () => {
    const seen: string[] = [];
    for (let tab = 1; tab <= 5; tab++) {
      const page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
      try {
        await page.goto(web.course.lessonUrl);
        await runSnippet(page, snippets(page).nth(0));
        await waitForConnected(page, '1');
        const remembered = await rememberedMachine(page);
        expect(remembered?.id).toMatch(/^[0-9a-f]{32}$/);
        machine = remembered;
        seen.push(remembered!.id);
        // The shell too: what the first tab left in it is still there.
        if (tab === 1) await commandOutput(page, '1', 'export FIRST_TAB=yes; echo set');
        else expect(await commandOutput(page, '1', 'echo "first=$FIRST_TAB"')).toContain('first=yes');
      } finally {
        await page.close();
      }
    }
    expect(new Set(seen).size).toBe(1);
    // One machine for the reader, nothing stranded.
    expect(await web.course.server.metric('sandboxes_active', { kind: 'assigned' })).toBe(1);
  });

  it('sets a reader cookie the page cannot read, scoped to the course', async () => {
    const cookies = await web.browser.context.cookies(web.course.lessonUrl);
    const reader = cookies.find((cookie) => cookie.name === 'reader');
    expect(reader).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const page = await web.browser.newPage();
    try {
      await page.goto(web.course.lessonUrl);
      expect(await page.evaluate(() => document.cookie)).not.toContain('reader=');
    } finally {
      await page.close();
    }
  });
});
