import { z } from 'zod';
import { maskCharParam } from './text.ts';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { textOf } from './values.ts';

/**
 * ITU-T E.164 country calling codes are prefix-free: these are the 1- and 2-digit ones; every
 * other code has 3 digits. That lets '+6591234567' be split as +65 without a separator.
 */
const ONE_DIGIT_CODES = new Set(['1', '7']);
const TWO_DIGIT_CODES = new Set([
  '20',
  '27',
  '30',
  '31',
  '32',
  '33',
  '34',
  '36',
  '39',
  '40',
  '41',
  '43',
  '44',
  '45',
  '46',
  '47',
  '48',
  '49',
  '51',
  '52',
  '53',
  '54',
  '55',
  '56',
  '57',
  '58',
  '60',
  '61',
  '62',
  '63',
  '64',
  '65',
  '66',
  '81',
  '82',
  '84',
  '86',
  '90',
  '91',
  '92',
  '93',
  '94',
  '95',
  '98',
]);

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** Digits of the country calling code when the number is written in international '+' form, else 0. */
export function countryCodeLength(phone: string): number {
  const plus = phone.indexOf('+');
  if (plus < 0 || phone.slice(0, plus).trim() !== '') return 0;
  let leading = '';
  for (let i = plus + 1; i < phone.length && leading.length < 3; i++) {
    const code = phone.charCodeAt(i);
    if (isDigit(code)) leading += phone[i];
    else if (leading !== '') break;
  }
  if (ONE_DIGIT_CODES.has(leading.slice(0, 1))) return 1;
  if (TWO_DIGIT_CODES.has(leading.slice(0, 2))) return 2;
  return leading.length;
}

export const phone = defineMaskFunction({
  name: 'phone',
  summary:
    "Keeps the E.164 country code (with `keepCountryCode`, default true) and the last `keepLast` digits (default 4), replaces the other digits with `maskChar` (default '*') and keeps separators; if keepLast would reveal the whole subscriber number, all of it is masked.",
  params: z.strictObject({
    keepLast: z.number().int().min(0).default(4),
    keepCountryCode: z.boolean().default(true),
    maskChar: maskCharParam,
  }),
  appliesTo: ['text'],
  resultType: alwaysText,
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile:
    ({ keepLast, keepCountryCode, maskChar }) =>
    (value) => {
      if (value == null) return null;
      const text = textOf('phone', value);
      let digits = 0;
      for (let i = 0; i < text.length; i++) if (isDigit(text.charCodeAt(i))) digits++;
      const shownPrefix = keepCountryCode ? countryCodeLength(text) : 0;
      const subscriberDigits = digits - shownPrefix;
      const shownSuffix = keepLast < subscriberDigits ? keepLast : 0;
      let masked = '';
      let digitIndex = 0;
      for (let i = 0; i < text.length; i++) {
        const char = text[i] as string;
        if (!isDigit(text.charCodeAt(i))) {
          masked += char;
          continue;
        }
        const shown = digitIndex < shownPrefix || digitIndex >= digits - shownSuffix;
        masked += shown ? char : maskChar;
        digitIndex++;
      }
      return masked;
    },
});
