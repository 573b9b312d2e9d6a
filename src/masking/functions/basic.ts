/** The three functions that decide disclosure without transforming: show, replace, drop. */
import { z } from 'zod';
import { ALL_MASK_VALUE_TYPES, alwaysText, defineMaskFunction, sameType } from './spec.ts';

export const clear = defineMaskFunction({
  name: 'clear',
  summary: 'Shows the value as is; for a sensitive tag a steward must write it explicitly (there is no implicit clear).',
  params: z.strictObject({}),
  appliesTo: ALL_MASK_VALUE_TYPES,
  resultType: sameType,
  keyed: false,
  equalityPreserving: true,
  warnsLowEntropy: false,
  compile: () => (value) => value ?? null,
});

export const redact = defineMaskFunction({
  name: 'redact',
  summary: "Replaces every non-null value with a fixed marker (param `marker`, default '[REDACTED]').",
  params: z.strictObject({ marker: z.string().default('[REDACTED]') }),
  appliesTo: ALL_MASK_VALUE_TYPES,
  resultType: alwaysText,
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile:
    ({ marker }) =>
    (value) =>
      value == null ? null : marker,
});

export const nullify = defineMaskFunction({
  name: 'nullify',
  summary: 'Returns null for every value (the field stays in the schema, its content never leaves).',
  params: z.strictObject({}),
  appliesTo: ALL_MASK_VALUE_TYPES,
  resultType: sameType,
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile: () => () => null,
});
