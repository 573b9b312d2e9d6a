import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRulesVersions } from '../../src/audit/rules-versions.ts';
import { type BrokerPair, startBrokerPair, type TestBroker } from '../support/broker.ts';
import { COLLECTIONS_BOT } from '../support/collections-bot.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { projectWith } from '../support/project.ts';
import { readyz, readyzUntil } from '../support/readiness.ts';
import { officerQuery } from './officer-fixtures.ts';

/** Names debt_collection among the purposes notified to a jurisdiction's subjects. */
const notifyDebtCollection = (text: string) =>
  text.replace(
    '    analytics: [identifier, personal, financial]\n',
    '    analytics: [identifier, personal, financial]\n    debt_collection: [identifier, personal]\n',
  );

/**
 * The collections-bot, with the GDPR and PDPA notices naming its purpose so that its answers are allowed,
 * and its role quarantined on an anomaly like the other row-reading roles.
 */
const COLLECTIONS_BOT_ALLOWED = {
  ...COLLECTIONS_BOT,
  'schema/policies.yaml': (text: string) =>
    COLLECTIONS_BOT['schema/policies.yaml'](text).replace(
      '    kyc: { quarantine: true }\n',
      '    kyc: { quarantine: true }\n    collections: { quarantine: true }\n',
    ),
  'schema/jurisdictions/gdpr.yaml': notifyDebtCollection,
  'schema/jurisdictions/pdpa-sg.yaml': notifyDebtCollection,
};

const COLLECTIONS_QUERY = '{ customers { residency } }';
const PHONES_QUERY = '{ customers(where: { id: { in: [1, 2] } }) { phone } }';
/** Support-bot's phones of customers 1 and 2 before and after its rule keeps 3 digits instead of 4. */
const OLD_PHONES = ['+65 **** 4567', '+49 *** *****78'];
const NEW_PHONES = ['+65 **** *567', '+49 *** *****78'];
const keepLastThree = (text: string) => text.replace('params: { keepLast: 4 }', 'params: { keepLast: 3 }');

describe.each(ENGINES)('live reload of every rules file on $engine', ({ create }) => {
  let t: TestDatabase;
  let root: string;
  let pair: BrokerPair;
  let first: TestBroker;
  let second: TestBroker;
  const originals = new Map<string, string>();

  /** Writes the project's files edited by `edits` (from their originals); an empty set of edits restores them. */
  async function writeProject(edits: Record<string, (text: string) => string>): Promise<void> {
    for (const [file, text] of originals) await writeFile(join(root, file), edits[file]?.(text) ?? text);
  }

  const rulesEvents = async () =>
    (
      await t.db.query<{ details: { rulesVersion: number; previous: number } }>(
        `SELECT details FROM audit_log WHERE operation_kind = 'rules_version' ORDER BY seq`,
      )
    ).rows.map((row) => row.details);

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    root = await projectWith();
    for (const file of [...Object.keys(COLLECTIONS_BOT_ALLOWED), 'masking-rules/customers.yaml', 'schema/catalog.yaml'])
      originals.set(file, await readFile(join(root, file), 'utf8'));
    ({ first, second } = pair = await startBrokerPair(t.db, root));
  });
  afterAll(async () => {
    await pair?.close();
    await t?.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('serves a new agent, role, purpose and policy without a restart, under a new audited rules version on both brokers', async () => {
    const before = await readyz(first);
    await expect(first.token('collections-bot')).rejects.toThrow();
    expect(first.broker.baselines.policyOf('collections-bot')).toBeUndefined();

    await writeProject(COLLECTIONS_BOT_ALLOWED);
    const after = await readyzUntil(first, (r) => r.rules.version !== before.rules.version && r.rules.pending.length === 0);
    await readyzUntil(second, (r) => r.rules.version === after.rules.version);
    const [inForce] = await listRulesVersions(t.db);
    expect(inForce!.id).toBe(after.rules.version);
    expect(inForce!.diff.changed.map((c) => c.path).sort()).toEqual(Object.keys(COLLECTIONS_BOT_ALLOWED).sort());
    expect((await rulesEvents()).at(-1)).toMatchObject({ rulesVersion: after.rules.version, previous: before.rules.version });

    // A new agent starts in the sandbox, and its file's ask for production waits for an officer, as at a start.
    const zone = await t.db.query('SELECT zone, requested_zone, request_status FROM agent_zones WHERE agent_id = $1', ['collections-bot']);
    expect(zone.rows).toEqual([{ zone: 'sandbox', requested_zone: 'production', request_status: 'pending' }]);
    expect(first.broker.baselines.policyOf('collections-bot')?.quarantine).toBe(true);
    for (const kh of [first, second]) {
      const answer = await kh.graphql(await kh.token('collections-bot'), COLLECTIONS_QUERY);
      expect(answer.body.errors).toBeUndefined();
      const residencies = new Set(answer.body.data!.customers.map((c: { residency: string }) => c.residency));
      expect([...residencies].sort()).toEqual(['EU-DE', 'EU-FR', 'SG']);
      const record = await t.db.query<{ decision: string; details: { rulesVersion?: number } }>(
        'SELECT decision, details FROM audit_log WHERE request_id = $1',
        [answer.requestId],
      );
      expect(record.rows.map((row) => [row.decision, row.details.rulesVersion])).toEqual([['allowed', after.rules.version]]);
    }
  });

  it('refuses an agent removed from agents.yaml on its next request, and an undone edit brings back the old version', async () => {
    const [startedOn] = (await listRulesVersions(t.db)).slice(-1);
    const token = await first.token('collections-bot');
    await writeProject({});
    await readyzUntil(first, (r) => r.rules.version === startedOn!.id);
    await readyzUntil(second, (r) => r.rules.version === startedOn!.id);
    const refused = await first.graphql(token, COLLECTIONS_QUERY);
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNKNOWN_AGENT');
  });

  it("reads fields' classes for officers from the catalog in force: a column tagged special after a reload reads as special", async () => {
    const before = await readyz(first);
    const answer = await first.graphql(await first.token('support-bot'), '{ customers(limit: 1) { segment } }');
    expect(answer.body.errors).toBeUndefined();
    const { rows } = await t.db.query<{ seq: string }>('SELECT seq::text FROM audit_log WHERE request_id = $1', [answer.requestId]);
    const segment = async () => {
      const reply = await officerQuery(
        (request) => first.broker.fetch(request),
        await first.token('dpo'),
        'query($seq: BigInt!) { auditRecord(seq: $seq) { fields { field classes } } }',
        {
          seq: rows[0]!.seq,
        },
      );
      return (reply.body.data!.auditRecord as { fields: Array<{ field: string; classes: string[] }> }).fields.find((f) => f.field === 'segment')!.classes;
    };
    expect(await segment()).toEqual(['public']);
    await writeProject({
      'schema/catalog.yaml': (text) => text.replace('segment: { type: text, tags: [public]', 'segment: { type: text, tags: [special.health]'),
    });
    await readyzUntil(first, (r) => r.rules.version !== before.rules.version && r.rules.pending.length === 0);
    expect(await segment()).toEqual(['special']);
    await writeProject({});
    await readyzUntil(first, (r) => r.rules.version === before.rules.version);
  });

  it.each([
    ['a YAML syntax error', 'schema/agents.yaml', (text: string) => text.replace('\nagents:\n', '\nagents: [\n')],
    [
      'a view naming a field its table lacks',
      'schema/policies.yaml',
      (text: string) => text.replace('fields: [id, full_name, email, phone,', 'fields: [id, full_name, e_mail, phone,'),
    ],
  ])('keeps the rules in force on %s, shows it on /readyz with file and line, and clears it once fixed', async (_, file, edit) => {
    const before = await readyz(first);
    const phones = (await first.graphql(await first.token('support-bot'), PHONES_QUERY)).body;
    await writeProject({ [file]: edit });
    for (const kh of [first, second]) {
      const refused = await readyzUntil(kh, (r) => r.rules.pending.length > 0);
      expect(refused.status).toBe('ok');
      expect(refused.rules.version).toBe(before.rules.version);
      expect(refused.rules.pending[0]).toMatchObject({ file, line: expect.any(Number) });
      expect(refused.rules.pending[0]!.line).toBeGreaterThan(0);
      expect((await kh.graphql(await kh.token('support-bot'), PHONES_QUERY)).body).toEqual(phones);
    }
    await writeProject({});
    for (const kh of [first, second]) {
      expect((await readyzUntil(kh, (r) => r.rules.pending.length === 0)).rules.version).toBe(before.rules.version);
    }
  });

  it('finishes a request that arrived before a reload under the rules it arrived under; the next one gets the new', async () => {
    const token = await first.token('support-bot');
    const before = await readyz(first);
    // A request whose body is still on its way when the reload lands.
    let sendBody!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        sendBody = () => {
          controller.enqueue(new TextEncoder().encode(JSON.stringify({ query: PHONES_QUERY })));
          controller.close();
        };
      },
    });
    const arrived = first.broker.fetch(
      new Request('http://keyhole.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
        duplex: 'half',
      } as RequestInit),
    );
    await writeProject({ 'masking-rules/customers.yaml': keepLastThree });
    const after = await readyzUntil(first, (r) => r.rules.version !== before.rules.version);
    sendBody();
    const response = await arrived;
    const answer = (await response.json()) as { data: { customers: Array<{ phone: string }> } };
    expect(answer.data.customers.map((c) => c.phone)).toEqual(OLD_PHONES);
    const record = await t.db.query<{ details: { rulesVersion?: number } }>('SELECT details FROM audit_log WHERE request_id = $1', [
      response.headers.get('x-request-id'),
    ]);
    expect(record.rows[0]!.details.rulesVersion).toBe(before.rules.version);
    const next = await first.graphql(token, PHONES_QUERY);
    expect(next.body.data!.customers.map((c: { phone: string }) => c.phone)).toEqual(NEW_PHONES);
    await writeProject({});
    await readyzUntil(first, (r) => r.rules.version === before.rules.version);
    expect(after.rules.version).not.toBe(before.rules.version);
  });

  it('answers every request of a burst during a reload under the old rules or the new, never a mix or an error', async () => {
    const token = await first.token('support-bot');
    const before = await readyz(first);
    const [oldPhones, newPhones] = [OLD_PHONES, NEW_PHONES];
    const answers: Array<{ phones: unknown; requestId?: string; status: number }> = [];
    const burst = async () => {
      const replies = await Promise.all(Array.from({ length: 4 }, () => first.graphql(token, PHONES_QUERY)));
      for (const reply of replies)
        answers.push({ phones: reply.body.data?.customers.map((c: { phone: string }) => c.phone), requestId: reply.requestId, status: reply.status });
    };
    await writeProject({ 'masking-rules/customers.yaml': keepLastThree });
    const changed = readyzUntil(first, (r) => r.rules.version !== before.rules.version);
    let reloaded = false;
    void changed.then(
      () => (reloaded = true),
      () => (reloaded = true),
    );
    while (!reloaded) {
      await burst();
      // Embedded PGlite answers in microtasks only: let the timers (the watcher's debounce) run between bursts.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const after = await changed;
    await burst();

    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(
      answers.map((a) => a.phones).filter((p) => JSON.stringify(p) !== JSON.stringify(oldPhones) && JSON.stringify(p) !== JSON.stringify(newPhones)),
    ).toEqual([]);
    expect(answers[0]!.phones).toEqual(oldPhones);
    expect(answers.at(-1)!.phones).toEqual(newPhones);
    // Each answer's record names the version whose masking it carries.
    const records = await t.db.query<{ request_id: string; details: { rulesVersion?: number } }>(
      'SELECT request_id, details FROM audit_log WHERE request_id = ANY($1)',
      [answers.map((a) => a.requestId)],
    );
    const versionOf = new Map(records.rows.map((row) => [row.request_id, row.details.rulesVersion]));
    for (const answer of answers) {
      expect(versionOf.get(answer.requestId!)).toBe(JSON.stringify(answer.phones) === JSON.stringify(oldPhones) ? before.rules.version : after.rules.version);
    }
    await writeProject({});
    await readyzUntil(first, (r) => r.rules.version === before.rules.version);
  });
});
