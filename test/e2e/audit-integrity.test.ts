import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditBatcher, appendAuditRecords, type AuditRow, type Decision, recordFromRow, verifyAuditChain } from '../../src/audit/index.ts';
import { auditDraft } from '../../src/request/audit-draft.ts';
import { requestState } from '../../src/request/state.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft as emptyDraft } from '../support/audit.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { withCliWorld } from '../support/cli.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';

/** Text PostgreSQL cannot store as it is: NUL, lone surrogates, and any other code point. */
const awkwardText = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('\u0000', 'a\u0000b', '\uD800', 'x\uDFFFy', '\uDBFF\uDFFF', '\\u0000'));
const anyJson = fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 });

async function recordCount(t: TestDatabase): Promise<number> {
  return Number((await t.db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_log')).rows[0]!.n);
}

async function lastRecord(t: TestDatabase): Promise<AuditRow> {
  return (await t.db.query<AuditRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!;
}

describe.each(ENGINES)('what is hashed is what is stored, on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let agent: string;
  let officer: string;
  const verify = () => verifyAuditChain(t.db, kh.broker.secrets.auditKey);
  const post = async (path: string, token: string, body: string) => {
    const response = await kh.broker.fetch(
      new Request(`http://keyhole.test${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body }),
    );
    return { status: response.status, body: (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> } };
  };

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    agent = await kh.token('support-bot');
    officer = await kh.token('dpo');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  const wrongTypes: Array<[string, Record<string, unknown>]> = [
    ['a number operationName', { query: '{ viewer { agent } }', operationName: 7 }],
    ['an object operationName', { query: '{ viewer { agent } }', operationName: { a: 1 } }],
    ['a boolean operationName', { query: '{ viewer { agent } }', operationName: true }],
    ['an array operationName', { query: '{ viewer { agent } }', operationName: ['x'] }],
    ['a number query', { query: 7 }],
    ['an object query', { query: { kind: 'Document' } }],
    ['a missing query', { operationName: 'Q' }],
    ['array variables', { query: '{ viewer { agent } }', variables: [1] }],
    ['string extensions', { query: '{ viewer { agent } }', extensions: 'x' }],
    ['an unknown parameter', { query: '{ viewer { agent } }', documentId: 'abc' }],
  ];

  for (const [path, token] of [
    ['/graphql', () => agent],
    ['/officer/graphql', () => officer],
  ] as const) {
    it.each(wrongTypes)(`refuses ${path} with %s as BAD_REQUEST, records the refusal, and the chain verifies`, async (_, envelope) => {
      const before = await recordCount(t);
      const reply = await post(path, token(), JSON.stringify(envelope));
      expect(reply.status).toBe(400);
      expect(reply.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      expect(await recordCount(t)).toBe(before + 1);
      expect(await lastRecord(t)).toMatchObject({ decision: 'denied', code: 'BAD_REQUEST', operation_name: null, operation_hash: null });
      expect(await verify()).toMatchObject({ ok: true, bad: [] });
    });
  }

  for (const [path, token] of [
    ['/graphql', () => agent],
    ['/officer/graphql', () => officer],
  ] as const) {
    it(`records ${path}'s operation under the name its document gives, when the request sends no operationName`, async () => {
      const query = path === '/graphql' ? 'query SupportLookup { viewer { agent } }' : 'query SupportLookup { me { id } }';
      const reply = await post(path, token(), JSON.stringify({ query }));
      expect(reply.status).toBe(200);
      expect(await lastRecord(t)).toMatchObject({ decision: 'allowed', operation_name: 'SupportLookup' });
    });
  }

  it('records any request envelope, however odd its strings, in a chain that verifies', async () => {
    const envelope = fc.record(
      {
        query: fc.oneof(
          awkwardText,
          awkwardText.map((name) => `query ${JSON.stringify(name)} { viewer { agent } }`),
          fc.constant('{ viewer { agent } }'),
          anyJson,
        ),
        operationName: fc.oneof(awkwardText, anyJson),
        variables: fc.oneof(fc.dictionary(awkwardText, anyJson, { maxKeys: 3 }), anyJson),
        extensions: fc.oneof(fc.dictionary(awkwardText, anyJson, { maxKeys: 3 }), anyJson),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(envelope, fc.constantFrom('/graphql', '/officer/graphql'), async (body, path) => {
        const before = await recordCount(t);
        const reply = await post(path, path === '/graphql' ? agent : officer, JSON.stringify(body));
        expect(reply.status).toBeLessThan(500);
        expect(await recordCount(t)).toBe(before + 1);
        expect((await verify()).bad).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('stores every draft exactly as it was hashed, whatever its values, through the batcher', async () => {
    const key = kh.broker.secrets.auditKey;
    const batcher = new AuditBatcher(t.db, key, { maxBatch: 4 });
    const draftInput = fc.record({
      requestId: fc.stringMatching(/^[\w.-]{1,64}$/),
      query: fc.option(awkwardText),
      // Whatever reaches the state, even a value of the wrong type, is stored as it was hashed.
      operationName: fc.oneof(awkwardText, anyJson),
      decision: fc.constantFrom<Decision>('allowed', 'denied', 'error'),
      code: fc.option(awkwardText),
      reason: fc.option(awkwardText),
      details: fc.dictionary(awkwardText, anyJson, { maxKeys: 4 }),
      findings: fc.array(fc.dictionary(awkwardText, anyJson, { maxKeys: 3 }), { maxLength: 2 }),
      tables: fc.array(awkwardText, { maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(draftInput, { minLength: 1, maxLength: 6 }), async (inputs) => {
        const drafts = inputs.map((input) => {
          const state = requestState(new Request('http://keyhole.test/graphql', { headers: { 'x-request-id': input.requestId } }));
          state.query = input.query;
          state.operationName = input.operationName as string | null;
          state.access.findings = input.findings;
          for (const table of input.tables) state.access.tables.add(table);
          // details are typed on the state; any JSON the record's column could hold is given to the draft.
          return { ...auditDraft(state, key, input.decision, input.code, input.reason), details: input.details };
        });
        const records = await Promise.all(drafts.map((draft) => batcher.append(draft)));
        const stored = await t.db.query<AuditRow>('SELECT * FROM audit_log WHERE seq = ANY($1::int8[]) ORDER BY seq', [records.map((r) => r.seq)]);
        expect(stored.rows.map(recordFromRow)).toEqual(records);
        expect((await verifyAuditChain(t.db, key)).bad).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});

describe.each(ENGINES)('audit verify reports every bad record, on $engine', ({ create }) => {
  let t: TestDatabase;
  const key = randomBytes(32);
  beforeAll(async () => {
    t = await create();
    await migrate(t.db);
    // More than one verifier page (2,000 records), so faults on both sides of a page boundary are found.
    const drafts = Array.from({ length: 2_500 }, (_, i) => emptyDraft({ reason: `request ${i + 1}` }));
    await t.db.transaction((tx) => appendAuditRecords(tx, key, drafts));
  });
  afterAll(() => t.drop());

  it('finds two changed records far apart and a removed one between them, and nothing else', async () => {
    expect(await verifyAuditChain(t.db, key)).toMatchObject({ ok: true, checked: 2_500, bad: [] });
    await t.db.query("UPDATE audit_log SET reason = 'edited' WHERE seq IN (10, 2400)");
    await t.db.query('DELETE FROM audit_log WHERE seq = 1200');
    const result = await verifyAuditChain(t.db, key);
    expect(result).toMatchObject({ ok: false, checked: 2_499, headSeq: 2_500, firstBad: { seq: 10, problem: 'changed' } });
    expect(result.bad.map((fault) => [fault.seq, fault.problem])).toEqual([
      [10, 'changed'],
      [1200, 'removed'],
      [2400, 'changed'],
    ]);
  });
});

describe('keyhole audit verify lists every fault (CLI, real PostgreSQL)', () => {
  it('bounds the list in its report, gives all of it in --json, and exits 2', () =>
    withCliWorld(async ({ t, kh, keyhole }) => {
      const drafts = Array.from({ length: 40 }, () => emptyDraft());
      await t.db.transaction((tx) => appendAuditRecords(tx, kh.broker.secrets.auditKey, drafts));
      await t.db.query('UPDATE audit_log SET row_count = 7 WHERE seq % 2 = 0 AND seq > 10');
      const failed = (args: string[]) =>
        keyhole(...args).then(
          () => expect.fail('audit verify passed a tampered chain'),
          (error: { code: number; stdout: string; stderr: string }) => error,
        );
      const human = await failed(['audit', 'verify']);
      expect(human.code).toBe(2);
      expect(human.stderr).toContain('audit chain BROKEN at record 12 (changed)');
      expect(human.stderr).toContain('15 fault(s) in all');
      expect(human.stderr).toContain('record 30 (changed)');
      const json = await failed(['audit', 'verify', '--json']);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout).bad.map((fault: { seq: number }) => fault.seq)).toEqual(Array.from({ length: 15 }, (_, i) => 12 + 2 * i));
    }));

  it('cuts a long list short in its report', () =>
    withCliWorld(async ({ t, kh, keyhole }) => {
      await t.db.transaction((tx) =>
        appendAuditRecords(
          tx,
          kh.broker.secrets.auditKey,
          Array.from({ length: 30 }, () => emptyDraft()),
        ),
      );
      await t.db.query('UPDATE audit_log SET row_count = 7');
      const error = await keyhole('audit', 'verify').catch((e: { code: number; stderr: string }) => e);
      expect(error).toMatchObject({ code: 2 });
      expect((error as { stderr: string }).stderr).toContain('… and 10 more (--json lists every one)');
    }));
});
