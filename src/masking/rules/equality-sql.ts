/**
 * Equality on a masked field, evaluated in SQL without the secret leaving the broker: the agent gives the
 * token it saw, and PostgreSQL recomputes each row's token with HMAC-SHA-256 built from its own sha256()
 * (PG >= 11, PGlite too): HMAC(K, m) = sha256((K ^ opad) || sha256((K ^ ipad) || m)). Only the two
 * padded key blocks are bound, and only for the one subkey of this function and scope; an agent never
 * sees them, and knowing them is no more than knowing that subkey.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { ViewField } from '../../policy/index.ts';
import type { Condition, Params } from '../../sql/index.ts';
import { base32 } from '../functions/pseudonymize.ts';
import { type EqualityTarget, equalityTargetOf } from './equality-target.ts';

const BLOCK_BYTES = 64;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 2104's inner and outer key blocks. */
export function hmacPads(key: KeyObject): { ipad: Buffer; opad: Buffer } {
  const raw = key.export();
  const block = Buffer.alloc(BLOCK_BYTES);
  // Subkeys are 32 bytes; a key longer than a block is hashed first, as HMAC prescribes.
  (raw.length > BLOCK_BYTES ? createHash('sha256').update(raw).digest() : raw).copy(block);
  return { ipad: Buffer.from(block.map((b) => b ^ 0x36)), opad: Buffer.from(block.map((b) => b ^ 0x5c)) };
}

/** HMAC-SHA-256 in SQL with the key blocks bound once as parameters: call it with a bytea expression. */
function hmacSql(key: KeyObject, params: Params): (message: string) => string {
  const { ipad, opad } = hmacPads(key);
  const i = params.add(ipad, 'bytea');
  const o = params.add(opad, 'bytea');
  return (m: string) => `sha256(${o} || sha256(${i} || ${m}))`;
}

/** The bytes a pseudonym token carries, or undefined when the string is not a token this rule could issue. */
export function pseudonymBytes(token: string, prefix: string, bytes: number): Buffer | undefined {
  if (!token.startsWith(prefix)) return undefined;
  const body = token.slice(prefix.length);
  const out = Buffer.alloc(bytes);
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const char of body) {
    const digit = BASE32.indexOf(char);
    if (digit < 0) return undefined;
    buffer = ((buffer << 5) | digit) & 0xfff;
    bits += 5;
    if (bits >= 8 && index < bytes) {
      bits -= 8;
      out[index++] = (buffer >>> bits) & 0xff;
    }
  }
  // Only the canonical spelling matches: re-encoding must give back exactly what the agent sent.
  return index === bytes && base32(out, bytes) === body ? out : undefined;
}

type Predicate = (target: string, params: Params) => string;

function predicateFor(target: EqualityTarget, values: readonly string[]): Predicate {
  switch (target.kind) {
    case 'never':
      return () => 'false';
    case 'clear':
      return (column, params) => `${column}::text = ANY(${params.add([...values], 'text[]')})`;
    case 'pseudonym': {
      const digests = values.flatMap((v) => pseudonymBytes(v, target.prefix, target.bytes)?.toString('hex') ?? []);
      if (digests.length === 0) return () => 'false';
      return (column, params) => {
        const hmac = hmacSql(target.key, params);
        return `encode(substring(${hmac(`convert_to(${column}::text, 'UTF8')`)} from 1 for ${target.bytes}), 'hex') = ANY(${params.add(digests, 'text[]')})`;
      };
    }
    case 'format-token': {
      // Positions are UTF-16 units in TypeScript and characters in SQL: the same only inside the BMP.
      const tokens = values.filter((v) => !/[\uD800-\uDFFF]/.test(v));
      if (tokens.length === 0) return () => 'false';
      return (column, params) => {
        const hmac = hmacSql(target.key, params);
        const lengths = params.add([...new Set(tokens.map((t) => t.length))], 'int4[]');
        // tokenize_preserving_format's byte stream: HMAC(value), then HMAC(seed || uint16 block) per further 32 characters.
        const stream = `(SELECT h.seed || coalesce((SELECT string_agg(${hmac('h.seed || int2send(b::int2)')}, ''::bytea ORDER BY b) FROM generate_series(1, (length(${column}) - 1) / 32) b), ''::bytea) FROM (SELECT ${hmac(`convert_to(${column}, 'UTF8')`)} AS seed) h)`;
        const char = `substr(${column}, p, 1)`;
        const substitute =
          `CASE WHEN ascii(${char}) BETWEEN 48 AND 57 THEN chr(48 + get_byte(k.s, p - 1) % 10) ` +
          `WHEN ascii(${char}) BETWEEN 65 AND 90 THEN chr(65 + get_byte(k.s, p - 1) % 26) ` +
          `WHEN ascii(${char}) BETWEEN 97 AND 122 THEN chr(97 + get_byte(k.s, p - 1) % 26) ELSE ${char} END`;
        const token = `(SELECT string_agg(${substitute}, '' ORDER BY p) FROM (SELECT ${stream} AS s) k, generate_series(1, length(${column})) p)`;
        return `(length(${column}) = ANY(${lengths}) AND ${token} = ANY(${params.add(tokens, 'text[]')}))`;
      };
    }
  }
}

/**
 * The condition for `eq` / `in` on a masked field, routed per subject jurisdiction to the variant that
 * masked each row; undefined when some variant's output is not a safe equality target (refuse).
 */
export function maskedEqualityCondition(field: ViewField, operator: string, operand: unknown): Condition | undefined {
  const exposure = field.exposure;
  if (exposure.kind !== 'masked' || (operator !== 'eq' && operator !== 'in')) return undefined;
  const values = (Array.isArray(operand) ? operand : [operand]).filter((v): v is string => typeof v === 'string');
  const otherwise = equalityTargetOf(exposure.otherwise);
  const groups = new Map<EqualityTarget, string[]>();
  for (const [jurisdiction, variant] of exposure.byJurisdiction) {
    const target = equalityTargetOf(variant);
    if (!target) return undefined;
    groups.set(target, [...(groups.get(target) ?? []), jurisdiction]);
  }
  if (!otherwise) return undefined;
  const column = field.column;
  const on = (target: EqualityTarget): Condition => ({ kind: 'column-predicate', column, compile: predicateFor(target, values) });
  const named = [...exposure.byJurisdiction.keys()];
  if (named.length === 0) return on(otherwise);
  return {
    kind: 'or',
    children: [
      ...[...groups].map(
        ([target, jurisdictions]): Condition => ({
          kind: 'and',
          children: [{ kind: 'subject-jurisdiction', operator: 'in', value: jurisdictions }, on(target)],
        }),
      ),
      { kind: 'and', children: [{ kind: 'not', child: { kind: 'subject-jurisdiction', operator: 'in', value: named } }, on(otherwise)] },
    ],
  };
}
