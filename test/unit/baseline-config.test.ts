import { describe, expect, it } from 'vitest';
import { ConfigError, loadProjectConfig } from '../../src/config/index.ts';
import { projectWith } from '../support/project.ts';

const withAnomalies = (section: string) =>
  projectWith({ 'schema/policies.yaml': (text) => text.replace(/^anomalies:\n(?: {2}.*\n|\s*#.*\n)*/m, `${section}\n`) });

async function issuesOf(section: string): Promise<string[]> {
  const error = await loadProjectConfig(await withAnomalies(section)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues.map((issue) => `${issue.line} ${issue.field}: ${issue.message}`);
}

describe("policies.yaml's anomalies section", () => {
  it('loads the shipped section: support and kyc quarantine, an hour per window', async () => {
    const { policies } = await loadProjectConfig(await projectWith({}));
    expect(policies.anomalies).toEqual({ windowMinutes: 60, roles: { support: { quarantine: true }, kyc: { quarantine: true } }, agents: {} });
  });

  it('names the line and field of an unknown role or agent, and of a threshold out of range', async () => {
    const section = ['anomalies:', '  roles:', '    helpdesk: { quarantine: true }', '  agents:', '    nobody-bot: { thresholds: { rowsPerRequest: 1 } }'].join(
      '\n',
    );
    const issues = await issuesOf(section);
    expect(issues).toEqual([expect.stringMatching(/^\d+ anomalies\.agents\.nobody-bot\.thresholds\.rowsPerRequest: /)]);
    const names = await issuesOf(section.replace('rowsPerRequest: 1', 'rowsPerRequest: 6'));
    expect(names).toEqual([
      expect.stringMatching(/ anomalies\.roles\.helpdesk: unknown role "helpdesk" \(expected one of: support, fraud, analytics, kyc\)$/),
      expect.stringMatching(/ anomalies\.agents\.nobody-bot: unknown agent "nobody-bot" \(expected one of: .*kyc-bot\)$/),
    ]);
    expect(await issuesOf('anomalies:\n  thresholds: { rowsPerHour: 5 }')).toEqual([expect.stringMatching(/anomalies\.thresholds/)]);
  });
});
