import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig, type ProjectConfig, YamlSource } from '../../src/config/index.ts';
import { buildMaskingRules, createExposureDecider, createMaskingKeys } from '../../src/masking/index.ts';
import { measureKAnonymity } from '../../src/masking/rules/k-anonymity.ts';
import { buildView } from '../../src/policy/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

const keys = createMaskingKeys(new Uint8Array(32).fill(5), 'mk-k');

describe.each(ENGINES)('k-anonymity of a view on $engine', ({ create }) => {
  let t: TestDatabase;
  let config: ProjectConfig;
  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    // Four more Singaporeans in district 238: with customer 1 a group of 5 once postal codes are cut to 3 characters.
    for (const id of [71, 72, 73, 74]) {
      await t.db.query(
        "INSERT INTO customers (id, full_name, email, phone, national_id, birth_date, gender, postal_code, city, residency, segment, created_at) VALUES ($1, 'n', 'e', 'p', $2, '1980-01-01', 'F', $3, 'Singapore', 'SG', 'retail', now())",
        [id, `N${id}`, `2388${id}`],
      );
    }
    config = await loadProjectConfig(PROJECT_ROOT);
  });
  afterAll(() => t.drop());

  const measure = async (postalRule: string) => {
    const rules = buildMaskingRules(
      [new YamlSource('masking-rules/k.yaml', `rules:\n  - columns: [customers.city]\n    mask: clear\n  - columns: [customers.postal_code]\n${postalRule}`)],
      config,
      keys,
    );
    const view = buildView(config, config.registry.agents.get('support-bot')!, 'customer_service', createExposureDecider(rules, keys), rules.version);
    return measureKAnonymity(t.db, config, view);
  };

  it('groups by the masked quasi-identifiers the view shows, over the rows it may see, in SQL or TypeScript alike', async () => {
    const [sql] = await measure('    mask: truncate_postal_code\n    params: { keep: 3 }\n');
    const [ts] = await measure('    mask: partial\n    params: { keepFirst: 3, maskChar: "*" }\n');
    expect(sql!.method).toBe('sql');
    expect(ts!.method).toBe('typescript');
    // Customer 3 (US-CA) is outside support-bot's desk: 5 + 4 rows, the 5 Singaporeans in one group.
    for (const r of [sql!, ts!]) {
      expect(r).toMatchObject({ table: 'customers', rows: 9, groups: 5, k: 1 });
      expect(r.quasiIdentifiers.map((q) => q.field)).toEqual(['postal_code', 'city']);
    }
    const clear = await measure('    mask: clear\n');
    expect(clear[0]).toMatchObject({ rows: 9, groups: 9, k: 1 });
    const coarse = await measure('    mask: truncate_postal_code\n    params: { keep: 0 }\n');
    expect(coarse[0]!.groups).toBe(5);
    const cityOnly = await measure('    mask: hide\n');
    expect(cityOnly[0]).toMatchObject({ groups: 5, quasiIdentifiers: [{ field: 'city', shows: 'clear' }] });
  });
});
