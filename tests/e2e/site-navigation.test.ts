// Moving around the course in real Chromium: home page, sidebar, breadcrumbs,
// previous/next, table of contents, search, and the phone layout.
import { describe, expect, it } from 'vitest';
import type { Page } from '../support/browser.ts';
import { staticSiteInChromium } from '../support/e2e-fixtures.ts';

const web = staticSiteInChromium();
const open = (path: string, width?: number) => web.open(path, { width });

const pathOf = (page: Page) => new URL(page.url()).pathname;

describe('navigation', () => {
  it('the home page lists the numbered chapters and their pages', async () => {
    const page = await open('');
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    const chapters = page.locator('.chapter-cards');
    expect(await chapters.getByRole('link', { name: '4. Docker et Linux' }).getAttribute('href')).toBe('/docker_linux/');
    await chapters.getByRole('link', { name: 'Les Namespaces' }).click();
    await page.waitForURL('**/docker_linux/namespaces/');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Les Namespaces');
    await page.close();
  });

  it('the sidebar shows chapters in Hugo order, marks the current page and navigates', async () => {
    const page = await open('docker_linux/namespaces/');
    const sidebar = page.getByRole('navigation', { name: 'Chapitres du cours' });
    expect(await sidebar.getByRole('link').allTextContents()).toEqual(['4. Docker et Linux', 'Les Namespaces', 'Premiers conteneurs', 'Docker Swarm']);
    expect(await sidebar.getByRole('link', { name: 'Les Namespaces' }).getAttribute('aria-current')).toBe('page');
    await sidebar.getByRole('link', { name: '4. Docker et Linux' }).click();
    await page.waitForURL('**/docker_linux/');
    expect(pathOf(page)).toBe('/docker_linux/');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Docker et Linux');
    await page.close();
  });

  it('breadcrumbs and previous/next links follow the reading order', async () => {
    const page = await open('docker_linux/');
    const pager = page.getByRole('navigation', { name: 'Pages précédente et suivante' });
    await pager.getByRole('link', { name: /Suivant/ }).click();
    await page.waitForURL('**/docker_linux/namespaces/');
    const crumbs = page.getByRole('navigation', { name: "Fil d'Ariane" });
    expect(await crumbs.getByRole('listitem').allTextContents()).toEqual(['TP Docker', 'Docker et Linux', 'Les Namespaces']);
    await page
      .getByRole('navigation', { name: 'Pages précédente et suivante' })
      .getByRole('link', { name: /Précédent/ })
      .click();
    await page.waitForURL('**/docker_linux/');
    await page.getByRole('link', { name: /Précédent/ }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await page.close();
  });

  it('the table of contents links to the exercises', async () => {
    const page = await open('docker_linux/namespaces/');
    const toc = page.locator('nav.toc');
    expect(await toc.getByRole('link').allTextContents()).toEqual(['Créer son premier namespace', 'net', 'UTS', 'mnt', 'pid', 'user']);
    await toc.getByRole('link', { name: 'mnt' }).click();
    await page.waitForURL('**#mnt');
    expect(await page.locator('#mnt').evaluate((heading) => Math.round(heading.getBoundingClientRect().top) < 200)).toBe(true);
    await page.close();
  });
});

describe('search', () => {
  it('finds the lesson from an inflected French word, without loading Pagefind before use', async () => {
    const page = await open('');
    const pagefindRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/pagefind/')) pagefindRequests.push(request.url());
    });
    await page.waitForLoadState('networkidle');
    expect(pagefindRequests).toEqual([]);
    const field = page.getByRole('searchbox', { name: 'Rechercher dans le cours' });
    // "montages" is not in the lesson; "montage" is: French stemming finds it.
    await field.fill('montages');
    const results = page.getByRole('list', { name: 'Résultats de la recherche' });
    await results.getByRole('link', { name: 'Les Namespaces' }).waitFor();
    expect(pagefindRequests.some((url) => url.endsWith('pagefind.js'))).toBe(true);
    expect(await results.locator('mark').first().textContent()).toMatch(/^montage/i);
    await results.getByRole('link', { name: 'Les Namespaces' }).click();
    await page.waitForURL('**/docker_linux/namespaces/');
    await page.close();
  });

  it('says so when nothing matches, and leaves the 404 page out of the index', async () => {
    const page = await open('');
    const search = page.getByRole('searchbox', { name: 'Rechercher dans le cours' });
    const results = page.getByRole('list', { name: 'Résultats de la recherche' }).getByRole('link');
    // A word on no page at all: the answer says so and lists nothing.
    await search.fill('zyxwvutsr');
    const none = page.getByRole('status').filter({ hasText: 'Aucun résultat pour « zyxwvutsr »' });
    await none.waitFor();
    expect(await results.count()).toBe(0);
    // "introuvable" is the 404 page's own word (checked first, or its absence would prove nothing); lessons may
    // match it through French stemming (« se trouvent »), but the 404 page is never among the results.
    const notFound = await page.request.get(new URL('404.html', page.url()).href);
    expect(await notFound.text()).toMatch(/introuvable/i);
    await search.fill('introuvable');
    await page.getByRole('status').filter({ hasText: 'pour « introuvable »' }).waitFor();
    const targets = await results.evaluateAll((links) => links.map((link) => (link as HTMLAnchorElement).pathname));
    expect(targets.filter((path) => /404/.test(path))).toEqual([]);
    await page.close();
  });
});

describe('phone layout (360 px)', () => {
  for (const path of ['', 'docker_linux/', 'docker_linux/namespaces/']) {
    it(`has no horizontal scroll on /${path}`, async () => {
      const page = await open(path, 360);
      const widths = await page.evaluate(() => ({ document: document.documentElement.scrollWidth, viewport: window.innerWidth }));
      expect(widths.document).toBeLessThanOrEqual(widths.viewport);
      await page.close();
    });
  }

  it('folds the sidebar behind the Menu button', async () => {
    const page = await open('docker_linux/namespaces/', 360);
    const sidebar = page.getByRole('navigation', { name: 'Chapitres du cours' });
    expect(await sidebar.isVisible()).toBe(false);
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    expect(await sidebar.isVisible()).toBe(true);
    await sidebar.getByRole('link', { name: '4. Docker et Linux' }).click();
    await page.waitForURL('**/docker_linux/');
    await page.close();
  });
});
