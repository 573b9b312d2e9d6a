import { createHash, createHmac, createSecretKey, type KeyObject, randomUUID } from 'node:crypto';

export type Decision = 'allowed' | 'denied' | 'error' | 'pending_approval';
export type ActorKind = 'agent' | 'officer' | 'anonymous' | 'cli';

/** How one returned field was shown: clear, or masked by which rule and function. */
export interface FieldAccess {
  table: string;
  field: string;
  mask: string;
  rule?: string | undefined;
}

/** Everything an audit record says, before it is placed in the chain. */
export interface AuditDraft {
  recordedAt: Date;
  requestId: string;
  actorKind: ActorKind;
  actorId: string | null;
  /** The person an agent acted for (a delegated token's `sub`); absent or null when it acted for no one. */
  onBehalfOf?: string | null;
  purpose: string | null;
  actorLocation: string | null;
  operationKind: string;
  operationName: string | null;
  operationHash: string | null;
  decision: Decision;
  code: string | null;
  reason: string | null;
  tables: string[];
  fields: FieldAccess[];
  rowCount: number;
  /**
   * The data subjects whose rows were returned, by reference (`subjectPseudonym`), with their jurisdictions.
   * The writer records each under the subject's own erasable key (subject-keys.ts), never by reference.
   */
  subjects: Map<string, string | null>;
  privacyCost: Record<string, unknown> | null;
  findings: Array<Record<string, unknown>>;
  details: Record<string, unknown>;
}

/**
 * The record of an action on shared state rather than a read of data (an erasure, a prune, an incident, an anomaly, a
 * zone decision): it returns no field, row or subject and spends no budget. `tables` are those it changed.
 */
export function stateChangeDraft(change: {
  actor: { kind: ActorKind; id: string | null };
  operationKind: string;
  tables: string[];
  details: Record<string, unknown>;
  purpose?: string | null;
  decision?: Decision;
  rowCount?: number;
}): AuditDraft {
  return {
    recordedAt: new Date(),
    requestId: randomUUID(),
    actorKind: change.actor.kind,
    actorId: change.actor.id,
    purpose: change.purpose ?? null,
    actorLocation: null,
    operationKind: change.operationKind,
    operationName: null,
    operationHash: null,
    decision: change.decision ?? 'allowed',
    code: null,
    reason: null,
    tables: change.tables,
    fields: [],
    rowCount: change.rowCount ?? 0,
    subjects: new Map(),
    privacyCost: null,
    findings: [],
    details: change.details,
  };
}

export interface AuditRecord extends Omit<AuditDraft, 'subjects'> {
  seq: number;
  subjectCount: number;
  subjectsDigest: string;
  jurisdictions: string[];
  prevHash: string;
  hash: string;
}

/**
 * JSON with object keys sorted at every depth, so equal records always serialise to equal bytes. Every record
 * is serialised once when written and once per `audit verify`, so it builds one string rather than arrays of
 * entries; `sort()` without a comparator orders keys by UTF-16 code units, as `<` does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

/** A digest of the subject side table's rows for one record, so editing that table breaks the chain too. */
export function subjectsDigest(subjects: Iterable<[string, string | null]>): string {
  const lines = [...subjects].map(([subject, jurisdiction]) => `${subject}\t${jurisdiction ?? ''}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

type HashedFields = Omit<AuditRecord, 'hash'>;

/**
 * The record's link in the chain: HMAC-SHA-256 under a key held outside the database, over the previous
 * hash and every field. Keyed, so someone who can write the table still cannot forge a consistent chain.
 */
export function auditRecordHash(key: Uint8Array, record: HashedFields): string {
  return createHmac('sha256', keyObject(key)).update(record.prevHash).update('\n').update(hashedBody(record)).digest('hex');
}

/** What the hash covers of a record, by the key it has in the hashed JSON. */
const HASHED: ReadonlyArray<readonly [string, (record: HashedFields) => unknown]> = [
  ['seq', (r) => r.seq],
  ['recordedAt', (r) => r.recordedAt.toISOString()],
  ['requestId', (r) => r.requestId],
  ['actorKind', (r) => r.actorKind],
  ['actorId', (r) => r.actorId],
  // Hashed only when set: records written before delegation existed keep the hash they were written with.
  ['onBehalfOf', (r) => r.onBehalfOf ?? undefined],
  ['purpose', (r) => r.purpose],
  ['actorLocation', (r) => r.actorLocation],
  ['operationKind', (r) => r.operationKind],
  ['operationName', (r) => r.operationName],
  ['operationHash', (r) => r.operationHash],
  ['decision', (r) => r.decision],
  ['code', (r) => r.code],
  ['reason', (r) => r.reason],
  ['tables', (r) => r.tables],
  ['fields', (r) => r.fields],
  ['rowCount', (r) => r.rowCount],
  ['subjectCount', (r) => r.subjectCount],
  ['subjectsDigest', (r) => r.subjectsDigest],
  ['jurisdictions', (r) => r.jurisdictions],
  ['privacyCost', (r) => r.privacyCost],
  ['findings', (r) => r.findings],
  ['details', (r) => r.details],
];

/** The hashed keys in canonicalJson's order, each with its JSON prefix made once. */
const HASHED_IN_ORDER = [...HASHED].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, read]) => [`${JSON.stringify(name)}:`, read] as const);

/**
 * canonicalJson of the record's hashed fields, written in its sorted key order without building and sorting an
 * object first: every record is hashed when written and on every `audit verify`, and the sort was most of the cost.
 * A property test holds the hash equal to one over canonicalJson of the same fields (test/unit/audit-record.test.ts).
 */
function hashedBody(record: HashedFields): string {
  let out = '{';
  for (const [prefix, read] of HASHED_IN_ORDER) {
    const value = read(record);
    if (value === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${prefix}${canonicalJson(value)}`;
  }
  return `${out}}`;
}

/**
 * A data subject's broker-wide pseudonym, its reference: names it in subject_keys and officer lookups. The
 * audit log's records hold `recordedPseudonym(subject's own key, reference)` instead, so erasing that key
 * unlinks them (subject-keys.ts).
 */
export function subjectPseudonym(key: Uint8Array, kind: string, id: unknown): string {
  const name = `${kind}:${String(id)}`;
  const known = knownPseudonyms(key);
  let pseudonym = known.get(name);
  if (pseudonym === undefined) {
    pseudonym = `${kind}:${createHmac('sha256', keyObject(key)).update(name).digest('base64url').slice(0, 22)}`;
    if (known.size >= KNOWN_PSEUDONYMS) known.delete(known.keys().next().value!);
    known.set(name, pseudonym);
  }
  return pseudonym;
}

/**
 * Every returned row names its subject, and agents keep returning to the same people: a reference is computed
 * once per broker-wide key and kept (oldest dropped first, ~8 MB at the bound). It is the key's own stable
 * output, so keeping it reveals nothing the key does not; erasure destroys the per-subject keys, not this one.
 */
const KNOWN_PSEUDONYMS = 65_536;
const pseudonymsByKey = new WeakMap<Uint8Array, Map<string, string>>();

function knownPseudonyms(key: Uint8Array): Map<string, string> {
  let known = pseudonymsByKey.get(key);
  if (!known) {
    known = new Map();
    pseudonymsByKey.set(key, known);
  }
  return known;
}

const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/** HMAC keys are imported once: from raw bytes on every row, the import costs more than the hash. */
function keyObject(key: Uint8Array): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = createSecretKey(key);
    keyObjects.set(key, object);
  }
  return object;
}

/** Domain separation: the operation key is derived from the audit key, never the audit key itself. */
const OPERATION_KEY_LABEL = 'keyhole operation hash v1';
const operationKeys = new WeakMap<Uint8Array, KeyObject>();

function operationKey(auditKey: Uint8Array): KeyObject {
  let key = operationKeys.get(auditKey);
  if (!key) {
    key = createSecretKey(createHmac('sha256', keyObject(auditKey)).update(OPERATION_KEY_LABEL).digest());
    operationKeys.set(auditKey, key);
  }
  return key;
}

/**
 * The query text's fingerprint in the record: HMAC-SHA-256 under a key derived from the audit key. Equal texts
 * still group together (every broker writing one chain holds the same audit key), but an identifier written into
 * a hand-made query cannot be confirmed by hashing guesses, as it could from a plain SHA-256. Records written
 * before keep their stored value: the record hash covers the field as stored, so the chain still verifies.
 */
export function operationHash(auditKey: Uint8Array, text: string): string {
  return createHmac('sha256', operationKey(auditKey)).update(text).digest('hex');
}
