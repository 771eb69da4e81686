// Readers read French: every word of the catalogue the page shows for an
// error code is French, and every code of the wire has its words. The
// detector itself is checked on the sentence that used to reach the page.
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../contracts/errors.ts';
import { ERROR_WORDS_FR, inFrench } from '../../contracts/messages.fr.ts';
import { englishSentences } from '../support/english-detector.ts';

describe('the detector', () => {
  it('finds the English refusal that used to reach the page, and passes French', () => {
    expect(
      englishSentences("Le serveur n'a pas pu vous donner de machine (HTTP 429 : You already have 3 sandboxes, the most one reader may hold at once.)"),
    ).not.toEqual([]);
    expect(englishSentences("Réessayez dans une minute : des machines se libèrent quand des lecteurs s'en vont.")).toEqual([]);
  });
});

describe('the French catalogue', () => {
  it('has words for every error code of the wire', () => {
    expect(Object.keys(ERROR_WORDS_FR).sort()).toEqual([...ERROR_CODES].sort());
  });

  it.each(Object.entries(ERROR_WORDS_FR))('%s is French', (_code, words) => {
    for (const text of [words.message, words.hint]) {
      expect(englishSentences(text), text).toEqual([]);
      expect(text.trim()).not.toBe('');
    }
  });

  it("replaces the server's English with the words for its code, and keeps what the classroom wrote in French", () => {
    expect(inFrench({ code: 'gone', message: 'The sandbox was destroyed.' })).toEqual(ERROR_WORDS_FR.gone);
    expect(inFrench({ code: 'class-link-expired', lang: 'fr', message: 'Ce lien a expiré hier.' })).toEqual({
      message: 'Ce lien a expiré hier.',
      hint: ERROR_WORDS_FR['class-link-expired'].hint,
    });
  });
});
