import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideZoneChangeAudited, ZoneChangeNotPendingError } from '../../src/agent-controls/zones/index.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { keyholeCli } from '../support/cli.ts';
import { createPostgresTestDatabase, ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld, WORLD } from '../support/fixtures.ts';
import { projectWith } from '../support/project.ts';
import { officerQuery } from './officer-fixtures.ts';

const SUPPORT_DESK = `    serves: [SG, AU, JP, IN, CN, EU-DE, EU-FR]
    transferBases:
      EU-DE: [standard_contractual_clauses]
      EU-FR: [standard_contractual_clauses]
      AU: [contractual_safeguards]
      JP: [consent]
      IN: [contract]`;

/** Three agents new to the database: two declared in the sandbox, one asking for production. */
const TRIAL_AGENTS = `  sandbox-bot:
    description: A customer-service assistant on trial.
    role: support
    purposes: [customer_service]
    location: SG
    zone: sandbox
${SUPPORT_DESK}
  sandbox-analyst:
    description: A statistics assistant on trial.
    role: analytics
    purposes: [analytics]
    location: US-CA
    zone: sandbox
  payroll-bot:
    description: A new payroll assistant.
    role: fraud
    purposes: [payroll_analytics]
    location: EU-DE
    zone: production

officers:`;

const trialProject = (sandboxBotZone: 'sandbox' | 'production') =>
  projectWith({
    'schema/agents.yaml': (text) => text.replace('\nofficers:', `\n${TRIAL_AGENTS.replace('    zone: sandbox\n', `    zone: ${sandboxBotZone}\n`)}`),
    'schema/policies.yaml': (text) =>
      text.replace(
        '    fraud-bot: { epsilon: 5, delta: 0, maxEpsilonPerQuery: 1 }\n',
        '    fraud-bot: { epsilon: 5, delta: 0, maxEpsilonPerQuery: 1 }\n    sandbox-analyst: { epsilon: 20, delta: 1.0e-6, maxEpsilonPerQuery: 2 }\n',
      ),
  });

/** Every field and input field name of every type an agent's introspection shows. */
const INTROSPECTION = '{ __schema { types { name fields { name } inputFields { name } } } }';
type IntrospectedType = { name: string; fields: Array<{ name: string }> | null; inputFields: Array<{ name: string }> | null };
const fieldsOf = (types: IntrospectedType[], name: string) => types.find((type) => type.name === name)?.fields?.map((field) => field.name) ?? [];
const everyName = (types: IntrospectedType[]) => types.flatMap((type) => [...(type.fields ?? []), ...(type.inputFields ?? [])].map((field) => field.name));

describe.each(ENGINES)('security zones on $engine', ({ create }) => {
  let t: TestDatabase;
  /** The shipped project: the first start over the database. */
  let shipped: TestBroker;
  /** The project with the trial agents, sandbox-bot declared in the sandbox. */
  let trial: TestBroker;
  const roots: string[] = [];
  const code = (reply: { body: { errors?: Array<{ extensions?: Record<string, any> }> } }) => reply.body.errors?.[0]?.extensions?.code;
  const zoneRows = async () =>
    (
      await t.db.query<Record<string, unknown>>(
        'SELECT agent_id, zone, approved_by, requested_zone, request_status, decided_by FROM agent_zones ORDER BY agent_id',
      )
    ).rows;
  const zoneRecords = async () =>
    (
      await t.db.query<{ actor_kind: string; actor_id: string | null; operation_kind: string; decision: string; details: Record<string, unknown> }>(
        "SELECT actor_kind, actor_id, operation_kind, decision, details FROM audit_log WHERE operation_kind LIKE 'zone%' ORDER BY seq",
      )
    ).rows;
  const trialBroker = async (sandboxBotZone: 'sandbox' | 'production') => {
    const root = await trialProject(sandboxBotZone);
    roots.push(root);
    // The same data dir: the same keys, so both write one audit chain and accept each other's tokens.
    return startTestBroker(t.db, { root, dataDir: shipped.dataDir });
  };

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    shipped = await startTestBroker(t.db);
    trial = await trialBroker('sandbox');
  });
  afterAll(async () => {
    await trial?.close();
    await shipped?.close();
    await t?.drop();
    await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
  });

  it('adopts the zones of agents.yaml on the first start, and puts a new agent in the sandbox until its move is approved', async () => {
    const adopted = { zone: 'production', approved_by: 'operator', requested_zone: null, request_status: null, decided_by: null };
    expect(await zoneRows()).toEqual([
      { agent_id: 'analytics-bot', ...adopted },
      { agent_id: 'fraud-bot', ...adopted },
      { agent_id: 'kyc-bot', ...adopted },
      { agent_id: 'payroll-bot', zone: 'sandbox', approved_by: null, requested_zone: 'production', request_status: 'pending', decided_by: null },
      { agent_id: 'sandbox-analyst', zone: 'sandbox', approved_by: null, requested_zone: null, request_status: null, decided_by: null },
      { agent_id: 'sandbox-bot', zone: 'sandbox', approved_by: null, requested_zone: null, request_status: null, decided_by: null },
      { agent_id: 'support-bot', ...adopted },
    ]);
    // Adopting is no move: only the new agent's request is in the log.
    expect(await zoneRecords()).toEqual([
      {
        actor_kind: 'cli',
        actor_id: null,
        operation_kind: 'zone_change_request',
        decision: 'pending_approval',
        details: { agent: 'payroll-bot', zoneInForce: 'sandbox', requestedZone: 'production', askedBy: 'schema/agents.yaml' },
      },
    ]);
    const support = await trial.graphql(await trial.token('support-bot'), '{ customers(limit: 1) { id full_name } }');
    expect(support.body.data!.customers).toEqual([{ id: 1, full_name: 'Tan Wei Ling' }]);
  });

  it('shows a sandbox agent no clear personal field: absent from introspection and refused when asked for', async () => {
    const sandbox = await trial.token('sandbox-bot');
    const types = (await trial.graphql(sandbox, INTROSPECTION)).body.data!.__schema.types as IntrospectedType[];
    const supportTypes = (await trial.graphql(await trial.token('support-bot'), INTROSPECTION)).body.data!.__schema.types as IntrospectedType[];
    // support-bot's role shows name, city and customer number clear; the same role in the sandbox shows only what is masked.
    expect(fieldsOf(supportTypes, 'Customer')).toEqual(expect.arrayContaining(['id', 'full_name', 'city', 'email', 'phone', 'postal_code']));
    expect(fieldsOf(types, 'Customer')).toEqual(expect.arrayContaining(['email', 'phone', 'postal_code', 'residency', 'segment']));
    expect(fieldsOf(types, 'Account')).not.toContain('customer_id');
    for (const hidden of ['full_name', 'city', 'id']) expect(fieldsOf(types, 'Customer')).not.toContain(hidden);
    for (const hidden of ['full_name', 'city']) expect(everyName(types)).not.toContain(hidden);

    for (const query of ['{ customers { full_name } }', '{ customers { id } }', '{ customers(where: { city: { eq: "Berlin" } }) { email } }']) {
      const reply = await trial.graphql(sandbox, query);
      expect(reply.status).toBe(400);
      expect(code(reply)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(JSON.stringify(reply.body)).not.toMatch(/Did you mean/);
    }
    const masked = await trial.graphql(sandbox, '{ customers(limit: 10) { email phone } }');
    expect(masked.status).toBe(200);
    const shown = JSON.stringify(masked.body.data);
    for (const [, , email, phone] of WORLD.customers) {
      expect(shown).not.toContain(email);
      expect(shown).not.toContain(phone);
    }
    // Pages are capped at the zone's maxLimit (10) where the policy allows 50.
    expect(code(await trial.graphql(sandbox, '{ customers(limit: 11) { email } }'))).toBe('LIMIT_EXCEEDED');
  });

  it('gives a sandbox agent no encrypted aggregates', async () => {
    const rootFields = '{ __schema { queryType { fields { name } } } }';
    const fraud = await trial.token('fraud-bot', 'payroll_analytics');
    const production = (await trial.graphql(fraud, rootFields)).body.data!.__schema.queryType.fields.map((f: { name: string }) => f.name);
    expect(production).toContain('employees_encrypted');
    // payroll-bot has fraud-bot's role and purpose, and waits in the sandbox for its move to production.
    const payroll = await trial.token('payroll-bot');
    const sandboxed = (await trial.graphql(payroll, rootFields)).body.data!.__schema.queryType.fields.map((f: { name: string }) => f.name);
    expect(sandboxed).not.toContain('employees_encrypted');
    const asked = await trial.graphql(payroll, '{ employees_encrypted(key: "k", aggregate: { op: COUNT }) { rowCount } }');
    expect(code(asked)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it("caps a sandbox agent's ε per query and per period below its declared budget", async () => {
    const analyst = await trial.token('sandbox-analyst');
    // Declared: 2 per query; the sandbox allows 0.1.
    const over = await trial.graphql(analyst, '{ customers_aggregate(epsilon: 0.5) { groups { count { value } } } }');
    expect(code(over)).toBe('PRIVACY_LIMIT_EXCEEDED');
    expect(over.body.errors![0]!.message).toMatch(/ε ≤ 0\.1\b/);
    const within = await trial.graphql(analyst, '{ customers_aggregate(epsilon: 0.1) { groups { count { value } } } }');
    expect(within.status).toBe(200);
    // Declared: 20 per period; the ledger checks the spend against the sandbox's 1.
    const { rows } = await t.db.query<{ epsilon_limit: number }>("SELECT epsilon_limit FROM dp_budget WHERE scope = 'agent:sandbox-analyst'");
    expect(rows.map((row) => Number(row.epsilon_limit))).toEqual([1]);
  });

  it('moves an agent to production only once an officer approves, and audits both steps', async () => {
    const promoted = await trialBroker('production');
    try {
      const sandboxBot = await promoted.token('sandbox-bot');
      const nameQuery = '{ customers(limit: 1) { full_name } }';
      // The file asks for production: nothing changes yet, and a request waits for an officer.
      expect(code(await promoted.graphql(sandboxBot, nameQuery))).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await zoneRows()).find((row) => row.agent_id === 'sandbox-bot')).toMatchObject({
        zone: 'sandbox',
        requested_zone: 'production',
        request_status: 'pending',
      });
      expect((await zoneRecords()).at(-1)).toMatchObject({
        operation_kind: 'zone_change_request',
        decision: 'pending_approval',
        details: { agent: 'sandbox-bot', zoneInForce: 'sandbox', requestedZone: 'production' },
      });

      const dpo = await promoted.token('dpo');
      const officer = (query: string) => officerQuery((request) => promoted.broker.fetch(request), dpo, query);
      const listed = await officer('{ agentZones { agent asked inForce servedIn requestedZone requestStatus } }');
      expect(listed.body.data!.agentZones).toContainEqual({
        agent: 'sandbox-bot',
        asked: 'production',
        inForce: 'sandbox',
        servedIn: 'sandbox',
        requestedZone: 'production',
        requestStatus: 'pending',
      });
      const approved = await officer(
        'mutation { decideZoneChange(agent: "sandbox-bot", approve: true, reason: "trial passed") { agent inForce servedIn requestStatus approvedBy reason } }',
      );
      expect(approved.body.data!.decideZoneChange).toEqual({
        agent: 'sandbox-bot',
        inForce: 'production',
        servedIn: 'production',
        requestStatus: null,
        approvedBy: 'dpo',
        reason: 'trial passed',
      });
      const { rows } = await t.db.query<{ actor_kind: string; actor_id: string; decision: string; details: { officerQueries: unknown[] } }>(
        "SELECT actor_kind, actor_id, decision, details FROM audit_log WHERE actor_kind = 'officer' ORDER BY seq DESC LIMIT 1",
      );
      expect(rows[0]).toMatchObject({
        actor_id: 'dpo',
        decision: 'allowed',
        details: { officerQueries: [{ field: 'decideZoneChange', args: { agent: 'sandbox-bot', approve: true, reason: 'trial passed' } }] },
      });

      // The broker that asked sees the approval at its next look at the database; its view is production's.
      await expect
        .poll(async () => (await promoted.graphql(sandboxBot, nameQuery)).body.data?.customers, { timeout: 5000, interval: 100 })
        .toEqual([{ full_name: 'Tan Wei Ling' }]);
      expect((await promoted.graphql(sandboxBot, '{ customers(limit: 50) { id } }')).status).toBe(200);
      // A broker whose file still asks for the sandbox keeps it there: the stricter zone wins.
      expect(code(await trial.graphql(sandboxBot, nameQuery))).toBe('GRAPHQL_VALIDATION_FAILED');
      // Nothing is left to decide.
      expect(code(await officer('mutation { decideZoneChange(agent: "sandbox-bot", approve: true) { agent } }'))).toBe('INVALID_ARGUMENT');
    } finally {
      await promoted.close();
    }
  });

  it('keeps a denied move denied, audited, until agents.yaml asks again', async () => {
    const denied = await decideZoneChangeAudited(
      t.db,
      shipped.broker.secrets.auditKey,
      'payroll-bot',
      { approve: false, by: 'dpo', reason: 'not yet' },
      { kind: 'cli', id: 'dpo' },
    );
    expect(denied).toMatchObject({ zone: 'sandbox', request: { zone: 'production', status: 'denied' }, decidedBy: 'dpo', reason: 'not yet' });
    expect((await zoneRecords()).at(-1)).toEqual({
      actor_kind: 'cli',
      actor_id: 'dpo',
      operation_kind: 'zone_change_decision',
      decision: 'allowed',
      details: { agent: 'payroll-bot', approved: false, zoneBefore: 'sandbox', requestedZone: 'production', zoneInForce: 'sandbox', reason: 'not yet' },
    });
    // A broker starting with the same files opens nothing again (sandbox-bot's production is in force by now).
    const before = (await zoneRecords()).length;
    const restarted = await trialBroker('production');
    await restarted.close();
    expect(await zoneRecords()).toHaveLength(before);
    await expect(
      decideZoneChangeAudited(t.db, shipped.broker.secrets.auditKey, 'payroll-bot', { approve: true, by: 'dpo', reason: null }, { kind: 'cli', id: 'dpo' }),
    ).rejects.toBeInstanceOf(ZoneChangeNotPendingError);
  });

  it('applies a move to the stricter zone at once, and asks an officer to record it', async () => {
    const demoted = await trialBroker('sandbox');
    try {
      expect(code(await demoted.graphql(await demoted.token('sandbox-bot'), '{ customers(limit: 1) { full_name } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await zoneRows()).find((row) => row.agent_id === 'sandbox-bot')).toMatchObject({
        zone: 'production',
        requested_zone: 'sandbox',
        request_status: 'pending',
      });
      expect((await zoneRecords()).at(-1)).toMatchObject({
        operation_kind: 'zone_change_request',
        details: { agent: 'sandbox-bot', zoneInForce: 'production', requestedZone: 'sandbox' },
      });
    } finally {
      await demoted.close();
    }
  });
});

describe('keyhole agents zone (CLI, real PostgreSQL)', () => {
  it('lists the zones with the request agents.yaml makes, approves it with an audit record, and refuses to decide twice', async () => {
    const t = await createPostgresTestDatabase();
    const root = await trialProject('sandbox');
    try {
      await loadWorld(t.db);
      const kh = await startTestBroker(t.db);
      try {
        const keyhole = keyholeCli({ ...process.env, DATABASE_URL: t.url!, KEYHOLE_DATA_DIR: kh.dataDir, KEYHOLE_ROOT: root });
        // The broker started with the shipped files; the CLI reads the trial ones, and opens payroll-bot's request.
        const listed = (await keyhole('agents', 'zone', 'list')).stdout;
        expect(listed).toMatch(/payroll-bot\W+production\W+sandbox\W+sandbox\W+│\W+production pending since/);
        expect(listed).toMatch(/support-bot\W+production\W+production\W+production\W+\S+ by operator/);
        const approved = (await keyhole('agents', 'zone', 'approve', 'payroll-bot', '--by', 'dpo', '--reason', 'payroll launch')).stdout;
        expect(approved).toMatch(/payroll-bot\W+production\W+production\W+production\W+\S+ by dpo/);
        const { rows } = await t.db.query<{ actor_id: string | null; operation_kind: string; details: Record<string, unknown> }>(
          "SELECT actor_id, operation_kind, details FROM audit_log WHERE operation_kind LIKE 'zone%' ORDER BY seq",
        );
        expect(rows).toEqual([
          { actor_id: null, operation_kind: 'zone_change_request', details: expect.objectContaining({ agent: 'payroll-bot', requestedZone: 'production' }) },
          {
            actor_id: 'dpo',
            operation_kind: 'zone_change_decision',
            details: {
              agent: 'payroll-bot',
              approved: true,
              zoneBefore: 'sandbox',
              requestedZone: 'production',
              zoneInForce: 'production',
              reason: 'payroll launch',
            },
          },
        ]);
        const again = await keyhole('agents', 'zone', 'deny', 'payroll-bot', '--reason', 'too late').catch((error: { code: number; stderr: string }) => error);
        expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('no zone change of "payroll-bot" is waiting for a decision') });
      } finally {
        await kh.close();
      }
    } finally {
      await t.drop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
