import type { UntrustedTextScan } from './scan.ts';

export const NEUTRALISED_OPENING = '[untrusted text, possible instructions removed]';
export const NEUTRALISED_CLOSING = '[end of untrusted text]';
export const REMOVED = '[removed]';

/** Characters a reader does not see: zero-width, bidi controls, tag characters, variation selectors. */
const INVISIBLE = /[\p{Cf}\p{Variation_Selector}]/gu;
/** Brackets in the kept text become parentheses, so the only brackets left are ours and cannot be forged. */
const BRACKETS = /[[\]]/g;

/**
 * A flagged value in an inert form: what the rules matched replaced by `[removed]`, invisible characters dropped,
 * and the rest between markers that say what it is.
 */
export function neutralise(text: string, scan: Pick<UntrustedTextScan, 'spans'>): string {
  let kept = '';
  let at = 0;
  const clean = (part: string) => part.replace(INVISIBLE, '').replace(BRACKETS, (bracket) => (bracket === '[' ? '(' : ')'));
  for (const [start, end] of scan.spans) {
    kept += `${clean(text.slice(at, start))}${REMOVED}`;
    at = end;
  }
  kept += clean(text.slice(at));
  return `${NEUTRALISED_OPENING} ${kept.trim()} ${NEUTRALISED_CLOSING}`;
}
