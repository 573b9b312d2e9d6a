/** Text hidden in an encoding a model can read but a keyword filter cannot, decoded, with where it stood. */
export interface DecodedSegment {
  kind: 'base64' | 'unicode_tags';
  /** The encoded span in the text it was found in. */
  start: number;
  end: number;
  text: string;
}

/** Long runs of the base64 alphabets (standard and URL-safe); shorter ones are ids and codes, not sentences. */
const BASE64_RUN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/_=-])/g;
/** Unicode tag characters U+E0020–U+E007E spell ASCII invisibly ("ASCII smuggling"). */
const TAG_RUN = /[\u{e0020}-\u{e007e}]+/gu;
/** A black flag followed by tag characters is an emoji flag of a region (England, Scotland, Wales), not text. */
const FLAG_BASE = '\u{1f3f4}';
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Characters a sentence is made of; decoded bytes that are mostly anything else were not text. */
const TEXTUAL = /[\p{L}\p{N}\p{P}\p{Zs}\p{S}\p{Cf}\p{M}\n]/u;
const WORDLIKE = /\p{L}{3}/u;
const FORMAT = /\p{Cf}/gu;
const MIN_TEXTUAL_SHARE = 0.9;

function decodeBase64Text(run: string): string | null {
  let text: string;
  try {
    text = UTF8.decode(Buffer.from(run, 'base64'));
  } catch {
    return null;
  }
  const chars = [...text];
  if (chars.length < 8 || !WORDLIKE.test(text.replace(FORMAT, ''))) return null;
  const textual = chars.filter((char) => TEXTUAL.test(char)).length;
  return textual / chars.length >= MIN_TEXTUAL_SHARE ? text : null;
}

/** Base64 runs that decode to text, and Unicode tag runs as the ASCII they spell. */
export function decodedSegments(text: string): DecodedSegment[] {
  const segments: DecodedSegment[] = [];
  for (const run of text.matchAll(BASE64_RUN)) {
    const decoded = decodeBase64Text(run[0]);
    if (decoded !== null) segments.push({ kind: 'base64', start: run.index, end: run.index + run[0].length, text: decoded });
  }
  for (const run of text.matchAll(TAG_RUN)) {
    if (text.slice(Math.max(0, run.index - FLAG_BASE.length), run.index) === FLAG_BASE) continue;
    const ascii = String.fromCharCode(...[...run[0]].map((char) => char.codePointAt(0)! - 0xe0000));
    segments.push({ kind: 'unicode_tags', start: run.index, end: run.index + run[0].length, text: ascii });
  }
  return segments;
}
