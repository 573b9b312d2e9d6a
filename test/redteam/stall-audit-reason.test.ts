import { describe, expect, it } from 'vitest';
import { useRedTeam } from './support.ts';

/**
 * A hostile agent with its own token writes names as long as the body limit lets them. graphql-js repeats each in
 * its refusal, and the audit record kept its reason whole: a 900 KB row per request, kept for years, for one line
 * of text. The reason is recorded cut short; the caller, who sent the name, still gets the whole refusal.
 */
describe('red team: names as long as the body, echoed into the audit log', () => {
  const rt = useRedTeam();
  const long = 'x'.repeat(900_000);

  it.each([
    ['a field', `{ f${long} }`],
    ['a directive', `{ viewer @d${long} { agent } }`],
    ['a variable', `query($v${long}: Int) { viewer { agent } }`],
    ['a fragment', `{ ...F${long} }`],
  ])('records the refusal of %s named with 900 KB in at most 2 100 characters', async (_, query) => {
    const ask = async () => rt.kh.graphql(await rt.token('support-bot'), query);
    const [reply] = await rt.contained(ask, { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(reply!.body.errors![0]!.message).toContain(long);
    const [record] = await rt.audit(reply!.requestId!);
    expect(record!.reason!.length).toBeLessThan(2100);
    expect(record!.reason).toMatch(/… \(\d+ more characters not recorded\)$/);
  });
});
