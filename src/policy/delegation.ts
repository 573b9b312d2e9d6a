import { createHash } from 'node:crypto';
import type { ClaimMatch, DelegationPolicy, Policy } from '../config/index.ts';
import { canonicalJson } from '../audit/record.ts';

/** A claim of a person as a delegated token carries it: a scalar or a list of scalars. */
export type ClaimValue = string | number | boolean | ReadonlyArray<string | number | boolean>;

/** The person an agent acts for (RFC 8693 `sub` of a token whose `act.sub` is the agent). */
export interface Person {
  id: string;
  claims: Readonly<Record<string, ClaimValue>>;
}

export type DelegationCode = 'DELEGATION_REQUIRED' | 'DELEGATION_CLAIM_MISSING';

/**
 * Why a request may not be served under this policy, or null: a view that requires delegation refuses a token
 * naming no person, and a row filter over a claim the person's token lacks refuses rather than match nothing, so a
 * misconfigured identity provider shows up as an error, not as a person who quietly sees no customers.
 */
export function delegationRefusal(policy: Policy | undefined, person: Person | undefined): { code: DelegationCode; message: string } | null {
  const delegation = policy?.delegation;
  if (!person) {
    return delegation?.required
      ? { code: 'DELEGATION_REQUIRED', message: 'This view serves an agent only when it acts for a person: send a delegated token (token exchange, RFC 8693).' }
      : null;
  }
  const missing = (delegation?.requiredClaims ?? []).filter((claim) => person.claims[claim] === undefined);
  if (missing.length === 0) return null;
  return {
    code: 'DELEGATION_CLAIM_MISSING',
    message: `The delegated token lacks the person's claim${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} that this view filters rows by.`,
  };
}

/** The person's claims the policy names: the only ones that reach a view, its filters and its cache key. */
export function namedClaims(delegation: DelegationPolicy | undefined, person: Person): Record<string, ClaimValue> {
  const kept: Record<string, ClaimValue> = {};
  for (const claim of delegation?.claims ?? []) {
    const value = person.claims[claim];
    if (value !== undefined) kept[claim] = value;
  }
  return kept;
}

/** Whether the person's claims match a `hide` rule's `when`; a claim the rule needs and the token lacks matches (fail closed). */
function claimsMatch(when: Readonly<Record<string, ClaimMatch>>, claims: Readonly<Record<string, ClaimValue>>): boolean {
  return Object.entries(when).every(([claim, expected]) => {
    const value = claims[claim];
    if (value === undefined) return true;
    const accepted = (Array.isArray(expected) ? expected : [expected]) as ReadonlyArray<string | number | boolean>;
    const held = (Array.isArray(value) ? value : [value]) as ReadonlyArray<string | number | boolean>;
    return held.some((item) => accepted.includes(item));
  });
}

/** The fields (`table.field`) the agent may not see for this person. */
export function fieldsHiddenFor(delegation: DelegationPolicy | undefined, claims: Readonly<Record<string, ClaimValue>>): Set<string> {
  const hidden = new Set<string>();
  for (const rule of delegation?.hide ?? []) {
    if (claimsMatch(rule.when, claims)) for (const { table, field } of rule.fields) hidden.add(`${table}.${field}`);
  }
  return hidden;
}

/**
 * What distinguishes one person's view from another's: the claim values the policy names (not the person's id,
 * unless a filter names it), so people with the same region and role share one compiled schema and plan cache.
 * A digest, so that a person with a thousand customer ids does not make a cache key of that size.
 */
export function delegationKey(delegation: DelegationPolicy | undefined, person: Person): string {
  const named = canonicalJson({ ...(delegation?.namesPersonId ? { id: person.id } : {}), claims: namedClaims(delegation, person) });
  return createHash('sha256').update(named).digest('base64url');
}
