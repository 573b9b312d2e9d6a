import { describe, expect, it } from 'vitest';
import { hasValidVerhoeff, iso7064Mod11_10, verhoeffCheckDigit } from '../../src/demo/check-digits.ts';
import {
  generateAadhaar,
  generateChineseResidentId,
  generateMyNumber,
  generateNir,
  generateNric,
  generateSsn,
  generateSteuerId,
  generateTfn,
  isValidAadhaar,
  isValidChineseResidentId,
  isValidMyNumber,
  isValidNir,
  isValidNric,
  isValidSsn,
  isValidSteuerId,
  isValidTfn,
} from '../../src/demo/national-ids.ts';
import { type Rng, rngFor, streamId } from '../../src/demo/random.ts';

const SAMPLES = 500;

function samples(name: string, generate: (rng: Rng, i: number) => string): string[] {
  const stream = streamId(`test.${name}`);
  return Array.from({ length: SAMPLES }, (_, i) => generate(rngFor(1, stream, i), i));
}

function birthDate(i: number): string {
  return `${1940 + (i % 67)}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
}

/** Every variant of `id` with exactly one decimal digit replaced by another. */
function singleDigitChanges(id: string): string[] {
  const variants: string[] = [];
  for (let i = 0; i < id.length; i++) {
    if (!/\d/.test(id[i]!)) continue;
    for (let d = 0; d <= 9; d++) if (String(d) !== id[i]) variants.push(id.slice(0, i) + d + id.slice(i + 1));
  }
  return variants;
}

interface Scheme {
  name: string;
  isValid: (value: string) => boolean;
  generate: (rng: Rng, i: number) => string;
  known: string[];
  bad: string[];
}

const SCHEMES: Scheme[] = [
  {
    name: 'Singapore NRIC/FIN',
    isValid: isValidNric,
    generate: (rng, i) => generateNric(rng, birthDate(i)),
    // Published sample numbers of each prefix.
    known: ['S1234567D', 'T1234567J', 'F1234567N', 'G1234567X'],
    bad: ['S1234567A', 'T1234567D', 'X1234567D', 'S123456D', 's1234567d'],
  },
  {
    name: 'China resident ID',
    isValid: isValidChineseResidentId,
    generate: (rng, i) => generateChineseResidentId(rng, '110105', birthDate(i), i % 2 ? 'M' : 'F'),
    known: ['11010519491231002X', '360426199101010071'],
    bad: ['110105194912310021', '110105194902301234', '11010519491231002', '01010519491231002X'],
  },
  {
    name: 'India Aadhaar',
    isValid: isValidAadhaar,
    generate: (rng) => generateAadhaar(rng),
    known: ['234123412346', '2341 2341 2346'],
    bad: ['234123412347', '123412341234', '23412341234'],
  },
  {
    name: 'France NIR',
    isValid: isValidNir,
    generate: (rng, i) => generateNir(rng, birthDate(i), i % 2 ? 'M' : 'F', '75'),
    // Includes Corsican departments (2A/2B count as 19/18 in the key) and a worked example (key 64).
    known: ['295109912611193', '2 95 10 99 126 111 93', '253072B07300470', '253072A07300443', '206127511100564'],
    bad: ['295109912611199', '253072C07300443', '395109912611193', '295139912611193'],
  },
  {
    name: 'Germany Steuer-ID',
    isValid: isValidSteuerId,
    generate: (rng) => generateSteuerId(rng),
    known: ['36574261809', '36 574 261 809'],
    // Wrong check digit; two digits repeated; leading zero.
    bad: ['36574261890', '36554266806', '06574261809'],
  },
  {
    name: 'Australia TFN',
    isValid: isValidTfn,
    generate: (rng) => generateTfn(rng),
    known: ['123456782', '123 456 782'],
    bad: ['123456789', '12345678'],
  },
  {
    name: 'Japan My Number',
    isValid: isValidMyNumber,
    generate: (rng) => generateMyNumber(rng),
    // Worked by hand from the ordinance's formula: Σ = 212, 212 mod 11 = 3, check 11 − 3 = 8.
    known: ['123456789018'],
    bad: ['123456789017', '12345678901'],
  },
];

describe.each(SCHEMES)('$name', (scheme) => {
  it('accepts published reference numbers', () => {
    for (const id of scheme.known) expect(scheme.isValid(id), id).toBe(true);
  });

  it('rejects malformed and wrongly checked numbers', () => {
    for (const id of scheme.bad) expect(scheme.isValid(id), id).toBe(false);
  });

  it('generates only valid numbers', () => {
    const ids = samples(scheme.name, scheme.generate);
    expect(ids.filter((id) => !scheme.isValid(id))).toEqual([]);
    expect(new Set(ids).size).toBeGreaterThan(SAMPLES * 0.95);
  });

  it('rejects a generated number whose check digit is changed', () => {
    for (const id of samples(scheme.name, scheme.generate).slice(0, 100)) {
      const last = id.length - 1;
      const changed = id.slice(0, last) + (id[last] === '1' ? '2' : '1');
      expect(scheme.isValid(changed), changed).toBe(false);
    }
  });
});

describe('single-digit errors', () => {
  // Every scheme here except My Number detects all single-digit substitutions (My Number maps remainders
  // 0 and 1 to the same check digit, so it misses some).
  it.each(SCHEMES.filter((scheme) => scheme.name !== 'Japan My Number'))('$name detects every one', (scheme) => {
    for (const id of samples(scheme.name, scheme.generate).slice(0, 50)) {
      const accepted = singleDigitChanges(id).filter((variant) => scheme.isValid(variant));
      expect(accepted, id).toEqual([]);
    }
  });

  it('My Number detects most of them', () => {
    let variants = 0;
    let accepted = 0;
    for (const id of samples('Japan My Number', (rng) => generateMyNumber(rng)).slice(0, 50)) {
      for (const variant of singleDigitChanges(id)) {
        variants++;
        if (isValidMyNumber(variant)) accepted++;
      }
    }
    expect(accepted / variants).toBeLessThan(0.1);
  });
});

describe('US Social Security number', () => {
  it('accepts well-formed numbers', () => {
    expect(isValidSsn('536-90-4399')).toBe(true);
    expect(isValidSsn('536904399')).toBe(true);
  });

  it('rejects areas 000, 666 and 9xx, group 00, serial 0000 and voided numbers', () => {
    for (const ssn of ['000-12-3456', '666-12-3456', '900-12-3456', '123-00-4567', '123-45-0000', '078-05-1120', '219-09-9999', '1112-23333']) {
      expect(isValidSsn(ssn), ssn).toBe(false);
    }
  });

  it('generates only valid numbers in the dashed form', () => {
    const ssns = samples('ssn', (rng) => generateSsn(rng));
    expect(ssns.filter((ssn) => !isValidSsn(ssn) || !/^\d{3}-\d{2}-\d{4}$/.test(ssn))).toEqual([]);
  });
});

describe('numbers carry the person they belong to', () => {
  it('the China resident ID holds the birth date and an odd sequence for men, even for women', () => {
    const rng = rngFor(2, streamId('test.cn'), 0);
    const man = generateChineseResidentId(rng, '310104', '1985-07-09', 'M');
    const woman = generateChineseResidentId(rng, '310104', '1985-07-09', 'F');
    expect(man.slice(0, 14)).toBe('31010419850709');
    expect(Number(man[16]) % 2).toBe(1);
    expect(Number(woman[16]) % 2).toBe(0);
  });

  it('the NIR starts with sex, year and month of birth', () => {
    const rng = rngFor(2, streamId('test.nir'), 0);
    expect(generateNir(rng, '1978-03-21', 'F', '69').slice(0, 5)).toBe('27803');
    expect(generateNir(rng, '2001-11-02', 'M', '69').slice(0, 5)).toBe('10111');
  });

  it('the NRIC prefix is S before 2000 and T after, with the birth year inside from 1968', () => {
    const rng = rngFor(2, streamId('test.nric'), 0);
    expect(generateNric(rng, '2003-05-01')).toMatch(/^T03\d{5}[A-Z]$/);
    expect(generateNric(rng, '1985-05-01')).toMatch(/^S85\d{5}[A-Z]$/);
    expect(generateNric(rng, '1950-05-01')).toMatch(/^S[01]\d{6}[A-Z]$/);
  });
});

describe('check-digit algorithms', () => {
  it('Verhoeff matches the textbook examples', () => {
    expect(verhoeffCheckDigit('236')).toBe(3);
    expect(verhoeffCheckDigit('12345')).toBe(1);
    expect(hasValidVerhoeff('2363')).toBe(true);
    expect(hasValidVerhoeff('2364')).toBe(false);
  });

  it('ISO 7064 MOD 11,10 matches published vectors', () => {
    expect(['1556078923', '7684928013', '6238070459', '0794', '7402886358'].map(iso7064Mod11_10)).toEqual([0, 1, 2, 5, 9]);
  });
});
