import { admitPrivacySpend, asPrivacyRefusal, chargeRelease } from '../dp/admission.ts';
import { chain, makeBoundedCount, makeBoundedSum } from '../dp/bounding.ts';
import type { BudgetLedger } from '../dp/ledger.ts';
import { makeDiscreteLaplace } from '../dp/mechanisms.ts';
import { type MaskedEquality, rowSelection, type View, type ViewTable } from '../policy/index.ts';
import { refusal } from '../request/refusals.ts';
import { type EncryptedAggregateAsked, requestState } from '../request/state.ts';
import { compileSelect, ident, type Queryable, SUBJECT_KEY, type TableLookup } from '../sql/index.ts';
import { addEncryptedNoise, type BatchInput, encryptedMean, encryptedSum } from './aggregate.ts';
import { encodeResultEnvelope } from './envelope.ts';
import { HeInputError, HeOverflowError } from './errors.ts';
import { assertEnoughSubjects, assertExactCell } from './exact-answers.ts';
import { BFV_MAX_SAFE_TOTAL, CKKS_MAX_ABS_TOTAL, type HeScheme, assertNoOverflow, ckksErrorBound } from './params.ts';
import { loadPublicMaterial, storedColumn, streamBatches } from './store.ts';

export interface HeAggregateOptions {
  /** Resolves table names to catalog entries (subject paths for jurisdiction filters). */
  lookup: TableLookup;
  /** The privacy budgets, charged when an agent asks for DP noise under encryption. */
  ledger: BudgetLedger | null;
  /** How an agent's equality filter on a masked field is evaluated (the masking stage's). */
  maskedEquality: MaskedEquality;
}

export type EncryptedOperation = 'SUM' | 'COUNT' | 'MEAN' | 'WEIGHTED_SUM';

interface WeightsArg {
  by: string;
  weights: Array<{ value: string; weight: number }>;
  otherwise?: number | null;
}

export interface EncryptedAggregateArgs {
  key: string;
  aggregate: { op: EncryptedOperation; column: string; weights?: WeightsArg | null };
  where?: Record<string, unknown> | null;
  noise?: { epsilon: number } | null;
}

export interface EncryptedAggregateResult {
  key: string;
  scheme: HeScheme;
  operation: EncryptedOperation;
  column: string;
  rowCount: number;
  result: string | null;
  precision: number;
  largestSafeTotal: bigint;
  epsilonSpent: number | null;
}

/** One encrypted aggregate field of a request. */
export interface EncryptedAggregateQuery {
  /** The request it belongs to: its transaction, its access tally and its privacy spend. */
  request: Request;
  view: View;
  viewTable: ViewTable;
  /** The field's response key, naming its release in the request's privacy spend. */
  field: string;
  args: EncryptedAggregateArgs;
}

/**
 * The rows the filter selects, as sorted ids with their public weights: a binary search per stored slot
 * is a few times faster than a Map of 10⁶ bigint keys and needs no assumption on the store's order.
 */
class Selection {
  readonly ids: Float64Array;
  /** Absent: every selected row weighs 1. */
  readonly weights: Float64Array | undefined;
  /** Each selected row's data subject (for exact answers, which count subjects); absent otherwise. */
  readonly subjects: readonly string[] | undefined;

  constructor(ids: Float64Array, weights: Float64Array | undefined, subjects: readonly string[] | undefined) {
    this.ids = ids;
    this.weights = weights;
    this.subjects = subjects;
  }

  /** The row's position among the selected ids, -1 when the filter does not select it. */
  indexOf(rowId: bigint): number {
    const id = Number(rowId);
    let low = 0;
    let high = this.ids.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const probe = this.ids[middle]!;
      if (probe === id) return middle;
      if (probe < id) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** The row's weight, 0 when the filter does not select it. */
  weightOf(rowId: bigint): number {
    const index = this.indexOf(rowId);
    if (index < 0) return 0;
    return this.weights ? this.weights[index]! : 1;
  }
}

/** What an answer covers: the selected rows with a non-zero weight among the stored ones, and their distinct subjects. */
function coverage(storedIds: bigint[][], selection: Selection): { rows: number; subjects: number } {
  let rows = 0;
  const subjects = new Set<string>();
  for (const ids of storedIds) {
    for (const id of ids) {
      const index = selection.indexOf(id);
      if (index < 0 || selection.weights?.[index] === 0) continue;
      rows += 1;
      if (selection.subjects) subjects.add(selection.subjects[index]!);
    }
  }
  return { rows, subjects: selection.subjects ? subjects.size : rows };
}

interface WeightPlan {
  by: string;
  values: string[];
  /** weights[0] is `otherwise`; weights[i] belongs to values[i - 1] (array_position's numbering). */
  weights: number[];
}

/**
 * The largest |weight| the request declares. The overflow guard and the noise's sensitivity use it rather than
 * the weights of the rows selected, which would let a refusal tell whether a heavily weighted row matched.
 */
const maxAbsWeightOf = (plan: WeightPlan | null): number => (plan ? Math.max(...plan.weights.map(Math.abs)) : 1);

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
async function selectRows(
  tx: Queryable,
  viewTable: ViewTable,
  view: View,
  options: HeAggregateOptions,
  where: EncryptedAggregateArgs['where'],
  plan: WeightPlan | null,
  withSubjects: boolean,
): Promise<Selection> {
  const { conditions } = rowSelection(view, viewTable, where, { maskedEquality: options.maskedEquality });
  const primaryKey = viewTable.table.primaryKey;
  const columns = [...new Set([primaryKey, ...(plan ? [plan.by] : [])])];
  const inner = compileSelect(
    // No page: every matching row counts.
    // Rows the view withholds are filtered out here, before anything is counted or summed, and never counted apart.
    { table: viewTable.table, columns, conditions, orderBy: [], limit: Number.MAX_SAFE_INTEGER, offset: 0, nested: [], withheld: viewTable.withheld },
    options.lookup,
  );
  const id = `m.${ident(primaryKey)}`;
  const groups = plan
    ? `, string_agg(coalesce(array_position($${inner.params.length + 1}::text[], m.${ident(plan.by)}::text), 0)::text, ',' ORDER BY ${id}) AS groups`
    : '';
  const subjects = withSubjects ? `, json_agg(m.${ident(SUBJECT_KEY)}::text ORDER BY ${id}) AS subjects` : '';
  const { rows } = await tx.query<{ ids: string | null; groups?: string | null; subjects?: string[] | null }>(
    `SELECT string_agg(${id}::text, ',' ORDER BY ${id}) AS ids${groups}${subjects} FROM (${inner.text}) m`,
    plan ? [...inner.params, plan.values] : inner.params,
  );
  const ids = parseIds(rows[0]?.ids ?? null);
  if (!ids.every(Number.isSafeInteger)) throw new HeInputError(`${viewTable.table.name}.${primaryKey} holds ids beyond 2^53`);
  const subjectIds = withSubjects ? (rows[0]?.subjects ?? []) : undefined;
  if (!plan) return new Selection(ids, undefined, subjectIds);
  return new Selection(
    ids,
    Float64Array.from(parseIds(rows[0]?.groups ?? null), (group) => plan.weights[group]!),
    subjectIds,
  );
}

/** An overflow of the scheme's exact range as the agent's refusal. */
function refuseOverflow(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof HeOverflowError) throw refusal('HE_OVERFLOW', `Refused: ${error.message}. Narrow the filter or the weights.`);
    throw error;
  }
}

/**
 * The share of a total's noise draws that must fit the plain modulus for the request to be answered. The check is
 * on the noise's bound, before drawing: a refusal that depended on the draw would cost nothing and let the agent
 * draw again until the noise fit, so the key holder would only open totals whose noise tail was cut off at the
 * modulus, which ε-DP does not allow.
 */
const NOISE_BOUND_CONFIDENCE = 1 - 1e-12;

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

/** Plain 0/1 masks, or per-slot weights, for each stored batch. */
async function* batchInputs(
  batches: AsyncIterable<{ rowIds: bigint[]; ciphertext: Uint8Array }>,
  selection: Selection,
  weighted: boolean,
): AsyncGenerator<BatchInput> {
  for await (const batch of batches) {
    const rowCount = batch.rowIds.length;
    const picks = batch.rowIds.map((id) => selection.weightOf(id));
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

/**
 * An aggregate over an encrypted column: the `where` (public columns only) selects row ids with one SQL
 * statement; the stored batches are then multiplied by plaintext 0/1 masks (or public weights) built from those
 * ids and summed under encryption. Only public key material is ever loaded here.
 */
export async function answerEncryptedAggregate(options: HeAggregateOptions, query: EncryptedAggregateQuery): Promise<EncryptedAggregateResult> {
  const { request, view, viewTable, field, args } = query;
  const state = requestState(request);
  const tx = state.tx!;
  const { key, aggregate, where } = args;
  const table = viewTable.table.name;
  const column = aggregate.column;
  const details: EncryptedAggregateAsked = { field, table, column, key, operation: aggregate.op, filter: where ?? null };
  if (aggregate.weights) details.weights = aggregate.weights;
  state.access.operationKind = 'encrypted_aggregate';
  state.access.aggregate = true;
  // Each one, not the last: a second alias must not hide what the first summed, under which key and filter.
  state.access.encryptedAggregates.push(details);

  if ((aggregate.op === 'WEIGHTED_SUM') !== Boolean(aggregate.weights)) {
    throw refusal('INVALID_ARGUMENT', aggregate.op === 'WEIGHTED_SUM' ? 'WEIGHTED_SUM needs `weights`.' : `${aggregate.op} takes no \`weights\`.`);
  }
  if (aggregate.op === 'COUNT' && args.noise) {
    throw refusal('INVALID_ARGUMENT', 'COUNT answers in plain text; for a noisy count ask a SUM with `noise`: its rowCount is the noisy count.');
  }
  const exact = args.noise ? undefined : viewTable.policy.exactAnswers;
  if (!args.noise) assertExactCell(exact, where, aggregate.weights?.by);
  const { rows: keys } = await tx.query<{ scheme: HeScheme; fingerprint: string }>('SELECT scheme, fingerprint FROM he_keys WHERE name = $1', [key]);
  const registered = keys[0];
  if (!registered) throw refusal('HE_KEY_UNKNOWN', `No encryption key named ${JSON.stringify(key)} is registered.`);
  details.keyFingerprint = registered.fingerprint;
  details.scheme = registered.scheme;
  const stored = await storedColumn(tx, { table, column, keyName: key });
  if (!stored) throw refusal('HE_NOT_ENCRYPTED', `${table}.${column} has not been encrypted under key ${JSON.stringify(key)}.`);

  const scheme = registered.scheme;
  const plan = aggregate.weights ? weightPlan(aggregate.weights, scheme) : null;
  const selection = await selectRows(tx, viewTable, view, options, where, plan, exact !== undefined);
  const covered = coverage(await storedRowIds(tx, table, column, key), selection);
  // First of the checks that depend on the data, so a small cell's refusal says nothing more (no overflow bit).
  if (exact) assertEnoughSubjects(exact, covered.subjects);
  const answer = (rowCount: number, result: string | null, precision: number): EncryptedAggregateResult => {
    details.rowCount = rowCount;
    state.access.tables.add(table);
    state.access.fields.set(`${table}.${column}`, { table, field: column, mask: aggregate.op === 'COUNT' ? 'count' : `encrypted:${scheme}` });
    state.access.rowCount += rowCount;
    const largestSafeTotal = scheme === 'bfv' ? BFV_MAX_SAFE_TOTAL : BigInt(CKKS_MAX_ABS_TOTAL);
    return { key, scheme, operation: aggregate.op, column, rowCount, result, precision, largestSafeTotal, epsilonSpent: null };
  };

  if (aggregate.op === 'COUNT') return answer(covered.rows, null, 0);
  if (stored.maxAbsValue === undefined) {
    throw refusal(
      'HE_OVERFLOW',
      `Batches of ${table}.${column} were encrypted before Keyhole recorded their bounds, so a sum over them cannot be proven exact; the steward re-encrypts with \`keyhole he encrypt-column --fresh\`.`,
    );
  }
  // The bounds the stored ciphertexts were encrypted under (the widest of any batch), never the catalog's current ones.
  const maxAbsValue = stored.maxAbsValue;
  const maxAbsWeight = maxAbsWeightOf(plan);
  // A noisy answer covers any predicate, so its guard assumes every stored row: a refusal that depended on the
  // rows matched would count them for free. An exact answer is one cell, already past the subject threshold.
  const guardRows = exact ? covered.rows : stored.rows;
  refuseOverflow(() => assertFits(scheme, maxAbsValue, maxAbsWeight, guardRows));
  const noiseFits = (noiseMaxAbs: bigint) =>
    refuseOverflow(() => assertNoOverflow({ maxAbsValue, rows: guardRows, weightsMaxAbs: Math.ceil(maxAbsWeight), noiseMaxAbs }));
  const noise = args.noise
    ? await chargeNoise(tx, request, field, viewTable, view, options, args, scheme, maxAbsValue * Math.ceil(Math.max(1, maxAbsWeight)), noiseFits)
    : null;
  // A draw past the bound chargeNoise checked (a chance of 1 - NOISE_BOUND_CONFIDENCE) is refused, not wrapped around.
  if (noise) noiseFits(noise.sum < 0n ? -noise.sum : noise.sum);
  const material = await loadPublicMaterial(tx, key);
  const inputs = batchInputs(streamBatches(tx, table, column, key), selection, aggregate.op === 'WEIGHTED_SUM');
  const summed = aggregate.op === 'MEAN' ? await encryptedMean(material, inputs) : await encryptedSum(material, inputs);
  const envelope = noise ? addEncryptedNoise(material, summed, noise.sum) : summed;
  const precision = scheme === 'bfv' ? 0 : ckksErrorBound(maxAbsValue * Math.max(1, maxAbsWeight), covered.rows);
  if (!noise) return answer(covered.rows, encodeResultEnvelope(envelope), precision);
  return { ...answer(Math.max(0, covered.rows + Number(noise.count)), encodeResultEnvelope(envelope), precision), epsilonSpent: args.noise!.epsilon };
}

/**
 * DP noise under encryption: adds ε to the request's privacy spend (refused when the request's total does not
 * fit the budgets; charged with the audit record), and draws the noise for the total (ε/2) and for the row count (ε/2),
 * each calibrated by the bounding stage the DP aggregates use: an employee is one row (k = 1), whose weighted value lies
 * within ±`largestWeighted`. `noiseFits` refuses, before the draw, noise whose bound would not fit the total.
 */
async function chargeNoise(
  tx: Queryable,
  request: Request,
  field: string,
  viewTable: ViewTable,
  view: View,
  options: HeAggregateOptions,
  args: EncryptedAggregateArgs,
  scheme: HeScheme,
  largestWeighted: number,
  noiseFits: (noiseMaxAbs: bigint) => void,
): Promise<{ sum: bigint; count: bigint }> {
  const epsilon = args.noise!.epsilon;
  if (scheme !== 'bfv' || (args.aggregate.op !== 'SUM' && args.aggregate.op !== 'WEIGHTED_SUM')) {
    throw refusal('INVALID_ARGUMENT', 'Noise under encryption is offered for BFV SUM and WEIGHTED_SUM.');
  }
  const spend = admitPrivacySpend(options.ledger, request, view.agent.id, epsilon, 0);
  const release = {
    field,
    table: viewTable.table.name,
    mechanism: 'laplace-under-encryption',
    epsilon,
    delta: 0,
    rho: null,
    costs: [{ epsilon, delta: 0 }],
    replayed: false,
  };
  const laplace = (sensitivity: bigint) => makeDiscreteLaplace({ sensitivity, epsilon: epsilon / 2 });
  const mechanisms = asPrivacyRefusal(() => ({
    sum: chain(makeBoundedSum({ k: 1, bounds: [-largestWeighted, largestWeighted], precision: 0 }), laplace),
    count: chain(makeBoundedCount({ k: 1 }), laplace),
  }));
  noiseFits(BigInt(mechanisms.sum.noise.halfWidth(NOISE_BOUND_CONFIDENCE)));
  const noise = { sum: mechanisms.sum.release(0n), count: mechanisms.count.release(0n) };
  await chargeRelease(spend, tx, release);
  return noise;
}
