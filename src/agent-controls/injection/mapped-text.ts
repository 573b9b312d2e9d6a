/**
 * A rewritten text that remembers where each of its characters came from in the original, so a rule that
 * matches the normalised text (folded look-alikes, stripped zero-width characters) can name the span of the
 * original to neutralise.
 */
export interface MappedText {
  readonly text: string;
  /**
   * Per UTF-16 unit of `text`: where its source starts (`from`) and ends, exclusive (`to`), in the original;
   * null when unit i came from unit i (the common case, kept free of two arrays per value).
   */
  readonly from: readonly number[] | null;
  readonly to: readonly number[] | null;
}

/** The original itself, or a rewrite of it that keeps every unit in place (ASCII lower-casing). */
export const inPlace = (text: string): MappedText => ({ text, from: null, to: null });

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;

/**
 * Rewrites `input` one code point at a time: `replace` gets the code point and its offset in `input.text` and
 * returns what stands for it ('' deletes it); every unit of the replacement maps to that code point's source.
 */
export function rewrite(input: MappedText, replace: (codePoint: string, at: number) => string): MappedText {
  let text = '';
  const from: number[] = [];
  const to: number[] = [];
  let at = 0;
  for (const codePoint of input.text) {
    const replacement = replace(codePoint, at);
    const [start, end] = originalSpan(input, at, at + codePoint.length);
    text += replacement;
    for (let k = 0; k < replacement.length; k++) {
      from.push(start);
      to.push(end);
    }
    at += codePoint.length;
  }
  return { text, from, to };
}

/** Deletes the units of `input` at the given offsets. */
export function deleteAt(input: MappedText, offsets: ReadonlySet<number>): MappedText {
  return offsets.size === 0 ? input : rewrite(input, (codePoint, at) => (offsets.has(at) ? '' : codePoint));
}

/** The original span that units `[start, end)` of a mapped text came from. */
export function originalSpan(mapped: MappedText, start: number, end: number): [number, number] {
  if (mapped.from === null || mapped.to === null) {
    // A pair split by the span still maps to its whole code point.
    const last = mapped.text.charCodeAt(end - 1);
    return [start, isHighSurrogate(last) ? end + 1 : end];
  }
  return [mapped.from[start]!, mapped.to[end - 1]!];
}
