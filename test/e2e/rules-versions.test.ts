import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRulesVersions, readRulesVersion, recordRulesVersion } from '../../src/audit/rules-versions.ts';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { diffRules, readRulesSnapshot, snapshotOf } from '../../src/config/rules-versions.ts';
import { type BrokerPair, startBrokerPair, type TestBroker } from '../support/broker.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { projectWith } from '../support/project.ts';
import { officerHandlerOf, officerQuery } from './officer-fixtures.ts';
import { readyz, readyzUntil } from '../support/readiness.ts';

describe('rules diffs', () => {
  it('lists added, removed and changed files with the lines added and removed', () => {
    const diff = diffRules({ 'a.yaml': 'x\ny\nz', 'gone.yaml': 'g' }, { 'a.yaml': 'x\nY\nz\nw', 'new.yaml': 'n' });
    expect(diff).toEqual({ added: ['new.yaml'], removed: ['gone.yaml'], changed: [{ path: 'a.yaml', linesAdded: 2, linesRemoved: 1 }] });
  });
});

describe.each(ENGINES)('rules versions on $engine', ({ create }) => {
  let t: TestDatabase;
  let root: string;
  let pair: BrokerPair;
  let first: TestBroker;
  let second: TestBroker;
  let file: string;
  let original: string;
  const rulesEvents = async () =>
    (
      await t.db.query<{ details: { rulesVersion: number; previous: number | null; diff: unknown } }>(
        `SELECT details FROM audit_log WHERE operation_kind = 'rules_version' ORDER BY seq`,
      )
    ).rows.map((row) => row.details);

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    root = await projectWith();
    file = join(root, 'masking-rules', 'customers.yaml');
    original = await readFile(file, 'utf8');
    ({ first, second } = pair = await startBrokerPair(t.db, root));
  });
  afterAll(async () => {
    await pair?.close();
    await t?.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('stores the files brokers start on once and says so on /readyz', async () => {
    const [stored, ...older] = await listRulesVersions(t.db);
    expect(older).toEqual([]);
    expect(stored!.hash).toBe((await readRulesSnapshot(root)).hash);
    const version = await readRulesVersion(t.db, stored!.id);
    expect(version!.files['masking-rules/customers.yaml']).toBe(original);
    expect(Object.keys(version!.files)).toContain('schema/agents.yaml');
    // Two brokers started on the same files: one version. The first version replaced none: no event.
    expect(stored!.previousId).toBeNull();
    expect(await rulesEvents()).toEqual([]);
    for (const kh of [first, second]) {
      expect(await readyz(kh)).toMatchObject({ status: 'ok', rules: { version: stored!.id, hash: stored!.hash, pending: [] } });
    }
  });

  it("stamps each request's audit record with the version that decided it, refused ones too", async () => {
    const inForce = (await readyz(first)).rules.version;
    const token = await first.token('support-bot');
    const answered = await first.graphql(token, '{ customers(where: { id: { in: [1] } }) { phone } }');
    expect(answered.body.errors).toBeUndefined();
    const refused = await first.graphql(null, '{ customers { phone } }');
    expect(refused.body.errors?.[0]?.extensions?.code).toBeDefined();
    const stamped = await t.db.query<{ decision: string; details: { rulesVersion?: number } }>(
      'SELECT decision, details FROM audit_log WHERE request_id = ANY($1) ORDER BY seq',
      [[answered.requestId, refused.requestId]],
    );
    expect(stamped.rows.map((row) => [row.decision, row.details.rulesVersion])).toEqual([
      ['allowed', inForce],
      ['denied', inForce],
    ]);
  });

  it('shows a refused edit on /readyz with file, line and field while the version in force stays', async () => {
    const before = await readyz(first);
    await writeFile(file, original.replace('params: { keepLast: 4 }', 'params: { keepLast: four }'));
    const refused = await readyzUntil(first, (r) => r.rules.pending.length > 0);
    expect(refused.status).toBe('ok');
    expect(refused.rules.version).toBe(before.rules.version);
    expect(refused.rules.pending[0]).toMatchObject({
      file: 'masking-rules/customers.yaml',
      line: expect.any(Number),
      field: expect.stringContaining('keepLast'),
    });
    expect(await rulesEvents()).toEqual([]);
  });

  it('stores, diffs and audits an accepted edit once for every broker, and an undone edit brings back the old id', async () => {
    const [startedOn] = await listRulesVersions(t.db);
    await writeFile(file, original.replace('params: { keepLast: 4 }', 'params: { keepLast: 3 }'));
    const edited = await readyzUntil(first, (r) => r.rules.version !== startedOn!.id && r.rules.pending.length === 0);
    await readyzUntil(second, (r) => r.rules.version === edited.rules.version);
    const version = await readRulesVersion(t.db, edited.rules.version);
    expect(version).toMatchObject({
      previousId: startedOn!.id,
      diff: { added: [], removed: [], changed: [{ path: 'masking-rules/customers.yaml', linesAdded: 1, linesRemoved: 1 }] },
    });
    expect(version!.files['masking-rules/customers.yaml']).toContain('keepLast: 3');
    const answered = await second.graphql(await second.token('support-bot'), '{ customers(where: { id: { in: [1] } }) { phone } }');
    const record = await t.db.query<{ details: { rulesVersion?: number } }>('SELECT details FROM audit_log WHERE request_id = $1', [answered.requestId]);
    expect(record.rows[0]!.details.rulesVersion).toBe(edited.rules.version);

    await writeFile(file, original);
    await readyzUntil(first, (r) => r.rules.version === startedOn!.id);
    await readyzUntil(second, (r) => r.rules.version === startedOn!.id);
    expect((await rulesEvents()).map((e) => [e.rulesVersion, e.previous])).toEqual([
      [edited.rules.version, startedOn!.id],
      [startedOn!.id, edited.rules.version],
    ]);
    expect((await verifyAuditChain(t.db, first.broker.secrets.auditKey)).ok).toBe(true);
  });

  it('stores and audits a version once when brokers put it in force at the same moment', async () => {
    const events = (await rulesEvents()).length;
    const next = snapshotOf({ ...(await readRulesSnapshot(root)).files, 'schema/notes.txt': 'added\n' });
    const [a, b] = await Promise.all([
      recordRulesVersion(t.db, first.broker.secrets.auditKey, next),
      recordRulesVersion(t.db, first.broker.secrets.auditKey, next),
    ]);
    expect(a!.id).toBe(b!.id);
    expect([a!.changed, b!.changed].sort()).toEqual([false, true]);
    expect(await rulesEvents()).toHaveLength(events + 1);
    expect((await readRulesVersion(t.db, a!.id))!.diff).toEqual({ added: ['schema/notes.txt'], removed: [], changed: [] });
  });

  it("answers officers with the history and a version's files, and audits the question", async () => {
    const dpo = await first.token('dpo');
    const ask = (query: string, variables?: Record<string, unknown>) => officerQuery(officerHandlerOf(first), dpo, query, variables);
    const history = await ask('{ rulesVersions { id hash previousId diff { added changed { path linesAdded linesRemoved } } } }');
    expect(history.body.errors).toBeUndefined();
    const listed = history.body.data!.rulesVersions as Array<{ id: string; previousId: string | null; diff: { changed: unknown[] } }>;
    expect(listed.map((v) => v.id)).toEqual((await listRulesVersions(t.db)).map((v) => String(v.id)));
    const edit = listed.find((v) => v.diff.changed.length > 0)!;
    expect(edit.diff.changed).toEqual([{ path: 'masking-rules/customers.yaml', linesAdded: 1, linesRemoved: 1 }]);

    const one = await ask('query ($id: ID!) { rulesVersion(id: $id) { id files { path text } } }', { id: edit.id });
    const files = one.body.data!.rulesVersion.files as Array<{ path: string; text: string }>;
    expect(files.find((f) => f.path === 'masking-rules/customers.yaml')!.text).toContain('keepLast: 3');
    const record = await t.db.query<{ details: { officerQueries: Array<{ field: string }> } }>(
      `SELECT details FROM audit_log WHERE actor_kind = 'officer' ORDER BY seq DESC LIMIT 1`,
    );
    expect(record.rows[0]!.details.officerQueries.map((q) => q.field)).toEqual(['rulesVersion']);

    expect((await ask('{ rulesVersion(id: "0") { id } }')).body.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    expect((await ask('{ rulesVersion(id: "999999") { id } }')).body.data).toEqual({ rulesVersion: null });
  });
});
