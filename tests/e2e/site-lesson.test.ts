// The lesson page in real Chromium: notices by role and title, readable in
// both themes, transcripts highlighted and structured, copy buttons.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { saveScreenshot, type Page } from '../support/browser.ts';
import { staticSiteInChromium } from '../support/e2e-fixtures.ts';

const LESSON = 'docker_linux/namespaces/';

const web = staticSiteInChromium();

function openLesson(options: { width?: number; scheme?: 'light' | 'dark' } = {}): Promise<Page> {
  return web.open(LESSON, { width: options.width, colorScheme: options.scheme ?? 'light' });
}

/** WCAG contrast ratio between an element's text colour and the first opaque background behind it. */
async function contrastOf(page: Page, selector: string): Promise<number[]> {
  return page.locator(selector).evaluateAll((elements) => {
    const rgb = (css: string) => (css.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]: number[]) =>
      [r!, g!, b!]
        .map((c) => c / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i]!, 0);
    return elements.map((element) => {
      let background: number[] = [];
      for (let node: Element | null = element; node; node = node.parentElement) {
        const channels = rgb(getComputedStyle(node).backgroundColor);
        if (channels.length === 3 || channels[3] === 1) {
          background = channels;
          break;
        }
      }
      if (background.length === 0) background = [255, 255, 255];
      const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background)];
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    });
  });
}

describe('the lesson "Les Namespaces"', () => {
  it('shows every notice of the original, with its kind, title and icon, found by role', async () => {
    const page = await openLesson();
    const notices = page.getByRole('note');
    expect(await notices.count()).toBe(5);
    const expected = [
      ['warning', 'Avertissement', 'Vérifier dans votre VM les namespaces utilisés par init'],
      ['tip', 'Astuce', 'sera vu dans la partie suivante'],
      ['tip', 'Astuce', 'Ouvrir un nouveau terminal et vérifier le hostname de la VM'],
      ['info', 'Information', 'Que se passe-t-il'],
      ['tip', 'Astuce', 'une explication s’impose'],
    ] as const;
    for (const [index, [kind, title, text]] of expected.entries()) {
      const notice = notices.nth(index);
      await expect.poll(() => notice.getAttribute('class')).toBe(`notice notice--${kind}`);
      expect(await notice.getAttribute('aria-label')).toBe(title);
      expect(await notice.locator('.notice__title').textContent()).toBe(title);
      expect(await notice.locator('svg.notice__icon').isVisible()).toBe(true);
      expect(await notice.textContent()).toContain(text);
    }
    expect(await page.getByRole('note', { name: 'Information' }).count()).toBe(1);
    await page.close();
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`keeps notice titles and text at WCAG AA contrast or better in the ${scheme} theme`, async () => {
      const page = await openLesson({ scheme });
      const ratios = [...(await contrastOf(page, '.notice__title')), ...(await contrastOf(page, '.notice__body p'))];
      expect(ratios.length).toBeGreaterThan(9);
      expect(Math.min(...ratios)).toBeGreaterThanOrEqual(4.5);
      await page.close();
    });
  }

  it('follows the theme toggle and remembers it on the next page', async () => {
    const page = await openLesson({ scheme: 'light' });
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await background()).toBe('rgb(255, 255, 255)');
    const toggle = page.getByRole('button', { name: 'Thème sombre' });
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    await toggle.click();
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await background()).toBe('rgb(13, 17, 23)');
    await page.reload();
    expect(await background()).toBe('rgb(13, 17, 23)');
    await page.close();
  });

  it('renders transcripts as structured, highlighted blocks that say which terminal and which commands', async () => {
    const page = await openLesson();
    const uts = page.locator('figure.transcript', { hasText: 'my.name.is.bob' });
    expect(await uts.getAttribute('data-terminal')).toBe('1');
    expect(JSON.parse((await uts.getAttribute('data-commands')) ?? '[]')).toEqual([
      'hostname',
      'sudo unshare --uts /bin/bash',
      'hostname my.name.is.bob',
      'hostname',
    ]);
    // Commands are Shiki tokens in colour; outputs and remarks are not highlighted as code.
    const commandColours = await uts.locator('.tl-command span[style]').evaluateAll((spans) => spans.map((span) => getComputedStyle(span).color));
    expect(new Set(commandColours).size).toBeGreaterThan(1);
    expect(await uts.locator('.tl-output').allTextContents()).toEqual(['tp-docker', 'my.name.is.bob']);
    expect(
      await uts
        .locator('.tl-remark')
        .first()
        .evaluate((el) => getComputedStyle(el).fontStyle),
    ).toBe('italic');
    // The prompt is shown but cannot be selected, so a copied command works as typed.
    expect(await uts.locator('.tl-prompt').allTextContents()).toEqual(['$ ', '$ ', '# ', '# ']);
    expect(
      await uts
        .locator('.tl-prompt')
        .first()
        .evaluate((el) => getComputedStyle(el).userSelect),
    ).toBe('none');

    const mountTerminals = await page
      .locator('figure.transcript', { hasText: 'ls -l /tmp' })
      .evaluateAll((figures) => figures.map((figure) => [(figure as HTMLElement).dataset.terminal, figure.querySelector('figcaption')?.textContent]));
    expect(mountTerminals).toEqual([
      ['1', 'Terminal 1 (dans le namespace)'],
      ['2', 'Terminal 2 (dans la VM)'],
    ]);
    await page.close();
  });

  it('copies only the commands of a transcript, never its prompts, outputs or remarks', async () => {
    await web.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(web.site.url).origin });
    const page = await openLesson();
    const block = page.locator('figure.transcript', { hasText: '--mount-proc' });
    await block
      .getByRole('button', { name: /^Copier/ })
      .first()
      .click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('sudo unshare --pid --fork --mount-proc /bin/bash\nps aux\nexit');
    await page.close();
  });

  it('writes screenshots at desktop and phone widths', async () => {
    for (const [name, width] of [
      ['lesson-desktop', 1280],
      ['lesson-phone', 360],
    ] as const) {
      const page = await openLesson({ width });
      const path = await saveScreenshot(page, name);
      // A PNG whose IHDR width is the viewport's: the page did not overflow sideways.
      const png = readFileSync(path);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(width);
      await page.close();
    }
  });
});
