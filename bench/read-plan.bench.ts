/**
 * Read plans (issue 12): what a root list field's resolver spends on a request besides its statement and its rows.
 * Planned afresh — planRead, compileSelect, the withholding, approval and lookup entries — against a view's plan
 * cache hit; then shaping a page of rows with the plan's precomputed audit entries, the per-request work left. No
 * database: the resolver's arguments and info come from graphql-js executing the document against the view's
 * schema, and the rows are made up in the shape the statement returns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execute, type GraphQLResolveInfo, type GraphQLSchema, parse, validate } from 'graphql';
import { loadBrokerSetup } from '../src/broker.ts';
import { withheldJurisdictions } from '../src/compliance/index.ts';
import { ViewSchemaCache } from '../src/graphql/index.ts';
import type { ReadArgs, RowShape } from '../src/graphql/read.ts';
import { shapeRows } from '../src/graphql/read.ts';
import { makeReadPlan, ReadPlanCache } from '../src/graphql/read-plans.ts';
import type { AgentPrincipal } from '../src/identity/index.ts';
import { newAccessTally } from '../src/request/state.ts';
import { JURISDICTION_KEY, SUBJECT_KEY } from '../src/sql/index.ts';
import { projectWith } from '../test/support/project.ts';
import { median } from './support/stats.ts';

const CHUNKS = 10;
const PER_CHUNK = 2_000;

/** support-bot's policy with transactions too, so that one view reaches customers → accounts → transactions. */
const supportWithTransactions = {
  'schema/policies.yaml': (text: string) =>
    text.replace(
      '        fields: [id, customer_id, kind, currency, opened_on]\n        maxLimit: 50\n',
      '        fields: [id, customer_id, kind, currency, opened_on]\n        maxLimit: 50\n' +
        '      transactions:\n        access: rows\n        fields: [id, account_id, amount, merchant_category, occurred_at]\n        maxLimit: 50\n',
    ),
};

const CASES = [
  {
    label: "support-bot's 50-row masked page",
    table: 'customers',
    query: '{ customers(limit: 50) { id full_name email phone postal_code city residency segment created_at } }',
  },
  {
    label: 'customers → accounts → transactions (10 × 5 × 5)',
    table: 'customers',
    query:
      '{ customers(limit: 10) { id full_name email accounts(limit: 5) { id kind currency transactions(limit: 5) { id amount merchant_category occurred_at } } } }',
  },
] as const;

const JURISDICTIONS = ['SG', 'EU-DE', 'EU-FR', 'JP', 'AU', 'IN'];

/** A made-up value of a column, of the kind its masks expect. */
function madeUpValue(column: string, n: number): unknown {
  switch (column) {
    case 'email':
      return `person${n}@example.com`;
    case 'phone':
      return `+65 9${String(n).padStart(3, '0')} 4567`;
    case 'postal_code':
      return String(238800 + n);
    case 'full_name':
      return `Person ${n}`;
    case 'created_at':
    case 'occurred_at':
      return '2025-06-01T10:00:00Z';
    case 'amount':
      return `${n}.50`;
    default:
      return n;
  }
}

/** `count` raw rows as the statement returns them for `shape`, each nested list `count`-long too (to one-deep `per`). */
function rowsFor(shape: RowShape, count: number, per: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, n) => {
    const row: Record<string, unknown> = { [SUBJECT_KEY]: n + 1, [JURISDICTION_KEY]: JURISDICTIONS[n % JURISDICTIONS.length] };
    for (const { name } of shape.columns) row[name] = madeUpValue(name, n);
    for (const nested of shape.nested) row[nested.key] = nested.kind === 'one' ? rowsFor(nested.shape, 1, per)[0] : rowsFor(nested.shape, per, per);
    return row;
  });
}

/** The arguments and info graphql-js gives the root field's resolver for `query`. */
function resolverInputs(schema: GraphQLSchema, table: string, query: string): { args: ReadArgs; info: GraphQLResolveInfo } {
  const field = schema.getQueryType()!.getFields()[table]!;
  const resolve = field.resolve;
  let seen: { args: ReadArgs; info: GraphQLResolveInfo } | undefined;
  field.resolve = (_source, args, _context, info) => {
    seen = { args: args as ReadArgs, info };
    return [];
  };
  const document = parse(query);
  const errors = validate(schema, document);
  if (errors.length > 0) throw new Error(`${query} is not valid in this view: ${errors.map((e) => e.message).join('; ')}`);
  try {
    execute({ schema, document });
  } finally {
    field.resolve = resolve;
  }
  if (!seen) throw new Error(`${table} was not resolved by ${query}`);
  return seen;
}

/** Microseconds per call of `fn`: the median of CHUNKS chunks, after one chunk of warm-up. */
function microseconds(fn: () => unknown): number {
  let sink = 0;
  const chunks: number[] = [];
  for (let chunk = -1; chunk < CHUNKS; chunk++) {
    const started = performance.now();
    for (let i = 0; i < PER_CHUNK; i++) sink += fn() === undefined ? 0 : 1;
    if (chunk >= 0) chunks.push(((performance.now() - started) * 1000) / PER_CHUNK);
  }
  if (sink < 0) throw new Error('unreachable: keeps the results alive');
  return median(chunks);
}

const us = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

export default async function readPlanBench(): Promise<string> {
  const root = await projectWith(supportWithTransactions);
  const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-bench-plans-'));
  try {
    const { config, secrets, masking, jurisdictions } = await loadBrokerSetup(root, dataDir, {});
    const views = new ViewSchemaCache({
      config,
      subjectKey: secrets.subjectKey,
      decider: masking.decider,
      withhold: (agent, classes) => withheldJurisdictions(agent, jurisdictions, classes),
    });
    const agent = config.registry.agents.get('support-bot')!;
    const principal: AgentPrincipal = {
      kind: 'agent',
      id: agent.id,
      agent,
      purpose: 'customer_service',
      tokenId: 'bench',
      expiresAt: new Date(Date.now() + 3_600_000),
    };
    const { view, schema } = views.get(principal);
    const lookup = (name: string) => config.catalog.tables.get(name)!;
    const loadBefore = loadavg()[0] ?? 0;
    const lines = CASES.map(({ label, table, query }) => {
      const { args, info } = resolverInputs(schema, table, query);
      const viewTable = view.tables.get(table)!;
      const plan = () => makeReadPlan(view, viewTable, args, info, lookup);
      const cache = new ReadPlanCache();
      const planned = plan();
      const rows = rowsFor(planned.shape, (args.limit as number | undefined) ?? 20, 5);
      const afresh = microseconds(plan);
      const cached = microseconds(() => cache.planFor(info, plan));
      const shaping = microseconds(() => shapeRows(rows, planned.shape, newAccessTally(), secrets.subjectKey));
      return `| ${label} | ${planned.statement.params.length} | ${us(afresh)} | ${us(cached)} | ${(afresh / cached).toFixed(0)}× | ${us(shaping)} |`;
    });
    const load = `load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after, on ${availableParallelism()} cores`;
    return [
      '## Read plans: planning a read afresh vs a cached plan (one core, no database)',
      '',
      `µs per request, the median of ${CHUNKS} chunks of ${PER_CHUNK.toLocaleString('en-US')} (${load}). Shaping masks the made-up rows and fills the access tally; it runs on every request either way.`,
      '',
      '| read | parameters | planned afresh (µs) | cached plan (µs) | saved | shaping the rows (µs) |',
      '|---|---:|---:|---:|---:|---:|',
      ...lines,
      '',
    ].join('\n');
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
}
