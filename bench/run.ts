/**
 * `npm run bench [-- name …]`: runs every bench/*.bench.ts in name order (or those whose name contains one
 * of the arguments), prints each Markdown section as it finishes and writes them all, with the machine's
 * particulars, to bench/results/latest.md. A failing bench is reported and the others still run; the
 * exit code is then 1.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
const RESULTS = new URL('./results/latest.md', import.meta.url);
const SUFFIX = '.bench.ts';

class BenchSelectionError extends Error {
  constructor(names: readonly string[], available: readonly string[]) {
    super(`no bench matches ${names.join(', ')} (available: ${available.join(', ')})`);
    this.name = 'BenchSelectionError';
  }
}

class NotABenchError extends Error {
  constructor(file: string) {
    super(`${file} has no default export of the form async () => string`);
    this.name = 'NotABenchError';
  }
}

async function selectBenches(names: readonly string[]): Promise<string[]> {
  const all = (await readdir(BENCH_DIR)).filter((file) => file.endsWith(SUFFIX)).sort();
  if (names.length === 0) return all;
  const chosen = all.filter((file) => names.some((name) => file.slice(0, -SUFFIX.length).includes(name)));
  if (chosen.length === 0)
    throw new BenchSelectionError(
      names,
      all.map((file) => file.slice(0, -SUFFIX.length)),
    );
  return chosen;
}

async function runBench(file: string): Promise<string> {
  const module = (await import(pathToFileURL(`${BENCH_DIR}${file}`).href)) as { default?: unknown };
  if (typeof module.default !== 'function') throw new NotABenchError(file);
  return String(await (module.default as () => Promise<string>)());
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');

let files: string[];
try {
  files = await selectBenches(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof BenchSelectionError)) throw error;
  console.error(error.message);
  process.exit(2);
}
const started = new Date();
const header = [
  `# Keyhole benchmarks — ${started.toISOString()}`,
  '',
  `Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), load average ${load()} (1/5/15 min) at the start.`,
  '',
];
const sections: string[] = [];
let failed = 0;
for (const file of files) {
  const benchStarted = performance.now();
  console.error(`running ${file} …`);
  try {
    const section = await runBench(file);
    console.log(section);
    sections.push(section, `_${file}: ${((performance.now() - benchStarted) / 1000).toFixed(0)} s_`, '');
  } catch (error) {
    failed++;
    console.error(`${file} failed:`, error);
    sections.push(`## ${file} — FAILED`, '', '```text', error instanceof Error ? (error.stack ?? error.message) : String(error), '```', '');
  }
}
const footer = `Finished ${new Date().toISOString()}, load average ${load()} at the end; ${failed} of ${files.length} benches failed.`;
await mkdir(new URL('./', RESULTS), { recursive: true });
await writeFile(RESULTS, [...header, ...sections, footer, ''].join('\n'));
console.error(`${footer} Written to ${fileURLToPath(RESULTS)}.`);
process.exitCode = failed > 0 ? 1 : 0;
