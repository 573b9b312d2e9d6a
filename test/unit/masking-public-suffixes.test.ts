/**
 * `email` with `domain: suffix` keeps only the public suffix of the domain. A two-label suffix it does not know
 * generalises to its last label (coarser, never finer), but one it should know and forgets would do the same
 * and show less than a steward expects, and one it wrongly knows would show more: so every entry is pinned.
 * The expected suffixes come from the Public Suffix List's ICANN section (publicsuffix.org), for the
 * jurisdictions of the demo world and their neighbours.
 */
import { describe, expect, it } from 'vitest';
import { compileMask, createMaskingKeys, type MaskContext } from '../../src/masking/mask-functions.ts';

const ctx: MaskContext = { keys: createMaskingKeys(new Uint8Array(32).fill(7), 'mk-test'), scope: 'customers.email' };
const bySuffix = compileMask('email', { domain: 'suffix' }, ctx);

const PUBLIC_SUFFIX_LIST_ENTRIES = [
  ...['co.uk', 'org.uk', 'ac.uk', 'gov.uk'],
  ...['com.sg', 'edu.sg', 'gov.sg', 'org.sg', 'net.sg'],
  ...['com.au', 'net.au', 'org.au', 'edu.au', 'gov.au'],
  ...['co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'go.jp'],
  ...['co.in', 'net.in', 'org.in', 'gov.in', 'ac.in'],
  ...['com.cn', 'net.cn', 'org.cn', 'gov.cn', 'edu.cn'],
  ...['com.hk', 'co.nz', 'com.my', 'co.kr', 'com.br', 'co.za'],
];

describe('email domain: suffix', () => {
  it.each(PUBLIC_SUFFIX_LIST_ENTRIES)('keeps the two-label public suffix %s and nothing above it', (suffix) => {
    expect(bySuffix(`jo@mail.bank.${suffix}`)).toBe(`j***@*.${suffix}`);
    expect(bySuffix(`jo@bank.${suffix.toUpperCase()}`)).toBe(`j***@*.${suffix}`);
  });

  it.each([
    ['jo@mail.bank.com', '*.com'],
    ['jo@bank.co.fr', '*.fr'],
    ['jo@bank.uk', '*.uk'],
    ['jo@mail.com.de', '*.de'],
  ])('generalises %s to its last label when its last two are not a listed suffix', (value, domain) => {
    expect(bySuffix(value)).toBe(`j***@${domain}`);
  });
});
