import { describe, expect, it } from 'vitest';
import { INPUT_LIMITS } from '../../src/graphql/index.ts';
import { useRedTeam } from './support.ts';

/**
 * The longest the event loop went without running a timer while `work` ran. A request over the embedded database
 * runs in microtasks only, so no loop turn ends before it does and perf_hooks' delay histogram records nothing
 * for it; a timer that cannot fire measures the stall either way.
 */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const tick = () => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  };
  const timer = setInterval(tick, 2);
  try {
    const result = await work();
    tick();
    return { result, stallMs };
  } finally {
    clearInterval(timer);
  }
}

/** A where of `lists` × `size` cities, ORed: 1 + lists × (size + 3) list items and object fields in all. */
const cities = (lists: number, size: number) => ({ or: Array.from({ length: lists }, (_, i) => ({ city: { in: Array(size).fill(`c${i}`) } })) });

/**
 * A hostile agent with its own token sends one `where` as wide as the body limit lets it: each list and object
 * within its item limit, but tens of thousands of comparisons in all. Coercing, compiling and binding them held
 * the event loop for a second or more; the variables are now refused as a whole first.
 */
describe('red team: one where of many comparisons, within every per-list bound', () => {
  const rt = useRedTeam();
  const INVALID = { status: 400, code: 'INVALID_ARGUMENT' };
  const ROWS = 'query($w: CustomerWhere) { customers(where: $w, limit: 1) { id } }';
  const AGGREGATE = 'query($w: CustomerAggregateWhere) { customers_aggregate(epsilon: 0.01, where: $w) { groups { count { value } } } }';
  /** 45 × 1000 comparisons of one field: some 900 KB of JSON, under the 1 MB body limit. */
  const widest = { or: Array.from({ length: 45 }, () => ({ or: Array(1000).fill({ city: { eq: 'x' } }) })) };

  it.each([
    ['a row read', 'support-bot', ROWS],
    ['a DP aggregate (before its budget is charged)', 'analytics-bot', AGGREGATE],
  ])('refuses 45 000 comparisons in %s at once, the loop never held for half a second', async (_, agent, query) => {
    expect(JSON.stringify({ query, variables: { w: widest } }).length).toBeLessThan(1024 * 1024);
    const attack = async () => rt.kh.graphql(await rt.token(agent), query, { w: widest });
    const { result, stallMs } = await longestStall(attack);
    expect(stallMs).toBeLessThan(500);
    expect(result.body.errors![0]!.message).toBe(`Variable "$w": the variables hold more than ${INPUT_LIMITS.totalItems} list items and object fields in all.`);
    await rt.contained(attack, INVALID);
  });

  it(`serves ${INPUT_LIMITS.totalItems} items across the variables and refuses one more`, async () => {
    // 1 + 11 × (906 + 3) = 10 000.
    const atLimit = cities(11, 906);
    const ask = async (where: object) => rt.kh.graphql(await rt.token('support-bot'), ROWS, { w: where });
    expect((await ask(atLimit)).status).toBe(200);
    atLimit.or[10]!.city.in.push('c10');
    await rt.contained(() => ask(atLimit), INVALID);
  });
});
