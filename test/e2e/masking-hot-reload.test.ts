import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker } from '../../src/broker.ts';
import { issueToken, parseTtl } from '../../src/identity/index.ts';
import type { LogEvent } from '../../src/log.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

describe('hot reload of masking-rules/ in a running broker', () => {
  let t: TestDatabase;
  let root: string;
  let broker: Broker;
  const events: LogEvent[] = [];

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    root = await mkdtemp(join(tmpdir(), 'keyhole-rules-'));
    await cp(join(PROJECT_ROOT, 'schema'), join(root, 'schema'), { recursive: true });
    await cp(join(PROJECT_ROOT, 'masking-rules'), join(root, 'masking-rules'), { recursive: true });
    broker = await createBroker({ root, db: t.db, dataDir: join(root, '.keyhole'), env: {}, log: (event) => events.push(event) });
  });
  afterAll(async () => {
    await broker.close();
    await rm(root, { recursive: true, force: true });
  });

  async function phones(): Promise<unknown> {
    const token = await issueToken({ keys: broker.tokenKeys, registry: broker.config.registry, subject: 'support-bot', ttlSeconds: parseTtl('1h') });
    const response = await broker.fetch(
      new Request('http://keyhole.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ customers(where: { id: { in: [1, 2] } }) { phone } }' }),
      }),
    );
    const body = (await response.json()) as { data?: { customers: Array<{ phone: string }> } };
    return body.data?.customers.map((c) => c.phone);
  }

  async function nextEvent(msg: RegExp): Promise<LogEvent> {
    const seen = events.length;
    for (let waited = 0; waited < 5000; waited += 25) {
      const event = events.slice(seen).find((e) => msg.test(String(e.msg)));
      if (event) return event;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no log event matching ${msg} within 5 s`);
  }

  it('refuses an invalid edit, keeps answering with the rules in force, then takes a valid edit', async () => {
    const file = join(root, 'masking-rules', 'customers.yaml');
    const original = await readFile(file, 'utf8');
    expect(await phones()).toEqual(['+65 **** 4567', '+49 *** *****78']);

    const rejected = nextEvent(/rejected/);
    await writeFile(file, original.replace('params: { keepLast: 4 }', 'params: { keepLast: four }'));
    const event = await rejected;
    expect(event.level).toBe('warn');
    expect(String((event.problems as string[])[0])).toMatch(/^masking-rules\/customers.yaml:\d+: rules\[4\]\.params\.keepLast: /);
    expect(await phones()).toEqual(['+65 **** 4567', '+49 *** *****78']);

    const conflicting = nextEvent(/rejected/);
    await writeFile(file, original);
    await writeFile(join(root, 'masking-rules', 'extra.yaml'), 'rules:\n  - columns: [customers.phone]\n    roles: [support]\n    mask: redact\n');
    expect(String(((await conflicting).problems as string[])[0])).toMatch(/conflicts with masking-rules\/extra.yaml:2/);
    expect(await phones()).toEqual(['+65 **** 4567', '+49 *** *****78']);
    await rm(join(root, 'masking-rules', 'extra.yaml'));

    const reloaded = nextEvent(/reloaded/);
    await writeFile(file, original.replace('params: { keepLast: 4 }', 'params: { keepLast: 3 }'));
    expect((await reloaded).level).toBe('info');
    expect(await phones()).toEqual(['+65 **** *567', '+49 *** *****78']);
  });
});
