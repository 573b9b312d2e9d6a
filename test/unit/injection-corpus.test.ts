import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLAG_THRESHOLD, scanUntrustedText } from '../../src/agent-controls/injection/index.ts';

// Precision and recall of the injection scanner on the labelled corpus (test/fixtures/prompt-injection, see its
// README). The floors sit just under what was measured when the scanner was written (overall precision 1.000,
// recall 0.995; held-out third 1.000 and 0.986), so a rule change that costs more than a sample or two fails here.

interface Sample {
  id: string;
  label: 'injection' | 'benign';
  lang: string;
  obfuscation: string;
  source: 'written' | 'demo';
  split: 'dev' | 'holdout';
  text: string;
}

const CORPUS: Sample[] = readFileSync(new URL('../fixtures/prompt-injection/corpus.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Sample);

interface Measured {
  precision: number;
  recall: number;
  falsePositives: string[];
  misses: string[];
}

function measure(samples: readonly Sample[]): Measured {
  const flagged = samples.filter((sample) => scanUntrustedText(sample.text).score >= FLAG_THRESHOLD);
  const truePositives = flagged.filter((sample) => sample.label === 'injection').length;
  const injections = samples.filter((sample) => sample.label === 'injection').length;
  return {
    precision: flagged.length === 0 ? 1 : truePositives / flagged.length,
    recall: truePositives / injections,
    falsePositives: flagged.filter((sample) => sample.label === 'benign').map((sample) => sample.id),
    misses: samples.filter((sample) => sample.label === 'injection' && !flagged.includes(sample)).map((sample) => sample.id),
  };
}

const report = (name: string, m: Measured) =>
  console.log(`${name}: precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)}; false positives [${m.falsePositives}], misses [${m.misses}]`);

describe('the prompt-injection corpus', () => {
  it('has at least 150 injections and 150 benign samples, in several languages and obfuscations, with hard negatives', () => {
    const injections = CORPUS.filter((sample) => sample.label === 'injection');
    const benign = CORPUS.filter((sample) => sample.label === 'benign');
    expect(injections.length).toBeGreaterThanOrEqual(150);
    expect(benign.length).toBeGreaterThanOrEqual(150);
    for (const lang of ['en', 'de', 'fr', 'es', 'zh', 'ja']) {
      expect(
        injections.some((sample) => sample.lang === lang),
        `injections in ${lang}`,
      ).toBe(true);
      expect(
        benign.some((sample) => sample.lang === lang),
        `benign samples in ${lang}`,
      ).toBe(true);
    }
    const obfuscations = new Set(injections.map((sample) => sample.obfuscation));
    for (const kind of ['zero_width', 'homoglyph', 'leetspeak', 'spaced', 'base64', 'hidden_markup', 'fullwidth', 'bidi', 'unicode_tags']) {
      expect(obfuscations, kind).toContain(kind);
    }
    // Benign notes that use the words attacks use.
    for (const word of [/\bignore\b/i, /\bsystem\b/i, /\binstructions?\b/i, /\brefund/i, /@/, /https?:\/\//, /[{}]/]) {
      expect(
        benign.some((sample) => word.test(sample.text)),
        String(word),
      ).toBe(true);
    }
    expect(CORPUS.filter((sample) => sample.source === 'demo').length).toBeGreaterThan(50);
    expect(new Set(CORPUS.map((sample) => sample.id)).size).toBe(CORPUS.length);
  });

  it('is flagged with precision ≥ 0.98 and recall ≥ 0.98 over all samples', () => {
    const all = measure(CORPUS);
    report('all', all);
    expect(all.precision).toBeGreaterThanOrEqual(0.98);
    expect(all.recall).toBeGreaterThanOrEqual(0.98);
  });

  it('is flagged with precision ≥ 0.97 and recall ≥ 0.95 on the third the rules were not written against', () => {
    const holdout = measure(CORPUS.filter((sample) => sample.split === 'holdout'));
    report('holdout', holdout);
    expect(holdout.precision).toBeGreaterThanOrEqual(0.97);
    expect(holdout.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('flags every demo injection and no ordinary demo note', () => {
    const demo = measure(CORPUS.filter((sample) => sample.source === 'demo'));
    expect(demo.misses).toEqual([]);
    expect(demo.falsePositives).toEqual([]);
  });

  it('catches at least 90% of the injections of each language and each obfuscation', () => {
    const groups = new Map<string, Sample[]>();
    for (const sample of CORPUS) {
      for (const key of [`lang:${sample.lang}`, `obfuscation:${sample.obfuscation}`]) groups.set(key, [...(groups.get(key) ?? []), sample]);
    }
    for (const [key, samples] of groups) {
      if (!samples.some((sample) => sample.label === 'injection')) continue;
      expect(measure(samples).recall, key).toBeGreaterThanOrEqual(0.9);
    }
  });
});
