// Finds English sentences in text meant for French readers. A sentence is
// English when it holds several words that only English uses (the, you,
// your, with…) and more of them than French function words. Shell output
// and code are left out by the callers: they are English on a French page
// by nature ("No such process").
const ENGLISH = new Set(
  'the you your is are was were be been being not cannot please this that these those with from has have had already failed could would should try again here there what which when and of to it its for by yet only will does did can must than then them they we our into about more most too reload refused invalid unknown sandbox server error'.split(
    ' ',
  ),
);
const FRENCH = new Set(
  'le la les de des du un une et est vous votre vos pour dans sur pas ne qui que au aux ce cette ces il elle se sa son ses par avec plus être été ou où mais donc car si en y à'.split(
    ' ',
  ),
);

export interface EnglishHit {
  sentence: string;
  english: string[];
}

/** The sentences of `text` that read as English. */
export function englishSentences(text: string): EnglishHit[] {
  const hits: EnglishHit[] = [];
  for (const sentence of text.split(/(?<=[.!?:;])\s+|\n+/)) {
    const words = sentence.toLowerCase().match(/[a-zà-ÿœ']+/g) ?? [];
    const english = [...new Set(words.filter((word) => ENGLISH.has(word)))];
    const french = words.filter((word) => FRENCH.has(word)).length;
    if (english.length >= 3 && english.length > french) hits.push({ sentence: sentence.trim(), english });
  }
  return hits;
}
