import { describe, expect, it } from 'vitest';
import { raiseAnomalies } from '../../src/agent-controls/baselines/anomalies.ts';
import { withCliWorld } from '../support/cli.ts';

describe('keyhole agents anomalies | clear-quarantine', () => {
  it('lists the anomalies, clears a quarantine with an audited note, and refuses an unknown agent', async () => {
    await withCliWorld(async ({ t, kh, keyhole }) => {
      await t.db.transaction((tx) =>
        raiseAnomalies(tx, kh.broker.secrets.auditKey, [
          {
            kind: 'request',
            statistic: 'rowsPerRequest',
            value: 50,
            threshold: 26.7,
            score: 15.3,
            baseline: { median: 3, mad: 2, spread: 2, observations: 80, zThreshold: 8 },
            detail: null,
            agentId: 'support-bot',
            purpose: 'customer_service',
            windowStart: null,
            windowEnd: null,
            requestId: 'req-1',
            auditSeq: null,
            quarantines: true,
          },
        ]),
      );
      const listed = await keyhole('agents', 'anomalies', '--status', 'open');
      expect(listed.stdout).toMatch(/support-bot.*customer_service.*rowsPerRequest.*50.*26\.7.*yes.*open/);

      const cleared = await keyhole('agents', 'clear-quarantine', 'support-bot', '--note', 'load test by the desk', '--by', 'alice');
      expect(cleared.stdout).toMatch(/rowsPerRequest.*cleared .* by alice/);
      const { rows } = await t.db.query(
        "SELECT actor_kind, actor_id, operation_kind, details FROM audit_log WHERE operation_kind = 'quarantine_clear' ORDER BY seq DESC LIMIT 1",
      );
      expect(rows[0]).toMatchObject({ actor_kind: 'cli', actor_id: 'alice', details: { agent: 'support-bot', note: 'load test by the desk' } });
      expect((await keyhole('agents', 'clear-quarantine', 'support-bot', '--note', 'again')).stdout).toBe('support-bot has no open anomaly: not quarantined\n');
      await expect(keyhole('agents', 'clear-quarantine', 'nobody-bot', '--note', 'x')).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('unknown agent "nobody-bot"'),
      });
    });
  });
});
