import { toHtml } from 'hast-util-to-html';
import { describe, expect, it } from 'vitest';
import {
  NOTICE_CLOSE_HTML,
  NOTICE_KINDS,
  NOTICE_KIND_NAMES,
  UnknownNoticeKindError,
  isNoticeKind,
  noticeHast,
  noticeHtml,
  noticeOpenHtml,
  resolveNotice,
} from '../../src/lib/notice-kinds.ts';

describe('notice kinds', () => {
  it("lists Learn's and Relearn's kinds with French default titles", () => {
    expect(NOTICE_KIND_NAMES).toEqual(['note', 'info', 'tip', 'warning', 'caution', 'important']);
    expect(Object.fromEntries(NOTICE_KIND_NAMES.map((k) => [k, NOTICE_KINDS[k].title]))).toEqual({
      note: 'Note',
      info: 'Information',
      tip: 'Astuce',
      warning: 'Avertissement',
      caution: 'Attention',
      important: 'Important',
    });
  });

  it('gives every kind a static note role, a French label and a decorative inline SVG icon', () => {
    for (const k of NOTICE_KIND_NAMES) {
      const spec = NOTICE_KINDS[k];
      expect(spec.role).toBe('note');
      expect(spec.ariaLabel).toBe(spec.title);
      expect(spec.icon).toMatch(/^<svg [^>]*class="notice__icon"[^>]*>.*<\/svg>$/);
      expect(spec.icon).toContain('aria-hidden="true"');
      expect(spec.icon).toContain('focusable="false"');
    }
    expect(new Set(NOTICE_KIND_NAMES.map((k) => NOTICE_KINDS[k].icon)).size).toBe(NOTICE_KIND_NAMES.length);
  });

  it('recognises kinds exactly', () => {
    expect(isNoticeKind('tip')).toBe(true);
    expect(isNoticeKind('Tip')).toBe(false);
    expect(isNoticeKind('danger')).toBe(false);
    expect(isNoticeKind('toString')).toBe(false);
    expect(isNoticeKind(undefined)).toBe(false);
  });
});

describe('resolveNotice', () => {
  it('uses the default title when none or a blank one is given', () => {
    expect(resolveNotice('tip')).toMatchObject({ kind: 'tip', title: 'Astuce', role: 'note', ariaLabel: 'Astuce', className: 'notice notice--tip' });
    expect(resolveNotice('tip', '  ').title).toBe('Astuce');
    expect(resolveNotice('warning', ' Attention au PID 1 ').title).toBe('Attention au PID 1');
    expect(resolveNotice('warning', 'x').icon).toBe(NOTICE_KINDS.warning.icon);
  });

  it('rejects an unknown kind, listing the allowed ones', () => {
    expect(() => resolveNotice('danger')).toThrow(UnknownNoticeKindError);
    expect(() => resolveNotice('danger')).toThrow('Unknown notice kind "danger". Allowed kinds: note, info, tip, warning, caution, important.');
    expect(() => resolveNotice('Tip')).toThrow('Did you mean "tip"?');
  });
});

describe('notice markup', () => {
  const body = [{ type: 'element' as const, tagName: 'p', properties: {}, children: [{ type: 'text' as const, value: 'Corps' }] }];

  it('is an aside with a header (icon + title) and a body', () => {
    expect(toHtml(noticeHast('tip', undefined, body))).toBe(
      '<aside class="notice notice--tip" role="note" aria-label="Astuce">' +
        `<div class="notice__header">${NOTICE_KINDS.tip.icon}<span class="notice__title">Astuce</span></div>` +
        '<div class="notice__body"><p>Corps</p></div></aside>',
    );
  });

  it('is the same whether built as hast or as a string, for every kind and awkward titles', () => {
    for (const k of NOTICE_KIND_NAMES) {
      for (const title of [undefined, 'Mon titre', 'L’été <b> & "guillemets"']) {
        expect(noticeHtml(k, title, '<p>Corps</p>')).toBe(toHtml(noticeHast(k, title, body), { characterReferences: { useNamedReferences: true } }));
      }
    }
  });

  it('splits into an opening and a closing part around the body', () => {
    expect(noticeOpenHtml('note') + '<p>x</p>' + NOTICE_CLOSE_HTML).toBe(noticeHtml('note', undefined, '<p>x</p>'));
    expect(noticeOpenHtml('note', 'a < b')).toContain('<span class="notice__title">a &lt; b</span>');
  });
});
