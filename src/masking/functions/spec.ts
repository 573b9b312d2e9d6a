import type { z } from 'zod';
import type { MaskingKeys } from '../keys.ts';

/**
 * The kinds of value a masking function takes and gives: the catalog's column types map onto them (MASK_TYPE_OF
 * in rules/load.ts; src/sql/db.ts says which JS values each arrives as).
 */
export type MaskValueType = 'text' | 'int' | 'numeric' | 'date' | 'timestamp' | 'boolean';

export const ALL_MASK_VALUE_TYPES: readonly MaskValueType[] = ['text', 'int', 'numeric', 'date', 'timestamp', 'boolean'];

/** Masks one value of one row. */
export type MaskFn = (value: unknown) => unknown;

export interface MaskContext {
  keys: MaskingKeys;
  /**
   * Key scope for keyed functions whose params name none; the rule engine passes 'table.column'.
   * A keyed function with neither is a configuration error.
   */
  scope?: string;
}

export interface MaskFunctionSpec<P> {
  /** The name a steward writes in YAML, e.g. 'partial'. */
  name: string;
  /** One line of documentation, shown by `keyhole rules explain` and the README. */
  summary: string;
  /** Parameters a steward writes in YAML; strict (unknown keys rejected), defaults filled in. */
  params: z.ZodType<P>;
  /** Column types the function accepts. */
  appliesTo: readonly MaskValueType[];
  /** The type of the masked value, so the schema builder can type the GraphQL field. */
  resultType(params: P, input: MaskValueType): MaskValueType;
  /** Takes its key from `ctx.keys`, never from params. */
  keyed: boolean;
  /** True when a masked value is a safe equality target (a deterministic token) — inference safety uses it. */
  equalityPreserving: boolean;
  /** True when the output can be reversed by hashing a dictionary of likely inputs: `rules check` warns on low-entropy fields. */
  warnsLowEntropy: boolean;
  /**
   * Pre-computes everything that depends on params and keys once; the returned function runs per
   * value, per row. null/undefined in gives null out unless the summary says otherwise.
   */
  compile(params: P, ctx: MaskContext): MaskFn;
}

/** Identity helper that lets TypeScript infer P from the params schema. */
export function defineMaskFunction<P>(spec: MaskFunctionSpec<P>): MaskFunctionSpec<P> {
  return spec;
}

export function sameType(_params: unknown, input: MaskValueType): MaskValueType {
  return input;
}

export function alwaysText(): MaskValueType {
  return 'text';
}
