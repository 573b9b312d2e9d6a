import { decodedSegments } from './decoded-segments.ts';
import { originalSpan } from './mapped-text.ts';
import { deobfuscate, surfaceForm } from './normalise.ts';
import { matchRules } from './rules.ts';

/** What the scanner found in one value. */
export interface UntrustedTextScan {
  /** From 0 to 1: how sure the rules are that the text addresses instructions to the model reading it. */
  score: number;
  /**
   * Why, strongest first: the categories of the rules that matched (`instruction_override`, `data_request`, …),
   * `obfuscation:<kind>` for each disguise that had to be undone before they matched, and characters a human
   * reviewer would not see (`bidi_controls`, `invisible_characters`, `unicode_tags`).
   */
  signals: string[];
  /** The spans of the text that rules matched, sorted and merged: what neutralising removes. */
  spans: Array<[number, number]>;
}

/** A value scoring this much or more is flagged: one strong rule, or several weak ones together. */
export const FLAG_THRESHOLD = 0.5;
/** Disguising an instruction is itself a sign of intent, so undoing a disguise adds to the score. */
const OBFUSCATION_WEIGHT = 0.25;
/** Base64 inside base64 is read; a third level is not (each level is a full scan of a shorter text). */
const MAX_DECODE_DEPTH = 2;

class Evidence {
  readonly weights = new Map<string, number>();
  readonly spans: Array<[number, number]> = [];

  note(signal: string, weight: number): void {
    this.weights.set(signal, Math.max(this.weights.get(signal) ?? 0, weight));
  }

  get found(): boolean {
    return this.weights.size > 0;
  }
}

/** Scans `text`, a part of the original that `toOriginal` maps back, in its plain, deobfuscated and decoded readings. */
function scanReadings(text: string, evidence: Evidence, toOriginal: (start: number, end: number) => [number, number], depth: number): void {
  const surface = surfaceForm(text);
  const plain = new Set<string>();
  for (const match of matchRules(surface.text)) {
    plain.add(match.category);
    evidence.note(match.category, match.weight);
    evidence.spans.push(toOriginal(...originalSpan(surface, match.start, match.end)));
  }
  const { text: clear, undone } = deobfuscate(surface);
  if (undone.has('bidi')) evidence.note('bidi_controls', 0.3);
  if (undone.has('zero_width')) evidence.note('invisible_characters', 0.15);
  if (clear.text !== surface.text) {
    for (const match of matchRules(clear.text)) {
      evidence.note(match.category, match.weight);
      evidence.spans.push(toOriginal(...originalSpan(clear, match.start, match.end)));
      if (!plain.has(match.category)) for (const kind of undone) evidence.note(`obfuscation:${kind}`, OBFUSCATION_WEIGHT);
    }
  }
  if (depth >= MAX_DECODE_DEPTH) return;
  for (const segment of decodedSegments(text)) {
    const [start, end] = toOriginal(segment.start, segment.end);
    if (segment.kind === 'unicode_tags') evidence.note('unicode_tags', 0.3);
    const inner = new Evidence();
    // What a decoded text says cannot be located more finely than the encoded run it came from.
    scanReadings(segment.text, inner, () => [start, end], depth + 1);
    if (!inner.found) continue;
    for (const [signal, weight] of inner.weights) evidence.note(signal, weight);
    evidence.spans.push(...inner.spans);
    evidence.note(`obfuscation:${segment.kind}`, OBFUSCATION_WEIGHT);
  }
}

function mergedSpans(spans: ReadonlyArray<[number, number]>): Array<[number, number]> {
  const sorted = [...spans].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: Array<[number, number]> = [];
  for (const [start, end] of sorted) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/**
 * Scans a value of an `untrusted_text` field for text written to steer the model that will read it: our own
 * deterministic rules (no network, no model), explainable by the signals they return. Signals combine as
 * independent evidence: score = 1 − ∏(1 − weight), each signal counted once at its strongest.
 */
export function scanUntrustedText(text: string): UntrustedTextScan {
  const evidence = new Evidence();
  scanReadings(text, evidence, (start, end) => [start, end], 0);
  const ranked = [...evidence.weights].sort(([a, wa], [b, wb]) => wb - wa || a.localeCompare(b));
  const score = 1 - ranked.reduce((clean, [, weight]) => clean * (1 - weight), 1);
  return { score, signals: ranked.map(([signal]) => signal), spans: mergedSpans(evidence.spans) };
}
