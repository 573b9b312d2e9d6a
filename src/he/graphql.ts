import type { CatalogColumn } from '../config/index.ts';
import { refusal } from '../graphql/errors.ts';
import { rowFilterConditions, whereCondition } from '../graphql/read.ts';
import { requestState, type KeyholeContext } from '../graphql/request-state.ts';
import type { ViewSchemaExtension } from '../graphql/schema.ts';
import { describe, fieldTypeName } from '../graphql/type-names.ts';
import { sessionValues, type View, type ViewTable } from '../policy/index.ts';
import { compileSelect, ident, type Queryable, type TableLookup } from '../sql/index.ts';
import { admitPrivacySpend, chargePrivacySpend } from '../dp/admission.ts';
import type { BudgetLedger } from '../dp/ledger.ts';
import { makeDiscreteLaplace } from '../dp/mechanisms.ts';
import { addEncryptedNoise, type BatchInput, encryptedMean, encryptedSum } from './aggregate.ts';
import { encodeResultEnvelope } from './envelope.ts';
import { HeInputError, HeOverflowError } from './errors.ts';
import { BFV_MAX_SAFE_TOTAL, CKKS_MAX_ABS_TOTAL, type HeScheme, assertNoOverflow, ckksErrorBound } from './params.ts';
import { loadPublicMaterial, streamBatches } from './store.ts';

/*
 * The broker's encrypted aggregates: for every view table with `access: encrypted`, one root field
 * `<table>_encrypted(key, aggregate, where)`. The `where` (public columns only) selects row ids with one
 * SQL statement; the stored batches are then multiplied by plaintext 0/1 masks (or public weights) built
 * from those ids and summed under encryption. Only public key material is ever loaded here.
 */

export interface HeAggregateOptions {
  /** Resolves table names to catalog entries (subject paths for jurisdiction filters). */
  lookup: TableLookup;
  /** The privacy budgets, charged when an agent asks for DP noise under encryption. */
  ledger: BudgetLedger | null;
}

type Operation = 'SUM' | 'COUNT' | 'MEAN' | 'WEIGHTED_SUM';

interface WeightsArg {
  by: string;
  weights: Array<{ value: string; weight: number }>;
  otherwise?: number | null;
}

interface AggregateArgs {
  key: string;
  aggregate: { op: Operation; column: string; weights?: WeightsArg | null };
  where?: Record<string, unknown> | null;
  noise?: { epsilon: number } | null;
}

export interface EncryptedAggregateResult {
  key: string;
  scheme: HeScheme;
  operation: Operation;
  column: string;
  rowCount: number;
  result: string | null;
  precision: number;
  largestSafeTotal: bigint;
  epsilonSpent: number | null;
}

const OPERATION_NOTE = {
  SUM: 'the encrypted total',
  MEAN: 'the encrypted total with the row count (the key holder divides)',
  WEIGHTED_SUM: 'the encrypted sum of weight × value, weights chosen by a public field',
  COUNT: 'the number of rows, in plain text (the filter is public)',
} satisfies Record<Operation, string>;


function encryptedTables(view: View): ViewTable[] {
  return [...view.tables.values()].filter((t) => t.policy.access === 'encrypted' && t.policy.encryptedAggregates.length > 0);
}

const SHARED_SDL = `
${describe(`What to compute over an encrypted column: ${Object.entries(OPERATION_NOTE).map(([op, note]) => `${op}: ${note}`).join('; ')}.`)}
enum EncryptedAggregateOp { SUM COUNT MEAN WEIGHTED_SUM }

${describe('A public weight for the rows whose weighting field equals `value` (integers for BFV columns).')}
input EncryptedWeight { value: String! weight: Float! }

${describe('An encrypted aggregate: `result` opens only with the key holder\'s secret key (`keyhole he decrypt --keys DIR RESULT`).')}
type EncryptedAggregate {
  "The registered key the result is encrypted under."
  key: String!
  "bfv (exact integers) or ckks (approximate reals)."
  scheme: String!
  operation: EncryptedAggregateOp!
  column: String!
  "Rows the filter selected among the encrypted rows (with \`noise\`: a differentially private count)."
  rowCount: Int!
  "Base64 ciphertext envelope; null for COUNT, whose answer is rowCount."
  result: String
  "Bound on |decrypted total - exact total|: 0 for BFV (exact), the documented CKKS error bound otherwise."
  precision: Float!
  "The largest |total| the scheme carries exactly; queries that could exceed it are refused (HE_OVERFLOW)."
  largestSafeTotal: BigInt!
  "With \`noise\`: the ε charged to the agent's and the dataset's budgets."
  epsilonSpent: Float
}

${describe('Differential privacy under encryption (BFV SUM or WEIGHTED_SUM): the broker draws discrete Laplace noise for the total (ε/2, sensitivity = one subject\'s largest weighted value), encrypts it with the public key and adds it; the row count gets its own noise (ε/2). The ε is charged to the budgets.')}
input EncryptedNoise { epsilon: Float! }`;

function tableSdl(viewTable: ViewTable): string {
  const type = viewTable.table.graphqlType;
  const name = viewTable.table.name;
  const fields = [...viewTable.fields];
  const whereFields = fields.map(([field, f]) => `  ${field}: ${fieldTypeName(f)}Filter`);
  // Weights are chosen by a public field, so a view without public fields has no WEIGHTED_SUM argument.
  const weights =
    fields.length === 0
      ? ''
      : `enum ${type}WeightField { ${fields.map(([field]) => field).join(' ')} }
${describe('Public weights for WEIGHTED_SUM: each row weighs the weight listed for its `by` value, else `otherwise`.')}
input ${type}EncryptedWeights { by: ${type}WeightField! weights: [EncryptedWeight!]! otherwise: Float = 0 }`;
  return `
enum ${type}EncryptedColumn { ${viewTable.policy.encryptedAggregates.join(' ')} }
${weights}
input ${type}EncryptedAggregate { op: EncryptedAggregateOp! column: ${type}EncryptedColumn!${fields.length === 0 ? '' : ` weights: ${type}EncryptedWeights`} }
${describe('A filter on the public (non-encrypted) columns; it becomes a plaintext 0/1 mask, never a decryption.')}
input ${type}EncryptedWhere {
${whereFields.join('\n')}
  and: [${type}EncryptedWhere!]
  or: [${type}EncryptedWhere!]
  not: ${type}EncryptedWhere
}
extend type Query {
  ${describe(`An aggregate over ${name}'s encrypted columns (${viewTable.policy.encryptedAggregates.join(', ')}) under the registered key \`key\`.`)}
  ${name}_encrypted(key: String!, aggregate: ${type}EncryptedAggregate!, where: ${type}EncryptedWhere, noise: EncryptedNoise): EncryptedAggregate!
}`;
}

/** Largest |value| the catalog declares for a column; encrypted aggregates need it to rule out overflow. */
function declaredMaxAbs(column: CatalogColumn): number {
  if (!column.bounds) {
    throw refusal('HE_OVERFLOW', `Column "${column.name}" declares no bounds, so an encrypted sum over it cannot be proven exact.`);
  }
  return Math.ceil(Math.max(Math.abs(column.bounds[0]), Math.abs(column.bounds[1])));
}

/**
 * The rows the filter selects, as sorted ids with their public weights: a binary search per stored slot
 * is a few times faster than a Map of 10⁶ bigint keys and needs no assumption on the store's order.
 */
class Selection {
  readonly ids: Float64Array;
  /** Absent: every selected row weighs 1. */
  readonly weights: Float64Array | undefined;
  /** Rows with a non-zero weight: the most rows a sum over the store can include. */
  readonly rows: number;
  readonly maxAbsWeight: number;

  constructor(ids: Float64Array, weights: Float64Array | undefined) {
    this.ids = ids;
    this.weights = weights;
    let rows = ids.length;
    let maxAbsWeight = ids.length > 0 ? 1 : 0;
    if (weights) {
      rows = weights.reduce((n, w) => n + (w === 0 ? 0 : 1), 0);
      maxAbsWeight = weights.reduce((max, w) => Math.max(max, Math.abs(w)), 0);
    }
    this.rows = rows;
    this.maxAbsWeight = maxAbsWeight;
  }

  /** The row's weight, 0 when the filter does not select it. */
  weightOf(rowId: bigint): number {
    const id = Number(rowId);
    let low = 0;
    let high = this.ids.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const probe = this.ids[middle]!;
      if (probe === id) return this.weights ? this.weights[middle]! : 1;
      if (probe < id) low = middle + 1;
      else high = middle - 1;
    }
    return 0;
  }
}

interface WeightPlan {
  by: string;
  values: string[];
  /** weights[0] is `otherwise`; weights[i] belongs to values[i - 1] (array_position's numbering). */
  weights: number[];
}

function weightPlan(weights: WeightsArg, scheme: HeScheme): WeightPlan {
  const otherwise = weights.otherwise ?? 0;
  const all = [otherwise, ...weights.weights.map((w) => w.weight)];
  if (all.some((w) => !Number.isFinite(w))) throw refusal('INVALID_ARGUMENT', 'Weights must be finite numbers.');
  if (scheme === 'bfv' && all.some((w) => !Number.isSafeInteger(w))) {
    throw refusal('INVALID_ARGUMENT', 'This column is encrypted with BFV (exact integers): weights must be integers.');
  }
  return { by: weights.by, values: weights.weights.map((w) => w.value), weights: all };
}

const parseIds = (text: string | null): Float64Array => Float64Array.from(text ? text.split(',') : [], Number);

/**
 * The rows the policy's row filter and the agent's `where` select, with their weights, from ONE
 * parameterised statement: the read compiler builds it (row filters, subject jurisdiction, where),
 * the outer query folds it into sorted id and weight-index lists.
 */
async function selectRows(tx: Queryable, viewTable: ViewTable, view: View, lookup: TableLookup, where: AggregateArgs['where'], plan: WeightPlan | null): Promise<Selection> {
  const session = { view, values: sessionValues(view.agent, view.purpose) };
  const conditions = rowFilterConditions(viewTable, session);
  if (where) conditions.push(whereCondition(viewTable, where));
  const primaryKey = viewTable.table.primaryKey;
  const columns = [...new Set([primaryKey, ...(plan ? [plan.by] : [])])];
  const inner = compileSelect(
    // No page: every matching row counts.
    { table: viewTable.table, columns, conditions, orderBy: [], limit: Number.MAX_SAFE_INTEGER, offset: 0, nested: [] },
    lookup,
  );
  const id = `m.${ident(primaryKey)}`;
  const groups = plan ? `, string_agg(coalesce(array_position($${inner.params.length + 1}::text[], m.${ident(plan.by)}::text), 0)::text, ',' ORDER BY ${id}) AS groups` : '';
  const { rows } = await tx.query<{ ids: string | null; groups?: string | null }>(
    `SELECT string_agg(${id}::text, ',' ORDER BY ${id}) AS ids${groups} FROM (${inner.text}) m`,
    plan ? [...inner.params, plan.values] : inner.params,
  );
  const ids = parseIds(rows[0]?.ids ?? null);
  if (!ids.every(Number.isSafeInteger)) throw new HeInputError(`${viewTable.table.name}.${primaryKey} holds ids beyond 2^53`);
  if (!plan) return new Selection(ids, undefined);
  return new Selection(ids, Float64Array.from(parseIds(rows[0]?.groups ?? null), (group) => plan.weights[group]!));
}

/** Refuses a query whose worst case (declared bounds × weights × rows) leaves the scheme's exact range. */
function assertFits(scheme: HeScheme, maxAbsValue: number, maxAbsWeight: number, rows: number): void {
  if (scheme === 'bfv') {
    assertNoOverflow({ maxAbsValue, rows, weightsMaxAbs: Math.ceil(maxAbsWeight) });
    return;
  }
  const worst = maxAbsValue * maxAbsWeight * rows;
  if (worst > CKKS_MAX_ABS_TOTAL) {
    throw new HeOverflowError(`an encrypted CKKS sum of ${rows} rows could reach ${worst}, beyond ±${CKKS_MAX_ABS_TOTAL}`);
  }
}

/** Plain 0/1 masks, or per-slot weights, for each stored batch, counting the rows they select. */
async function* batchInputs(
  batches: AsyncIterable<{ rowIds: bigint[]; ciphertext: Uint8Array }>,
  selection: Selection,
  weighted: boolean,
  selected: { rows: number },
): AsyncGenerator<BatchInput> {
  for await (const batch of batches) {
    const rowCount = batch.rowIds.length;
    const picks = batch.rowIds.map((id) => selection.weightOf(id));
    selected.rows += picks.reduce((n, weight) => n + (weight === 0 ? 0 : 1), 0);
    yield weighted ? { ciphertext: batch.ciphertext, rowCount, weights: picks } : { ciphertext: batch.ciphertext, rowCount, mask: picks };
  }
}

async function storedRowIds(tx: Queryable, table: string, column: string, keyName: string): Promise<bigint[][]> {
  const { rows } = await tx.query<{ row_ids: string }>(
    `SELECT array_to_string(row_ids, ',') AS row_ids FROM he_batches
      WHERE table_name = $1 AND column_name = $2 AND key_name = $3 ORDER BY batch_no`,
    [table, column, keyName],
  );
  return rows.map((row) => (row.row_ids === '' ? [] : row.row_ids.split(',').map(BigInt)));
}

async function resolveAggregate(viewTable: ViewTable, view: View, options: HeAggregateOptions, args: AggregateArgs, context: KeyholeContext) {
  const state = requestState(context.request);
  const tx = state.tx!;
  const { key, aggregate, where } = args;
  const table = viewTable.table.name;
  const column = aggregate.column;
  const details: Record<string, unknown> = { table, column, key, operation: aggregate.op, filter: where ?? null };
  if (aggregate.weights) details.weights = aggregate.weights;
  state.access.operationKind = 'encrypted_aggregate';
  state.access.details.encryptedAggregate = details;

  if ((aggregate.op === 'WEIGHTED_SUM') !== Boolean(aggregate.weights)) {
    throw refusal('INVALID_ARGUMENT', aggregate.op === 'WEIGHTED_SUM' ? 'WEIGHTED_SUM needs `weights`.' : `${aggregate.op} takes no \`weights\`.`);
  }
  const { rows: keys } = await tx.query<{ scheme: HeScheme; fingerprint: string }>('SELECT scheme, fingerprint FROM he_keys WHERE name = $1', [key]);
  const registered = keys[0];
  if (!registered) throw refusal('HE_KEY_UNKNOWN', `No encryption key named ${JSON.stringify(key)} is registered.`);
  details.keyFingerprint = registered.fingerprint;
  details.scheme = registered.scheme;
  const { rows: stored } = await tx.query('SELECT 1 FROM he_batches WHERE table_name = $1 AND column_name = $2 AND key_name = $3 LIMIT 1', [table, column, key]);
  if (stored.length === 0) throw refusal('HE_NOT_ENCRYPTED', `${table}.${column} has not been encrypted under key ${JSON.stringify(key)}.`);

  const scheme = registered.scheme;
  const plan = aggregate.weights ? weightPlan(aggregate.weights, scheme) : null;
  const selection = await selectRows(tx, viewTable, view, options.lookup, where, plan);
  const columnEntry = viewTable.table.columns.get(column)!;
  const answer = (rowCount: number, result: string | null, precision: number): EncryptedAggregateResult => {
    details.rowCount = rowCount;
    state.access.tables.add(table);
    state.access.fields.set(`${table}.${column}`, { table, field: column, mask: aggregate.op === 'COUNT' ? 'count' : `encrypted:${scheme}` });
    state.access.rowCount += rowCount;
    const largestSafeTotal = scheme === 'bfv' ? BFV_MAX_SAFE_TOTAL : BigInt(CKKS_MAX_ABS_TOTAL);
    return { key, scheme, operation: aggregate.op, column, rowCount, result, precision, largestSafeTotal, epsilonSpent: null };
  };

  if (aggregate.op === 'COUNT') {
    const count = (await storedRowIds(tx, table, column, key)).reduce((n, ids) => n + ids.reduce((m, id) => m + (selection.weightOf(id) === 0 ? 0 : 1), 0), 0);
    return answer(count, null, 0);
  }
  const maxAbsValue = declaredMaxAbs(columnEntry);
  try {
    assertFits(scheme, maxAbsValue, selection.maxAbsWeight, selection.rows);
  } catch (error) {
    if (error instanceof HeOverflowError) throw refusal('HE_OVERFLOW', `Refused: ${error.message}. Narrow the filter or the weights.`);
    throw error;
  }
  const noise = args.noise ? await chargeNoise(tx, view, options, args, scheme, BigInt(maxAbsValue) * BigInt(Math.ceil(Math.max(1, selection.maxAbsWeight)))) : null;
  if (noise) {
    state.access.privacyCost = { epsilon: args.noise!.epsilon, delta: 0, mechanism: 'laplace-under-encryption' };
    try {
      assertNoOverflow({ maxAbsValue, rows: selection.rows, weightsMaxAbs: Math.ceil(selection.maxAbsWeight), noiseMaxAbs: Number(noise.sum < 0n ? -noise.sum : noise.sum) });
    } catch (error) {
      if (error instanceof HeOverflowError) throw refusal('HE_OVERFLOW', `Refused: ${error.message}. Narrow the filter or the weights.`);
      throw error;
    }
  }
  const material = await loadPublicMaterial(tx, key);
  const selected = { rows: 0 };
  const inputs = batchInputs(streamBatches(tx, table, column, key), selection, aggregate.op === 'WEIGHTED_SUM', selected);
  const summed = aggregate.op === 'MEAN' ? await encryptedMean(material, inputs) : await encryptedSum(material, inputs);
  const envelope = noise ? addEncryptedNoise(material, summed, noise.sum) : summed;
  const precision = scheme === 'bfv' ? 0 : ckksErrorBound(maxAbsValue * Math.max(1, selection.maxAbsWeight), selected.rows);
  if (!noise) return answer(selected.rows, encodeResultEnvelope(envelope), precision);
  return { ...answer(Math.max(0, selected.rows + Number(noise.count)), encodeResultEnvelope(envelope), precision), epsilonSpent: args.noise!.epsilon };
}

/**
 * DP noise under encryption: refuses what the budgets cannot cover, charges ε (in the request's transaction,
 * with its audit record), and draws the noise for the total (ε/2, sensitivity = one subject's largest
 * weighted value: an employee is one row) and for the row count (ε/2, sensitivity 1).
 */
async function chargeNoise(tx: Queryable, view: View, options: HeAggregateOptions, args: AggregateArgs, scheme: HeScheme, sensitivity: bigint): Promise<{ sum: bigint; count: bigint }> {
  const epsilon = args.noise!.epsilon;
  if (scheme !== 'bfv' || (args.aggregate.op !== 'SUM' && args.aggregate.op !== 'WEIGHTED_SUM')) {
    throw refusal('INVALID_ARGUMENT', 'Noise under encryption is offered for BFV SUM and WEIGHTED_SUM.');
  }
  const ledger = admitPrivacySpend(options.ledger, view.agent.id, epsilon, 0);
  await chargePrivacySpend(ledger, tx, await ledger.lock(tx, view.agent.id, ledger.period()), [{ epsilon, delta: 0 }], epsilon);
  return {
    sum: makeDiscreteLaplace({ sensitivity, epsilon: epsilon / 2 }).release(0n),
    count: makeDiscreteLaplace({ sensitivity: 1, epsilon: epsilon / 2 }).release(0n),
  };
}

/** The encrypted-aggregate stage of a view's schema (see the file comment). */
export function heAggregateExtension(options: HeAggregateOptions): ViewSchemaExtension {
  return {
    name: 'he-aggregates',
    typeDefs(view) {
      const tables = encryptedTables(view);
      if (tables.length === 0) return '';
      return [SHARED_SDL, ...tables.map(tableSdl)].join('\n');
    },
    resolvers(view) {
      const fields: Record<string, unknown> = {};
      for (const viewTable of encryptedTables(view)) {
        fields[`${viewTable.table.name}_encrypted`] = (_: unknown, args: AggregateArgs, context: KeyholeContext) =>
          resolveAggregate(viewTable, view, options, args, context);
      }
      return Object.keys(fields).length === 0 ? {} : { Query: fields };
    },
  };
}
