import type { GraphQLResolveInfo } from 'graphql';
import { answerEncryptedAggregate, type EncryptedAggregateArgs, type EncryptedOperation, type HeAggregateOptions } from '../../he/encrypted-query.ts';
import { maskedEqualityCondition } from '../../masking/index.ts';
import type { View, ViewTable } from '../../policy/index.ts';
import type { KeyholeContext } from '../../request/state.ts';
import { whereInputSdl } from '../filter-inputs.ts';
import type { ViewSchemaExtension } from '../schema.ts';
import { describe } from '../type-names.ts';
import { inSpan } from '../../ops/trace-spans.ts';

/** The HE stage's options; masked-field filters are evaluated by the masking stage. */
export type HeExtensionOptions = Omit<HeAggregateOptions, 'maskedEquality'>;

const OPERATION_NOTE = {
  SUM: 'the encrypted total',
  MEAN: 'the encrypted total with the row count (the key holder divides)',
  WEIGHTED_SUM: 'the encrypted sum of weight × value, weights chosen by a public field',
  COUNT: 'the number of rows, in plain text (the filter is public)',
} satisfies Record<EncryptedOperation, string>;

function encryptedTables(view: View): ViewTable[] {
  return [...view.tables.values()].filter((t) => t.policy.access === 'encrypted' && t.policy.encryptedAggregates.length > 0);
}

const SHARED_SDL = `
${describe(
  `What to compute over an encrypted column: ${Object.entries(OPERATION_NOTE)
    .map(([op, note]) => `${op}: ${note}`)
    .join('; ')}.`,
)}
enum EncryptedAggregateOp { SUM COUNT MEAN WEIGHTED_SUM }

${describe('A public weight for the rows whose weighting field equals `value` (integers for BFV columns).')}
input EncryptedWeight { value: String! weight: Float! }

${describe("An encrypted aggregate: `result` opens only with the key holder's secret key (`keyhole he decrypt --keys DIR RESULT`).")}
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

${describe("Differential privacy under encryption (BFV SUM or WEIGHTED_SUM): the broker draws discrete Laplace noise for the total (ε/2, sensitivity = one subject's largest weighted value), encrypts it with the public key and adds it; the row count gets its own noise (ε/2). The ε is charged to the budgets.")}
input EncryptedNoise { epsilon: Float! }`;

function exactNote(viewTable: ViewTable): string {
  const exact = viewTable.policy.exactAnswers;
  if (!exact) return ' Every answer needs `noise`.';
  return ` Without \`noise\`, only one cell { ${exact.partitionBy.map((column) => `${column}: { eq }`).join(', ')} } holding at least ${exact.minSubjects} data subjects is answered.`;
}

function tableSdl(viewTable: ViewTable): string {
  const type = viewTable.table.graphqlType;
  const name = viewTable.table.name;
  // A weight is chosen by comparing a row's value with the listed ones: only by a field the agent may compare with
  // any value, so a view without one has no WEIGHTED_SUM argument.
  const fields = [...viewTable.fields].filter(([, f]) => f.filter === 'all');
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
${describe(`A filter on the public (non-encrypted) columns; it becomes a plaintext 0/1 mask, never a decryption.${exactNote(viewTable)}`)}
${whereInputSdl(`${type}EncryptedWhere`, viewTable)}
extend type Query {
  ${describe(`An aggregate over ${name}'s encrypted columns (${viewTable.policy.encryptedAggregates.join(', ')}) under the registered key \`key\`.`)}
  ${name}_encrypted(key: String!, aggregate: ${type}EncryptedAggregate!, where: ${type}EncryptedWhere, noise: EncryptedNoise): EncryptedAggregate!
}`;
}

/**
 * The agents' encrypted aggregates: for every view table with `access: encrypted`, one root field
 * `<table>_encrypted(key, aggregate, where)`, answered by the HE stage (answerEncryptedAggregate).
 */
export function heAggregateExtension(options: HeExtensionOptions): ViewSchemaExtension {
  const stage = { ...options, maskedEquality: maskedEqualityCondition };
  return {
    // An answer with `noise` charges the privacy budgets, and which ones ask for it is known only when they run.
    writesState: true,
    typeDefs(view) {
      const tables = encryptedTables(view);
      if (tables.length === 0) return '';
      return [SHARED_SDL, ...tables.map(tableSdl)].join('\n');
    },
    resolvers(view) {
      const fields: Record<string, unknown> = {};
      for (const viewTable of encryptedTables(view)) {
        fields[`${viewTable.table.name}_encrypted`] = (_: unknown, args: EncryptedAggregateArgs, context: KeyholeContext, info: GraphQLResolveInfo) =>
          inSpan('keyhole.he', () => answerEncryptedAggregate(stage, { request: context.request, view, viewTable, field: String(info.path.key), args }));
      }
      return Object.keys(fields).length === 0 ? {} : { Query: fields };
    },
  };
}
