import { hash as sha256 } from 'node:crypto';
import { z } from 'zod';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { keyInputOf } from './values.ts';

export const hash = defineMaskFunction({
  name: 'hash',
  summary:
    'Replaces the value with its unkeyed SHA-256 hex digest (of `salt` + NUL + value when a salt is given); anyone can hash candidate values, so it is reversible by dictionary on low-entropy fields — prefer pseudonymize.',
  params: z.strictObject({ salt: z.string().min(1).optional() }),
  appliesTo: ['text', 'int', 'numeric', 'date'],
  resultType: alwaysText,
  keyed: false,
  // Deterministic, but a digest of a guessable value is the value: never a *safe* equality target.
  equalityPreserving: false,
  warnsLowEntropy: true,
  compile({ salt }) {
    const prefix = salt === undefined ? '' : `${salt}\u0000`;
    return (value) => (value == null ? null : sha256('sha256', prefix + keyInputOf('hash', value), 'hex'));
  },
});
