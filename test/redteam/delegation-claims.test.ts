import { describe, expect, it } from 'vitest';
import { issueToken, parseTtl } from '../../src/identity/index.ts';
import { type ClaimValue, sessionValues } from '../../src/policy/index.ts';
import { projectWith } from '../support/project.ts';
import { useRedTeam } from './support.ts';

// support-bot acting for a person reads only the customers the person's claims select: `in` over ids
// (bigint), `notIn` over a column the view hides (gender), `ne` over segment, and `eq` over the accounts' currency.
// The world's customers (support-bot serves all but 3): 1 SG retail F, 2 EU-DE premier M, 4 CN business F,
// 5 IN retail M, 6 EU-FR retail F; accounts 10/11 SGD → 1, 20 → 2, 60 → 6.
const DELEGATION = `    delegation:
      required: false
      rowFilter:
        customers:
          id: { in: { session: person.customer_ids } }
          gender: { notIn: { session: person.excluded_genders } }
          segment: { ne: { session: person.not_segment } }
        accounts:
          currency: { eq: { session: person.currency } }
`;
const PROJECT = {
  'schema/policies.yaml': (text: string) =>
    text.replace(/ {4}delegation:\n {6}required: false\n {6}subjectJurisdiction: \{ in: \{ session: person\.regions \} \}\n/, DELEGATION),
};

const QUERY = `{ customers(limit: 50, orderBy: [{ field: id, direction: ASC }]) { id }
  accounts(limit: 50, orderBy: [{ field: id, direction: ASC }]) { id } }`;

/** A person who handles customers 1, 2, 4 and 6, not the business segment, not gender X, accounts in SGD. */
const BASE: Record<string, ClaimValue> = { customer_ids: ['1', '2', '4', '6'], excluded_genders: ['X'], not_segment: 'business', currency: 'SGD' };

describe('red team: a delegated token whose person claims are missing, malformed or hostile never widens the rows', () => {
  const rt = useRedTeam({ root: () => projectWith(PROJECT) });

  const actingFor = (claims: Record<string, unknown>) =>
    issueToken({
      keys: rt.kh.broker.tokenKeys,
      registry: rt.kh.broker.config.registry,
      subject: 'support-bot',
      ttlSeconds: parseTtl('1h'),
      onBehalfOf: { id: 'ada', claims: claims as Record<string, ClaimValue> },
    });
  const ask = async (claims: Record<string, unknown>) => {
    const reply = await rt.kh.graphql(await actingFor(claims), QUERY);
    const data = reply.body.data as { customers: Array<{ id: number }>; accounts: Array<{ id: number }> } | null | undefined;
    return {
      status: reply.status,
      code: reply.body.errors?.[0]?.extensions?.code,
      customers: data?.customers.map((row) => row.id),
      accounts: data?.accounts.map((row) => row.id),
    };
  };

  it('serves the baseline person only their customers, minus the business segment, and only SGD accounts', async () => {
    expect(await ask(BASE)).toEqual({ status: 200, code: undefined, customers: [1, 2, 6], accounts: [10, 11] });
  });

  const refused = { status: 403, code: 'DELEGATION_CLAIM_MISSING', customers: undefined, accounts: undefined };
  const tooLong = 'x'.repeat(257);
  it.each([
    ['customer_ids absent', { customer_ids: undefined }, refused],
    ['customer_ids null', { customer_ids: null }, refused],
    ['customer_ids [null]', { customer_ids: [null] }, refused],
    ['customer_ids a nested object', { customer_ids: { in: ['1', '2', '3', '4', '5', '6'] } }, refused],
    ['customer_ids a 100k-item list', { customer_ids: Array.from({ length: 100_000 }, (_, i) => String(i)) }, refused],
    ['currency a 257-character string', { currency: tooLong }, refused],
    ['customer_ids []', { customer_ids: [] }, { status: 200, code: undefined, customers: [], accounts: [10, 11] }],
    ['customer_ids one id as a number, not a list', { customer_ids: 2 }, { status: 200, code: undefined, customers: [2], accounts: [10, 11] }],
    ['customer_ids one id as a string, not a list', { customer_ids: '6' }, { status: 200, code: undefined, customers: [6], accounts: [10, 11] }],
    ['currency ""', { currency: '' }, { status: 200, code: undefined, customers: [1, 2, 6], accounts: [] }],
    ['currency a look-alike (Cyrillic С)', { currency: 'SGD'.replace('S', 'Ѕ') }, { status: 200, code: undefined, customers: [1, 2, 6], accounts: [] }],
    ['currency SQL text', { currency: "SGD' OR '1'='1" }, { status: 200, code: undefined, customers: [1, 2, 6], accounts: [] }],
    ['currency a LIKE pattern', { currency: '%' }, { status: 200, code: undefined, customers: [1, 2, 6], accounts: [] }],
    [
      'excluded_genders [] (the hidden column excludes nobody)',
      { excluded_genders: [] },
      { status: 200, code: undefined, customers: [1, 2, 6], accounts: [10, 11] },
    ],
    [
      'excluded_genders ["F"] (a filter on a hidden column still applies)',
      { excluded_genders: ['F'] },
      { status: 200, code: undefined, customers: [2], accounts: [10, 11] },
    ],
    // `ne` bound to a list compared the column with the list's text: every row passed (1 and 6 are retail).
    ['not_segment a list of two where ne takes one value', { not_segment: ['business', 'retail'] }, refused],
    ['not_segment a one-item list where ne takes one value', { not_segment: ['business'] }, refused],
    ['currency a list where eq takes one value', { currency: ['SGD'] }, refused],
    ['currency a number in a text column', { currency: 5 }, refused],
    // A claim the column's type does not accept was a database cast error (500 INTERNAL), not the person's refusal.
    ['customer_ids SQL text in a bigint column', { customer_ids: ['1) OR (1=1'] }, refused],
    ['customer_ids a full-width digit', { customer_ids: ['２'] }, refused],
    ['customer_ids booleans', { customer_ids: [true] }, refused],
    ['customer_ids beyond 64 bits', { customer_ids: ['99999999999999999999'] }, refused],
  ])('%s', async (_probe, change, expected) => {
    expect(await ask({ ...BASE, ...change })).toEqual(expected);
  });

  // An issuer's token carries the identity provider's claims beside `sub`; one named `id` (kept when a policy's `hide`
  // names it) must not stand in for the person a `{ session: person.id }` filter selects rows of.
  it("binds person.id to the token's subject, never to a claim of the person named id", () => {
    const agent = rt.kh.broker.config.registry.agents.get('support-bot')!;
    expect(sessionValues(agent, 'customer_service', { id: 'ada', claims: { id: 'bob' } })['person.id']).toBe('ada');
  });

  it('refuses a list bound to `ne` as a denied, audited request that fetches nothing, and serves the others meanwhile', async () => {
    const token = await actingFor({ ...BASE, not_segment: ['business', 'retail'] });
    const [reply] = await rt.contained(() => rt.kh.graphql(token, QUERY), { status: 403, code: 'DELEGATION_CLAIM_MISSING' }, { bystander: 'support-bot' });
    expect(reply!.body.errors?.[0]?.message).toContain('"not_segment"');
  });
});
