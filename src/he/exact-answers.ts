import type { ExactAnswers } from '../config/index.ts';
import { refusal } from '../request/refusals.ts';

/*
 * Exact (noise-free) encrypted answers. The key holder is a person too: an exact total over one data subject is
 * that subject's value, and the difference of two exact totals over overlapping rows is the value of the rows in
 * one but not the other. So an exact answer covers exactly one cell of a partition the policy declares (cells
 * are disjoint, so no difference of cells isolates anyone a cell does not) and is given only when the cell holds
 * enough data subjects. Everything else needs DP noise.
 */

const noisy = 'ask with noise: { epsilon } instead';

/** `{ eq: value }` and nothing else: ranges, lists and negations select other sets than one cell. */
function isEquality(filter: unknown): boolean {
  if (typeof filter !== 'object' || filter === null) return false;
  const operators = Object.entries(filter).filter(([, operand]) => operand !== null && operand !== undefined);
  return operators.length === 1 && operators[0]![0] === 'eq';
}

/**
 * Refuses (HE_EXACT_NOT_ALLOWED) an exact request that is not one cell of the declared partition: the `where`
 * must hold one `eq` per partition column and nothing else, and a WEIGHTED_SUM must weigh by a partition column
 * (a weight that varies inside the cell would select part of it). Depends only on the request.
 */
export function assertExactCell(
  policy: ExactAnswers | undefined,
  where: Record<string, unknown> | null | undefined,
  weightedBy: string | undefined,
): asserts policy is ExactAnswers {
  if (!policy) throw refusal('HE_EXACT_NOT_ALLOWED', `This view answers encrypted aggregates with DP noise only: ${noisy}.`);
  const cell = `{ ${policy.partitionBy.map((column) => `${column}: { eq: … }`).join(', ')} }`;
  const given = Object.entries(where ?? {}).filter(([, filter]) => filter !== null && filter !== undefined);
  const isCell = given.length === policy.partitionBy.length && given.every(([key, filter]) => policy.partitionBy.includes(key) && isEquality(filter));
  if (!isCell) throw refusal('HE_EXACT_NOT_ALLOWED', `An exact encrypted aggregate needs \`where\` to be exactly one cell, ${cell}; otherwise ${noisy}.`);
  if (weightedBy !== undefined && !policy.partitionBy.includes(weightedBy)) {
    throw refusal('HE_EXACT_NOT_ALLOWED', `An exact WEIGHTED_SUM weighs by a partition column (${policy.partitionBy.join(', ')}); otherwise ${noisy}.`);
  }
}

/**
 * Refuses an exact answer over a cell with fewer than `minSubjects` distinct data subjects among the rows it
 * would cover. The refusal is the one bit a threshold must reveal ("fewer than N, possibly none"): it carries no
 * count, reads the same for an empty cell, an unknown value and a small cell, and comes before any other
 * data-dependent check (overflow), so nothing else about a small cell can be learnt from it.
 */
export function assertEnoughSubjects(policy: ExactAnswers, subjects: number): void {
  if (subjects < policy.minSubjects) {
    throw refusal(
      'HE_EXACT_NOT_ALLOWED',
      `This cell is not answered exactly: exact answers need cells of at least ${policy.minSubjects} data subjects; ${noisy}.`,
    );
  }
}
