/**
 * Where a server's CPU went, from the V8 CPU profile it wrote (`--cpu-prof`, see servers.ts): every sample is
 * charged to the group of its innermost frame, except that frames of Node itself and natives count for their
 * caller, so a `writev` or a `JSON.stringify` counts for the `pg` client or the audit writer that called it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Groups in the order they are tried: the first whose pattern matches a frame's URL names it. */
const GROUPS: ReadonlyArray<readonly [string, RegExp]> = [
  ['audit (records, hashes, subjects, group commit)', /\/src\/audit\//],
  ['masking', /\/src\/masking\//],
  ['compliance checks', /\/src\/compliance\//],
  ['token and identity', /\/src\/identity\/|node_modules\/jose\//],
  ['differential privacy', /\/src\/dp\//],
  ['Keyhole GraphQL (plans, resolvers, plugins)', /\/src\/graphql\/|\/src\/request\/|\/src\/policy\//],
  ['Keyhole HTTP (plugins, scalars, limits)', /\/src\/http\//],
  ['Keyhole SQL (statements, adapter)', /\/src\/sql\//],
  ['pg client and protocol', /node_modules\/(pg|pg-protocol|pg-types|pg-pool|postgres-[a-z]+)\//],
  ['graphql-js and graphql-tools', /node_modules\/(graphql|@graphql-tools)\//],
  ['yoga, envelop and fetch adapters', /node_modules\/(graphql-yoga|@graphql-yoga|@envelop|@whatwg-node|@escape\.tech)\//],
];

const NODE = 'Node (http, streams, sockets)';
const OTHER = 'other (modules, natives, program)';

export interface ProfileShare {
  group: string;
  ms: number;
  share: number;
}

function groupOf(url: string): string | undefined {
  return GROUPS.find(([, pattern]) => pattern.test(url))?.[0];
}

/** Milliseconds per group, idle excluded; shares are of the busy time. */
export function summariseProfile(profile: CpuProfile): ProfileShare[] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  // A frame of Node itself or a native counts for the module that called it; only what no module called
  // (socket events, timers) stays Node's.
  const groupOfNode = new Map<number, string | null>();
  const resolve = (id: number): string | null => {
    const known = groupOfNode.get(id);
    if (known !== undefined) return known;
    const { functionName, url } = nodes.get(id)!.callFrame;
    const parent = parents.get(id);
    let group: string | null;
    if (functionName === '(idle)') group = null;
    else if (functionName === '(garbage collector)') group = 'garbage collection';
    else if (url === '' || url.startsWith('node:')) {
      const caller = parent === undefined ? null : resolve(parent);
      group = caller === null || caller === OTHER ? (url.startsWith('node:') ? NODE : OTHER) : caller;
    } else group = groupOf(url) ?? OTHER;
    groupOfNode.set(id, group);
    return group;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const group = resolve(id);
    if (group !== null) totals.set(group, (totals.get(group) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  const busy = [...totals.values()].reduce((sum, value) => sum + value, 0);
  return [...totals].map(([group, ms]) => ({ group, ms, share: ms / busy })).sort((a, b) => b.ms - a.ms);
}

/** The summary of the one profile a server process wrote into `dir`. */
export async function summariseProfileDir(dir: string): Promise<ProfileShare[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one CPU profile in ${dir}, found ${files.length}`);
  return summariseProfile(JSON.parse(await readFile(join(dir, files[0]!), 'utf8')) as CpuProfile);
}

export function profileTable(shares: readonly ProfileShare[], requests: number): string[] {
  return [
    '| where | share of busy CPU | ms per request |',
    '|---|---:|---:|',
    ...shares.map(({ group, ms, share }) => `| ${group} | ${(share * 100).toFixed(1)} % | ${(ms / requests).toFixed(3)} |`),
  ];
}
