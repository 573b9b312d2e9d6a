// Scores and surviving mutants of one or more Stryker JSON reports, merged mutant by mutant (a mutant reported
// twice keeps its latest outcome, so a rerun of some lines updates a whole run):
// `npx node test/mutation/summary.mjs reports/mutation/dp/files/*/mutation.json`.
// The DP area is run one file at a time (.ci/mutation says why), so its folder score is this merge.
// Exits 1 when the merged score is below --floor (default 90).
import { readFileSync, statSync } from 'node:fs';

const args = process.argv.slice(2);
const floorAt = args.indexOf('--floor');
const floor = floorAt >= 0 ? Number(args.splice(floorAt, 2)[1]) : 90;
const reports = args.map((path) => ({ path, mtime: statSync(path).mtimeMs })).sort((a, b) => a.mtime - b.mtime);
if (reports.length === 0) {
  console.error('usage: summary.mjs REPORT.json... [--floor 90]');
  process.exit(2);
}

const files = new Map();
for (const { path } of reports) {
  for (const [file, result] of Object.entries(JSON.parse(readFileSync(path, 'utf8')).files)) {
    const mutants = files.get(file) ?? new Map();
    for (const m of result.mutants) {
      const { start, end } = m.location;
      mutants.set(`${start.line}:${start.column}-${end.line}:${end.column}:${m.mutatorName}:${m.replacement}`, m);
    }
    files.set(file, mutants);
  }
}

// Stryker's definition: killed and timed out count as detected; ignored and compile errors are left out.
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const score = (mutants) => {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const valid = detected + mutants.filter((m) => UNDETECTED.has(m.status)).length;
  return { detected, valid, percent: valid === 0 ? 100 : (100 * detected) / valid };
};

const all = [];
const rows = [];
for (const [file, byId] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  const mutants = [...byId.values()];
  all.push(...mutants);
  const { detected, valid, percent } = score(mutants);
  rows.push(`${file.padEnd(48)} ${percent.toFixed(2).padStart(6)} %  ${detected}/${valid}`);
  for (const m of mutants.filter((m) => UNDETECTED.has(m.status)).sort((a, b) => a.location.start.line - b.location.start.line)) {
    rows.push(`    ${m.status === 'NoCoverage' ? 'no coverage' : 'survived'} :${m.location.start.line} ${m.mutatorName} → ${JSON.stringify(m.replacement ?? '').slice(0, 90)}`);
  }
}
const total = score(all);
console.log(rows.join('\n'));
console.log(`${'all files'.padEnd(48)} ${total.percent.toFixed(2).padStart(6)} %  ${total.detected}/${total.valid}`);
process.exit(total.percent < floor ? 1 : 0);
