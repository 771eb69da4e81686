import { describe, expect, it } from 'vitest';
import { compareHugoPages, sortHugoPages, type HugoSortable } from '../../src/lib/hugo/ordering.ts';

const p = (path: string, o: Partial<HugoSortable> = {}): HugoSortable => ({ title: path, path, ...o });
const order = (pages: HugoSortable[]) => sortHugoPages(pages).map((x) => x.path);

describe('Hugo default page order', () => {
  it('sorts by weight ascending, weight 0 or unset last, negative first', () => {
    expect(order([p('zero', { weight: 0 }), p('unset'), p('three', { weight: 3 }), p('one', { weight: 1 }), p('neg', { weight: -1 })])).toEqual([
      'neg',
      'one',
      'three',
      'unset',
      'zero',
    ]);
  });

  it('puts the most recent first among equal weights', () => {
    expect(
      order([
        p('old', { weight: 2, date: new Date('2020-01-01') }),
        p('new', { weight: 2, date: new Date('2021-01-01') }),
        p('none', { weight: 2 }),
        p('string-date', { weight: 2, date: '2020-06-14T11:39:32+02:00' }),
      ]),
    ).toEqual(['new', 'string-date', 'old', 'none']);
  });

  it('orders unweighted pages by date too, after the weighted ones', () => {
    expect(order([p('u-old', { date: new Date('2000-01-01') }), p('w', { weight: 3 }), p('u-new', { date: new Date('2022-01-01') })])).toEqual([
      'w',
      'u-new',
      'u-old',
    ]);
  });

  it('compares dates to the second, as Hugo does', () => {
    const a = p('a', { title: 'b', date: new Date('2020-01-01T00:00:00.100Z') });
    const b = p('b', { title: 'a', date: new Date('2020-01-01T00:00:00.900Z') });
    expect(order([a, b])).toEqual(['b', 'a']); // same second: by title
  });

  it('breaks ties by linkTitle (else title) with collation, like hugo 0.111 did on the same titles', () => {
    const titles = ['Zed', 'zeta', 'same', 'École', 'Echo', 'Banana', 'Apple', 'apple', '9 things', '10 things', '_under'];
    const pages = titles.map((t, i) => p(`f${i}`, { title: t, weight: 2 }));
    pages.push(p('zed-link', { title: 'Zed', linkTitle: 'aaa first by linktitle', weight: 2 }));
    expect(sortHugoPages(pages).map((x) => x.linkTitle ?? x.title)).toEqual([
      '_under',
      '10 things',
      '9 things',
      'aaa first by linktitle',
      'apple',
      'Apple',
      'Banana',
      'Echo',
      'École',
      'same',
      'Zed',
      'zeta',
    ]);
  });

  it('breaks remaining ties by file path, a page without a file first', () => {
    expect(order([p('s/k.md', { title: 'same' }), p('s/j.md', { title: 'same' }), p('', { title: 'same' })])).toEqual(['', 's/j.md', 's/k.md']);
  });

  it('is a consistent comparator', () => {
    const a = p('a', { weight: 1 });
    const b = p('b', { weight: 2 });
    expect(compareHugoPages(a, b)).toBeLessThan(0);
    expect(compareHugoPages(b, a)).toBeGreaterThan(0);
    expect(compareHugoPages(a, { ...a })).toBe(0);
  });

  it('does not modify its input', () => {
    const input = [p('b', { weight: 2 }), p('a', { weight: 1 })];
    sortHugoPages(input);
    expect(input.map((x) => x.path)).toEqual(['b', 'a']);
  });
});
