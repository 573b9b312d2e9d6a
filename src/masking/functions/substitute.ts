import { z } from 'zod';
import { DICTIONARIES } from './dictionaries.ts';
import { hmac, indexFrom, scopedKey, scopeParam } from './keyed.ts';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { keyInputOf } from './values.ts';

const DICTIONARY_NAMES = ['first_name', 'last_name', 'full_name', 'city', 'company'] as const;

function pickerFor(dictionary: (typeof DICTIONARY_NAMES)[number]): (bytes: Uint8Array) => string {
  if (dictionary === 'full_name') {
    const { first_name: first, last_name: last } = DICTIONARIES;
    return (bytes) => `${first[indexFrom(bytes, 0, first.length)]} ${last[indexFrom(bytes, 6, last.length)]}`;
  }
  const words: readonly string[] = DICTIONARIES[dictionary];
  return (bytes) => words[indexFrom(bytes, 0, words.length)] as string;
}

export const substitute = defineMaskFunction({
  name: 'substitute',
  summary:
    'Replaces the value with a realistic fake from `dictionary` (first_name, last_name, full_name, city, company) chosen by HMAC of the value: stable per key and `scope`, but many values share one fake, so not an equality target.',
  params: z.strictObject({ dictionary: z.enum(DICTIONARY_NAMES), scope: scopeParam }),
  appliesTo: ['text'],
  resultType: alwaysText,
  keyed: true,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile({ dictionary, scope }, ctx) {
    const key = scopedKey('substitute', scope, ctx);
    const pick = pickerFor(dictionary);
    return (value) => (value == null ? null : pick(hmac(key, keyInputOf('substitute', value))));
  },
});
