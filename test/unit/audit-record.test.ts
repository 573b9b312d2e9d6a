import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invalidCheckpoints } from '../../src/audit/checkpoint.ts';
import { auditRecordHash, canonicalJson, checkpointSignature, operationHash, recordFromRow, subjectPseudonym, subjectsDigest } from '../../src/audit/index.ts';
import { recordFieldsFromRow, storableText, storedRow } from '../../src/audit/row.ts';

const key = new Uint8Array(32).fill(9);

describe('what an audit record hashes', () => {
  it('serialises JSON with keys sorted at every depth, undefined dropped and dates as ISO text', () => {
    const value = { b: 1, a: [{ d: 'x', c: undefined, B: true }, null], e: new Date(0), f: null, '': 0 };
    expect(canonicalJson(value)).toBe('{"":0,"a":[{"B":true,"d":"x"},null],"b":1,"e":"1970-01-01T00:00:00.000Z","f":null}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson('a"b')).toBe('"a\\"b"');
    expect(canonicalJson([undefined])).toBe('[null]');
  });

  it('serialises an object the same whatever order its keys were set in, at every depth', () => {
    // jsonb hands back a record's details, cost and findings in its own key order, not the writer's.
    const reversed = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reversed);
      if (value === null || typeof value !== 'object') return value;
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, reversed(v)]),
      );
    };
    fc.assert(
      fc.property(fc.object({ maxDepth: 3 }), (value) => {
        expect(canonicalJson(reversed(value))).toBe(canonicalJson(value));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes a record as it always has: logs written by an earlier version still verify', () => {
    const record = {
      seq: 1,
      recordedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
      requestId: 'req-1',
      actorKind: 'agent' as const,
      actorId: 'support-bot',
      purpose: 'customer_service',
      actorLocation: 'DE',
      operationKind: 'query',
      operationName: 'Q',
      operationHash: 'a'.repeat(64),
      decision: 'allowed' as const,
      code: null,
      reason: null,
      tables: ['customers'],
      fields: [{ table: 'customers', field: 'email', mask: 'email', rule: 'r1' }],
      rowCount: 2,
      subjectCount: 1,
      subjectsDigest: 'b'.repeat(64),
      jurisdictions: ['DE'],
      privacyCost: { epsilon: 0.5, delta: 0 },
      findings: [],
      details: { z: 1, a: 2 },
      prevHash: 'genesis',
    };
    expect(auditRecordHash(key, record as Parameters<typeof auditRecordHash>[1])).toBe('7c7767ae527ea6064cd1c3df04f83d4eb7577fa0eab86c6b817da084713ea951');
  });

  it('hashes every record as an HMAC over canonicalJson of its fields, whatever they hold', () => {
    type Hashed = Parameters<typeof auditRecordHash>[1];
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const orNull = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: null });
    const json = fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
    const record: fc.Arbitrary<Hashed> = fc.record({
      seq: fc.nat(),
      recordedAt: fc.date({ noInvalidDate: true }),
      requestId: text,
      actorKind: fc.constantFrom('agent', 'officer', 'system') as fc.Arbitrary<Hashed['actorKind']>,
      actorId: orNull(text),
      onBehalfOf: fc.option(text, { nil: undefined }).chain((person) => fc.constantFrom(person, null)),
      purpose: orNull(text),
      actorLocation: orNull(text),
      operationKind: text,
      operationName: orNull(text),
      operationHash: orNull(text),
      decision: fc.constantFrom('allowed', 'denied', 'error') as fc.Arbitrary<Hashed['decision']>,
      code: orNull(text),
      reason: orNull(text),
      tables: fc.array(text, { maxLength: 3 }),
      fields: fc.array(fc.record({ table: text, field: text, mask: text, rule: fc.option(text, { nil: undefined }) }), { maxLength: 3 }),
      rowCount: fc.nat(),
      subjectCount: fc.nat(),
      subjectsDigest: text,
      jurisdictions: fc.array(text, { maxLength: 3 }),
      privacyCost: orNull(json),
      findings: fc.array(json, { maxLength: 2 }),
      details: json,
      prevHash: text,
    });
    // The record as the hash has always been defined: this object, serialised by canonicalJson.
    const reference = (r: Hashed) =>
      createHmac('sha256', key)
        .update(r.prevHash)
        .update('\n')
        .update(
          canonicalJson({
            seq: r.seq,
            recordedAt: r.recordedAt.toISOString(),
            requestId: r.requestId,
            actorKind: r.actorKind,
            actorId: r.actorId,
            onBehalfOf: r.onBehalfOf ?? undefined,
            purpose: r.purpose,
            actorLocation: r.actorLocation,
            operationKind: r.operationKind,
            operationName: r.operationName,
            operationHash: r.operationHash,
            decision: r.decision,
            code: r.code,
            reason: r.reason,
            tables: r.tables,
            fields: r.fields,
            rowCount: r.rowCount,
            subjectCount: r.subjectCount,
            subjectsDigest: r.subjectsDigest,
            jurisdictions: r.jurisdictions,
            privacyCost: r.privacyCost,
            findings: r.findings,
            details: r.details,
          }),
        )
        .digest('hex');
    fc.assert(
      fc.property(record, (r) => {
        expect(auditRecordHash(key, r)).toBe(reference(r));
      }),
      { numRuns: 1000 },
    );
  });

  it('digests a record’s subjects whatever their order, a missing jurisdiction as empty', () => {
    const expected = createHash('sha256').update('customer:a\tDE\ncustomer:b\t').digest('hex');
    expect(
      subjectsDigest([
        ['customer:b', null],
        ['customer:a', 'DE'],
      ]),
    ).toBe(expected);
    expect(subjectsDigest([])).toBe(createHash('sha256').update('').digest('hex'));
  });

  it('names a subject by a keyed pseudonym of kind and id, 22 base64url characters', () => {
    const reference = `customer:${createHmac('sha256', key).update('customer:42').digest('base64url').slice(0, 22)}`;
    expect(subjectPseudonym(key, 'customer', 42)).toBe(reference);
    expect(subjectPseudonym(key, 'customer', '42')).toBe(reference);
    expect(subjectPseudonym(new Uint8Array(32).fill(8), 'customer', 42)).not.toBe(reference);
  });

  it('fingerprints a query text under a key derived from the audit key, so a guess cannot be confirmed by hashing it', () => {
    const derived = createHmac('sha256', key).update('keyhole operation hash v1').digest();
    const text = '{ customers(where: { email: "ada@example.com" }) { id } }';
    expect(operationHash(key, text)).toBe(createHmac('sha256', derived).update(text).digest('hex'));
    expect(operationHash(key, text)).toBe(operationHash(Uint8Array.from(key), text));
    expect(operationHash(key, text)).not.toBe(createHash('sha256').update(text).digest('hex'));
    expect(operationHash(new Uint8Array(32).fill(8), text)).not.toBe(operationHash(key, text));
  });

  it('keeps pseudonyms apart per key and stays right past the bound of the ones it keeps', () => {
    const otherKey = new Uint8Array(32).fill(9);
    const reference = (k: Uint8Array, id: number) => `customer:${createHmac('sha256', k).update(`customer:${id}`).digest('base64url').slice(0, 22)}`;
    expect(subjectPseudonym(key, 'customer', 7)).toBe(reference(key, 7));
    expect(subjectPseudonym(otherKey, 'customer', 7)).toBe(reference(otherKey, 7));
    expect(subjectPseudonym(key, 'account', 7)).toBe(`account:${createHmac('sha256', key).update('account:7').digest('base64url').slice(0, 22)}`);
    for (let id = 0; id < 70_000; id++) subjectPseudonym(otherKey, 'customer', id);
    expect(subjectPseudonym(otherKey, 'customer', 0)).toBe(reference(otherKey, 0));
    expect(subjectPseudonym(otherKey, 'customer', 69_999)).toBe(reference(otherKey, 69_999));
  });
});

describe('the row an audit record is stored as', () => {
  const record = {
    seq: 4,
    recordedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
    requestId: 'r\u0000',
    actorKind: 'agent' as const,
    actorId: 7 as unknown as string,
    purpose: undefined as unknown as null,
    actorLocation: null,
    operationKind: 'query',
    operationName: { name: 'Q' } as unknown as string,
    operationHash: null,
    decision: 'allowed' as const,
    code: null,
    reason: 'x\uD800y',
    tables: ['customers', null as unknown as string, 5 as unknown as string],
    fields: [{ table: 't', field: 'f', mask: 'm', rule: undefined }],
    rowCount: -0,
    subjectCount: 0,
    subjectsDigest: 'd',
    jurisdictions: [],
    privacyCost: { 'k\u0000': ['v\u0000', -0, undefined] } as Record<string, unknown>,
    findings: [],
    details: { at: new Date(0) },
    prevHash: 'p',
  };

  it('holds every value as PostgreSQL keeps it: text as text, through JSON, nothing jsonb would refuse', () => {
    const row = storedRow(record);
    expect(row).toEqual({
      seq: 4,
      recorded_at: '2026-01-02T03:04:05.006Z',
      request_id: 'r\uFFFD',
      actor_kind: 'agent',
      actor_id: '7',
      on_behalf_of: null,
      purpose: null,
      actor_location: null,
      operation_kind: 'query',
      operation_name: '{"name":"Q"}',
      operation_hash: null,
      decision: 'allowed',
      code: null,
      reason: 'x\uFFFDy',
      tables: ['customers', '', '5'],
      fields: [{ table: 't', field: 'f', mask: 'm' }],
      row_count: 0,
      subject_count: 0,
      subjects_digest: 'd',
      jurisdictions: [],
      privacy_cost: { 'k\uFFFD': ['v\uFFFD', 0, null] },
      findings: [],
      details: { at: '1970-01-01T00:00:00.000Z' },
      prev_hash: 'p',
    });
    expect(Object.is(row.row_count, 0)).toBe(true);
  });

  it('reads back the record the writer hashes, and a stored row with its hash', () => {
    const row = storedRow(record);
    const back = recordFieldsFromRow({ ...row, seq: '4' as unknown as number });
    expect(back).toMatchObject({ seq: 4, recordedAt: record.recordedAt, requestId: 'r\uFFFD', actorId: '7', tables: ['customers', '', '5'], prevHash: 'p' });
    expect(recordFromRow({ ...row, hash: 'h' })).toEqual({ ...recordFieldsFromRow(row), hash: 'h' });
  });

  it('replaces NUL and unpaired surrogates, and keeps paired ones', () => {
    expect(storableText('a\u0000b\u0000')).toBe('a\uFFFDb\uFFFD');
    expect(storableText('\uDFFF\uD83D\uDE00\uD800')).toBe('\uFFFD😀\uFFFD');
  });
});

describe('checkpoints of pruned records', () => {
  const checkpoint = (seq: number, prunedCount: number) => {
    const signed = { seq, hash: `h${seq}`, prunedCount, prunedBefore: new Date(Date.UTC(2026, 0, seq)), createdAt: new Date(Date.UTC(2026, 1, seq)) };
    return { ...signed, signature: checkpointSignature(key, signed) };
  };

  it('accepts a chain of checkpoints from 0 by their pruned counts', () => {
    expect(invalidCheckpoints(key, [checkpoint(5, 5), checkpoint(8, 3)])).toEqual([]);
  });

  it('finds a removed checkpoint and any signed field changed', () => {
    expect(invalidCheckpoints(key, [checkpoint(8, 3)])).toEqual([
      { seq: 8, detail: 'the checkpoint at 8 does not follow the one at 0: a checkpoint was removed' },
    ]);
    expect(invalidCheckpoints(key, [checkpoint(5, 5), checkpoint(9, 3)]).map((c) => c.seq)).toEqual([9]);
    const edits = [{ seq: 6 }, { hash: 'other' }, { prunedCount: 4 }, { prunedBefore: new Date(0) }, { createdAt: new Date(0) }];
    for (const edit of edits) {
      expect(invalidCheckpoints(key, [{ ...checkpoint(5, 5), ...edit }]), JSON.stringify(edit)).toEqual([
        { seq: edit.seq ?? 5, detail: `the checkpoint of pruned records up to ${edit.seq ?? 5} is forged or was modified` },
      ]);
    }
  });

  it('signs under a label, so a checkpoint signature never passes as a record hash', () => {
    const signed = { seq: 1, hash: 'h', prunedCount: 1, prunedBefore: new Date(0), createdAt: new Date(0) };
    const body = canonicalJson({ seq: 1, hash: 'h', prunedCount: 1, prunedBefore: new Date(0).toISOString(), createdAt: new Date(0).toISOString() });
    expect(checkpointSignature(key, signed)).toBe(createHmac('sha256', key).update('audit-checkpoint\n').update(body).digest('hex'));
  });
});
