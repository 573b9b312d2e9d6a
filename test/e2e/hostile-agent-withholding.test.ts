import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';

/**
 * A hostile agent probes people it may not see one predicate at a time: every answer must be the same whether a
 * withheld (or filtered-out) person matches its filter or nobody does. Only the officers' record may differ.
 */
describe.each(ENGINES)('an agent cannot probe withheld people on $engine', ({ create }) => {
  const world = useWorld(create);
  let token: string;
  let fields: string[];

  beforeAll(async () => {
    // More CN customers (withheld from support-bot: no PIPL basis), so the sample is not one person.
    await world.t.db.query(
      `INSERT INTO customers (id, full_name, email, phone, national_id, birth_date, gender, postal_code, city, residency, segment, created_at) VALUES
       (7, 'Sun Jianguo', 'sun.jg@example.cn', '+86 139 1111 2222', '310101198001011234', '1980-01-01', 'M', '200001', 'Shanghai', 'CN', 'retail', '2024-02-02T08:00:00Z'),
       (8, 'Zhao Min', 'zhao.min@example.cn', '+86 137 3333 4444', '440101199202022345', '1992-02-02', 'F', '510000', 'Guangzhou', 'CN', 'premier', '2024-03-03T09:30:00Z')`,
    );
    await world.t.db.query(
      `INSERT INTO accounts (id, customer_id, kind, currency, balance, opened_on) VALUES (70, 7, 'savings', 'CNY', '10.00', '2021-01-01')`,
    );
    token = await world.kh.token('support-bot');
    const viewer = await world.kh.graphql(token, '{ viewer { tables { name fields } } }');
    fields = (viewer.body.data!.viewer.tables as Array<{ name: string; fields: string[] }>).find((t) => t.name === 'customers')!.fields;
  });

  const literal = (value: unknown) => JSON.stringify(value instanceof Date ? value.toISOString() : value);
  /** A value of the same type that no customer has. */
  const nobody = (value: unknown) => (typeof value === 'number' ? 999_999 : value instanceof Date ? new Date('1901-01-01T00:00:00Z') : 'zz-nobody-has-this');

  const hidden = async (where: string) => (await world.t.db.query<Record<string, unknown>>(`SELECT * FROM customers WHERE ${where} ORDER BY id`)).rows;
  const withheldRowsRecorded = async () =>
    (await world.t.db.query<{ details: { withheld?: Array<{ rows: number }> } }>('SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!.details
      .withheld?.[0]?.rows ?? 0;

  /**
   * One probe: `field op <the person's value>` against `field op <nobody's value>`, both narrowed to the person's id
   * so that no visible customer who shares the value changes the answer legitimately; `alone` probes without it.
   */
  async function expectSameAnswer(person: Record<string, unknown>, field: string, operator: 'eq' | 'in' | 'gte', alone = false) {
    const value = person[field];
    const operand = (v: unknown) => (operator === 'in' ? `[${literal(v)}]` : literal(v));
    const where = (v: unknown) =>
      alone ? `{ ${field}: { ${operator}: ${operand(v)} } }` : `{ and: [{ ${field}: { ${operator}: ${operand(v)} } }, { id: { eq: ${person.id} } }] }`;
    const ask = (v: unknown) => world.kh.graphql(token, `{ customers(where: ${where(v)}, limit: 50) { id full_name accounts { id } } }`);
    const matching = await ask(value);
    const recordedMatching = await withheldRowsRecorded();
    const unmatched = await ask(nobody(value));
    expect({ status: matching.status, body: matching.body }, `${field} ${operator} ${literal(value)}`).toEqual({
      status: unmatched.status,
      body: unmatched.body,
    });
    return recordedMatching;
  }

  it('answers a predicate matching a withheld CN customer exactly as one matching nobody, on every filterable field', async () => {
    const people = await hidden(`residency = 'CN'`);
    expect(people.length).toBeGreaterThanOrEqual(3);
    let recorded = 0;
    for (const person of people) {
      for (const field of fields) recorded += await expectSameAnswer(person, field, 'eq');
      recorded += await expectSameAnswer(person, 'full_name', 'in');
      recorded += await expectSameAnswer(person, 'created_at', 'gte');
      // The attack as reported: a name (or a city) on its own, which no visible customer shares.
      recorded += await expectSameAnswer(person, 'full_name', 'eq', true);
      recorded += await expectSameAnswer(person, 'city', 'eq', true);
    }
    // The predicates did match the withheld people: the officers' record counted them, the answers did not say.
    // (Masked fields compare pseudonym tokens, so a raw value there matches no one: the clear ones all matched.)
    expect(recorded).toBeGreaterThanOrEqual(people.length * 4);
  });

  it('says withholding happens on every read of the view, as policy, whatever the filter', async () => {
    const answer = await world.kh.graphql(token, '{ customers(where: { residency: { eq: "SG" } }) { id } }');
    expect(answer.body.extensions).toEqual({ withheld: [{ table: 'customers', jurisdictions: ['CN'] }] });
    const nested = await world.kh.graphql(token, '{ customers(where: { id: { eq: 1 } }) { id accounts { id } } }');
    expect(nested.body.extensions).toEqual({
      withheld: [
        { table: 'customers', jurisdictions: ['CN'] },
        { table: 'accounts', jurisdictions: ['CN'] },
      ],
    });
  });

  it('answers a predicate matching someone outside the row filter exactly as one matching nobody', async () => {
    // Customer 3 (US-CA) is outside support-bot's desk: its policy's subject filter drops the row.
    const [outside] = await hidden('id = 3');
    for (const field of fields) await expectSameAnswer(outside!, field, 'eq');
  });

  it('answers accounts of withheld people exactly as accounts of nobody', async () => {
    const ask = (id: number) => world.kh.graphql(token, `{ accounts(where: { id: { in: [${id}] } }) { id kind currency } }`);
    for (const id of [40, 70]) expect((await ask(id)).body).toEqual((await ask(999_999)).body);
  });
});
