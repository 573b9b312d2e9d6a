import { z } from 'zod';
import { maskCharParam } from './text.ts';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { textOf } from './values.ts';

/**
 * Second-level public suffixes common in the demo jurisdictions, so 'bank.co.uk' generalises to
 * '*.co.uk' and not '*.uk'. Not the full Public Suffix List: an unlisted one generalises to its
 * last label, which is coarser (never finer) than the registrable suffix.
 */
const TWO_LABEL_SUFFIXES = new Set([
  'co.uk',
  'org.uk',
  'ac.uk',
  'gov.uk',
  'com.sg',
  'edu.sg',
  'gov.sg',
  'org.sg',
  'net.sg',
  'com.au',
  'net.au',
  'org.au',
  'edu.au',
  'gov.au',
  'co.jp',
  'ne.jp',
  'or.jp',
  'ac.jp',
  'go.jp',
  'co.in',
  'net.in',
  'org.in',
  'gov.in',
  'ac.in',
  'com.cn',
  'net.cn',
  'org.cn',
  'gov.cn',
  'edu.cn',
  'com.hk',
  'co.nz',
  'com.my',
  'co.kr',
  'com.br',
  'co.za',
]);

/** A masked local part (or hidden domain) is always this many mask characters, so its length is not revealed. */
const MASK_LENGTH = 3;

function publicSuffixOf(domain: string): string {
  const lower = domain.toLowerCase();
  const last = lower.lastIndexOf('.');
  const secondLast = last > 0 ? lower.lastIndexOf('.', last - 1) : -1;
  const lastTwo = lower.slice(secondLast + 1);
  return secondLast >= 0 && TWO_LABEL_SUFFIXES.has(lastTwo) ? lastTwo : lower.slice(last + 1);
}

/** UTF-16 units of the first character, so an emoji is kept or masked whole. */
function firstCharLength(text: string): number {
  const code = text.charCodeAt(0);
  return code >= 0xd800 && code <= 0xdbff ? 2 : 1;
}

export const email = defineMaskFunction({
  name: 'email',
  summary:
    "Masks an email's local part as 3 mask characters, keeping its first character when `keepFirst` (default true) and it has 2 or more; the domain is kept, generalised to '*.<public suffix>' (`domain: suffix`) or hidden (`domain: hide`). A value without '@' is fully masked.",
  params: z.strictObject({
    keepFirst: z.boolean().default(true),
    domain: z.enum(['keep', 'suffix', 'hide']).default('keep'),
    maskChar: maskCharParam,
  }),
  appliesTo: ['text'],
  resultType: alwaysText,
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile({ keepFirst, domain: domainMode, maskChar }) {
    const hidden = maskChar.repeat(MASK_LENGTH);
    const maskDomain =
      domainMode === 'keep' ? (domain: string) => domain : domainMode === 'suffix' ? (domain: string) => `*.${publicSuffixOf(domain)}` : () => hidden;
    return (value) => {
      if (value == null) return null;
      const text = textOf('email', value);
      // The last '@' separates the domain: a quoted local part may itself contain '@'.
      const at = text.lastIndexOf('@');
      if (at <= 0 || at === text.length - 1) return hidden;
      const first = firstCharLength(text);
      const kept = keepFirst && at > first ? text.slice(0, first) : '';
      return `${kept}${hidden}@${maskDomain(text.slice(at + 1))}`;
    };
  },
});
