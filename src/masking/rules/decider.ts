/** Turns the winning rules into the `FieldExposure` the policy stage builds views from. */
import { isSensitive } from '../../config/index.ts';
import type { ExposureDecider, FieldExposure, MaskVariant } from '../../policy/index.ts';
import { getMaskFunction, type MaskingKeys } from '../mask-functions.ts';
import type { MaskingRuleSet } from './load.ts';
import type { MaskingRule } from './model.ts';
import { columnKey, type Ranking, resolveField } from './resolve.ts';
import { HIDE } from './rule-file.ts';
import { type EqualityTarget, registerEqualityTarget, registerVariantSource } from './equality-target.ts';

/** pseudonymize's token: 128 bits of the HMAC (src/masking/functions/pseudonymize.ts). */
const PSEUDONYM_BYTES = 16;

/** A value shown as is inside a masked (String-typed) field. */
function asText(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : String(value);
}

/** One outcome per jurisdiction group: a rule (clear, hide or a mask) or the fail-closed / clear default. */
type Outcome = { rule: MaskingRule } | { rule: undefined };

export function createExposureDecider(set: MaskingRuleSet, keys: MaskingKeys): ExposureDecider {
  const variants = new Map<string, MaskVariant>();
  const variantOf = (rule: MaskingRule, key: string): MaskVariant => {
    const id = `${rule.ref}|${key}`;
    let variant = variants.get(id);
    if (!variant) {
      variant = buildVariant(rule, key, keys);
      variants.set(id, variant);
    }
    return variant;
  };

  return (table, column, scope): FieldExposure => {
    const resolution = resolveField(set.rules, table, column, scope);
    const key = columnKey(table.name, column.name);
    const winner = (ranking: Ranking): Outcome => ({ rule: ranking.best[0]?.rule });
    const otherwise = winner(resolution.otherwise);
    const groups = [...resolution.byJurisdiction].map(([j, ranking]) => [j, winner(ranking)] as const);
    const outcomes = [otherwise, ...groups.map(([, o]) => o)];
    const shows = (o: Outcome) => (o.rule ? o.rule.mask : isSensitive(column) ? HIDE : 'clear');
    if (outcomes.every((o) => shows(o) === 'clear')) return { kind: 'clear', rule: otherwise.rule?.ref ?? outcomes.find((o) => o.rule)?.rule?.ref };
    if (outcomes.every((o) => shows(o) === HIDE)) {
      const hiders = [...new Set(outcomes.flatMap((o) => (o.rule ? [o.rule.ref] : [])))];
      return {
        kind: 'hidden',
        reason:
          hiders.length > 0
            ? `hidden by ${hiders.join(', ')}`
            : `no masking rule covers ${column.tags.join(', ')} for ${scope.role}/${scope.purpose} (fail closed)`,
      };
    }
    const variantFor = (o: Outcome): MaskVariant | null => (o.rule ? variantOf(o.rule, key) : shows(o) === 'clear' ? defaultClear() : null);
    const otherwiseVariant = variantFor(otherwise);
    const byJurisdiction = new Map<string, MaskVariant>();
    for (const [j, outcome] of groups) {
      const variant = variantFor(outcome);
      // A jurisdiction the default covers needs no entry; a withheld one does when the default shows something.
      if (variant !== otherwiseVariant && variant !== null) byJurisdiction.set(j, variant);
      else if (variant === null && otherwiseVariant !== null) byJurisdiction.set(j, withheld(column.tags));
    }
    return { kind: 'masked', byJurisdiction, otherwise: otherwiseVariant };
  };
}

let clearDefault: MaskVariant | undefined;
function defaultClear(): MaskVariant {
  if (!clearDefault) {
    clearDefault = { mask: 'clear', rule: 'default (not sensitive)', apply: asText, filterableByEquality: true };
    registerEqualityTarget(clearDefault, { kind: 'clear' });
  }
  return clearDefault;
}

function withheld(tags: readonly string[]): MaskVariant {
  const variant: MaskVariant = { mask: HIDE, rule: `no rule for ${tags.join(', ')} (fail closed)`, apply: () => null, filterableByEquality: true };
  registerEqualityTarget(variant, { kind: 'never' });
  return variant;
}

function buildVariant(rule: MaskingRule, key: string, keys: MaskingKeys): MaskVariant {
  if (rule.mask === HIDE) {
    const variant: MaskVariant = { mask: HIDE, rule: rule.ref, apply: () => null, filterableByEquality: true };
    registerEqualityTarget(variant, { kind: 'never' });
    return variant;
  }
  const compiled = rule.compiled.get(key)!;
  const filterableByEquality = getMaskFunction(rule.mask).equalityPreserving;
  const variant: MaskVariant = { mask: rule.mask, rule: rule.ref, apply: rule.mask === 'clear' ? asText : compiled, filterableByEquality };
  if (filterableByEquality) registerEqualityTarget(variant, equalityTarget(rule, key, keys));
  registerVariantSource(variant, rule);
  return variant;
}

/** How PostgreSQL recomputes the output of a function whose spec says it preserves equality, to compare it in SQL. */
function equalityTarget(rule: MaskingRule, key: string, keys: MaskingKeys): EqualityTarget {
  const scope = (rule.params.scope as string | undefined) ?? key;
  switch (rule.mask) {
    case 'clear':
      return { kind: 'clear' };
    case 'pseudonymize':
      return { kind: 'pseudonym', key: keys.subkey('pseudonymize', scope), prefix: rule.params.prefix as string, bytes: PSEUDONYM_BYTES };
    case 'tokenize_preserving_format':
      return { kind: 'format-token', key: keys.subkey('tokenize_preserving_format', scope) };
    default:
      throw new Error(`${rule.mask} preserves equality by its spec, but no SQL recomputes its output`);
  }
}
