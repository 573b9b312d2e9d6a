/**
 * Keyhole's catalogue of masking functions: the one place the rule engine, `keyhole rules
 * check|explain` and the README look functions up. Each function lives in ./functions/.
 */
import type { z } from 'zod';
import { ageFromBirthDate } from './functions/age-from-birth-date.ts';
import { clear, nullify, redact } from './functions/basic.ts';
import { email } from './functions/email.ts';
import { MaskParamsError, UnknownMaskFunctionError } from './functions/errors.ts';
import { generalizeDate } from './functions/generalize-date.ts';
import { generalizeNumber } from './functions/generalize-number.ts';
import { hash } from './functions/hash.ts';
import { noiseNumber } from './functions/noise-number.ts';
import { partial } from './functions/partial.ts';
import { phone } from './functions/phone.ts';
import { pseudonymize } from './functions/pseudonymize.ts';
import type { MaskContext, MaskFn, MaskFunctionSpec } from './functions/spec.ts';
import { substitute } from './functions/substitute.ts';
import { tokenizePreservingFormat } from './functions/tokenize-preserving-format.ts';
import { truncatePostalCode } from './functions/truncate-postal-code.ts';
import { truncateText } from './functions/truncate-text.ts';

export type { MaskValueType, MaskContext, MaskFn, MaskFunctionSpec } from './functions/spec.ts';
export { MaskingError, MaskParamsError, MaskValueError, UnknownMaskFunctionError } from './functions/errors.ts';
export { createMaskingKeys, MaskingKeyError, type MaskingKeys } from './keys.ts';

// A heterogeneous registry: each spec is checked against its own params type where it is defined.
// biome-ignore lint/suspicious/noExplicitAny: an existential params type; `unknown` would reject every spec's own apply()
type AnyMaskFunctionSpec = MaskFunctionSpec<any>;

const ALL: readonly AnyMaskFunctionSpec[] = [
  clear,
  redact,
  nullify,
  partial,
  email,
  phone,
  pseudonymize,
  tokenizePreservingFormat,
  generalizeNumber,
  generalizeDate,
  ageFromBirthDate,
  truncatePostalCode,
  truncateText,
  noiseNumber,
  substitute,
  hash,
];

export const maskFunctions: ReadonlyMap<string, AnyMaskFunctionSpec> = new Map(ALL.map((spec) => [spec.name, spec]));

export function getMaskFunction(name: string): AnyMaskFunctionSpec {
  const spec = maskFunctions.get(name);
  if (spec === undefined) throw new UnknownMaskFunctionError(name, [...maskFunctions.keys()]);
  return spec;
}

/** Validates a rule's params (absent = {}) and fills defaults; throws MaskParamsError naming the parameter. */
export function parseMaskParams(name: string, rawParams: unknown): unknown {
  const spec = getMaskFunction(name);
  const result = spec.params.safeParse(rawParams ?? {});
  if (result.success) return result.data;
  const [issue] = result.error.issues;
  if (issue === undefined) throw new MaskParamsError(name, '', 'invalid parameters');
  throw paramsErrorFrom(spec, issue);
}

/** Zod's generic lead-in; our message already says what is invalid. */
const ZOD_PREFIX = /^Invalid (?:input|option): /;

function paramsErrorFrom(spec: AnyMaskFunctionSpec, issue: z.core.$ZodIssue): MaskParamsError {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const [first] = issue.keys;
    // The allowed list is only known for top-level params; nested ones (a band's keys) are few.
    if (path !== '') return new MaskParamsError(spec.name, `${path}.${first}`, 'no such parameter');
    return new MaskParamsError(spec.name, first ?? '', `no such parameter (allowed: ${allowedParams(spec)})`);
  }
  if (path === '') return new MaskParamsError(spec.name, '', `params ${issue.message.replace(ZOD_PREFIX, '')}`);
  return new MaskParamsError(spec.name, path, issue.message.replace(ZOD_PREFIX, ''));
}

function allowedParams(spec: AnyMaskFunctionSpec): string {
  const shape = (spec.params as { shape?: Record<string, unknown> }).shape;
  const names = shape === undefined ? [] : Object.keys(shape);
  return names.length === 0 ? 'none' : names.join(', ');
}

/** Validates params and compiles the function once; the result masks one value per call. */
export function compileMask(name: string, rawParams: unknown, ctx: MaskContext): MaskFn {
  const params = parseMaskParams(name, rawParams);
  return getMaskFunction(name).compile(params, ctx);
}
