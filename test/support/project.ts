import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './broker.ts';

/**
 * A copy of the shipped project files (schema/, masking-rules/) with some files edited, so a test can run
 * the broker under, say, a different budget without touching the real files.
 */
export async function projectWith(edits: Record<string, (text: string) => string> = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'keyhole-project-'));
  await cp(join(PROJECT_ROOT, 'schema'), join(root, 'schema'), { recursive: true });
  await cp(join(PROJECT_ROOT, 'masking-rules'), join(root, 'masking-rules'), { recursive: true });
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(root, file);
    const before = await readFile(path, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`projectWith: the edit of ${file} changed nothing`);
    await writeFile(path, after);
  }
  return root;
}

/** policies.yaml with analytics-bot's (and the dataset's) budget replaced. */
export function withBudget(
  agent: { epsilon: number; delta?: number; maxEpsilonPerQuery?: number; maxDeltaPerQuery?: number },
  dataset = { epsilon: 1e6, delta: 1e-3 },
) {
  return {
    'schema/policies.yaml': (text: string) =>
      text
        .replace(/dataset: \{ epsilon: [^}]+\}/, `dataset: { epsilon: ${dataset.epsilon}, delta: ${dataset.delta} }`)
        .replace(
          /analytics-bot: \{[^}]+\}/,
          `analytics-bot: { epsilon: ${agent.epsilon}, delta: ${agent.delta ?? 1e-5}, maxEpsilonPerQuery: ${agent.maxEpsilonPerQuery ?? 10}, maxDeltaPerQuery: ${agent.maxDeltaPerQuery ?? 1e-6} }`,
        ),
  };
}
