import { describe, expect, it } from 'vitest';
import { createPgliteTestDatabase } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { officerHandlerOf, officerQuery } from './officer-fixtures.ts';

// A refused request's audit record says why in words, but never repeats a value the caller sent: an officer's
// malformed who-has-seen lookup would otherwise keep a data subject's e-mail in clear in the append-only log.
const EMAIL = 'laura.fischer@gmx.de';

describe('refusal reasons in the audit log', () => {
  const world = useWorld(createPgliteTestDatabase);
  const reasonOf = async (requestId: string) =>
    (await world.t.db.query<{ reason: string | null }>('SELECT reason FROM audit_log WHERE request_id = $1', [requestId])).rows[0]?.reason;

  it.each([
    ['a variable of the wrong shape', 'query($w: CustomerWhere) { customers(where: $w) { id } }', { w: { emali: { eq: EMAIL } } }],
    ['a variable of the wrong type', 'query($n: Int) { customers(limit: $n) { id } }', { n: EMAIL }],
    ['a literal of the wrong type', `{ customers(limit: "${EMAIL}") { id } }`, undefined],
    ['a literal that is no enum value', `{ customers(orderBy: [{ field: "${EMAIL}" }]) { id } }`, undefined],
  ])('an agent: %s is refused, and its record does not repeat the value', async (_, query, variables) => {
    const reply = await world.kh.graphql(await world.kh.token('support-bot'), query, variables);
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body.errors)).toContain(EMAIL);
    const reason = await reasonOf(reply.requestId!);
    expect(reason).toEqual(expect.any(String));
    expect(reason).not.toContain('laura');
  });

  it("an officer's malformed who-has-seen lookup keeps no e-mail in the record", async () => {
    const handle = officerHandlerOf(world.kh);
    const reply = await officerQuery(handle, await world.kh.token('dpo'), 'query($s: SubjectIdentifier) { whoHasSeen(subject: $s) { outcome } }', {
      s: { mail: EMAIL },
    });
    expect(reply.status).toBe(400);
    const { rows } = await world.t.db.query<{ reason: string | null; details: unknown }>(
      "SELECT reason, details FROM audit_log WHERE actor_kind = 'officer' ORDER BY seq DESC LIMIT 1",
    );
    expect(rows[0]!.reason).toMatch(/\$s/);
    expect(JSON.stringify(rows[0])).not.toContain('laura');
  });
});
