/**
 * What an agent's equality filter on a masked field is compared with, per mask variant. Registered by the
 * decider when it builds a variant, looked up by the read stage (inference safety): only variants
 * registered here can be filtered on, and only by `eq` / `in`.
 */
import type { KeyObject } from 'node:crypto';
import type { MaskVariant } from '../../policy/index.ts';

export type EqualityTarget =
  /** The value is shown as is: compare its text. */
  | { kind: 'clear' }
  /** `prefix` + base32 of the first `bytes` bytes of HMAC-SHA-256(key, value as text). */
  | { kind: 'pseudonym'; key: KeyObject; prefix: string; bytes: number }
  /** tokenize_preserving_format's per-character substitution from HMAC-SHA-256(key, value). */
  | { kind: 'format-token'; key: KeyObject }
  /** The value is withheld for these rows: no filter value matches them. */
  | { kind: 'never' };

const targets = new WeakMap<MaskVariant, EqualityTarget>();
const sources = new WeakMap<MaskVariant, { mask: string; params: Readonly<Record<string, unknown>> }>();

/** The function and parameters behind a variant, so a measurement can redo the mask in SQL. */
export function registerVariantSource(variant: MaskVariant, source: { mask: string; params: Readonly<Record<string, unknown>> }): void {
  sources.set(variant, source);
}

export function variantSourceOf(variant: MaskVariant): { mask: string; params: Readonly<Record<string, unknown>> } | undefined {
  return sources.get(variant);
}

export function registerEqualityTarget(variant: MaskVariant, target: EqualityTarget): void {
  targets.set(variant, target);
}

export function equalityTargetOf(variant: MaskVariant | null): EqualityTarget | undefined {
  return variant === null ? { kind: 'never' } : targets.get(variant);
}
