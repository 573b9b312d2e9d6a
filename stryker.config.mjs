// Mutation testing of the privacy core, one area at a time: `MUTATION_AREA=dp npx stryker run` (npm run mutation
// runs every area). docs/testing.md says how to run it and lists every surviving mutant.
//
// Two ways to run a mutant, chosen per area by what its tests cost (docs/testing.md, "Cost"):
// - `vitest`: Stryker's vitest runner keeps one Vitest alive per worker and runs, for each mutant, only the
//   unit tests that reached it (perTest coverage), through test/mutation/vitest5-runner.mjs (the runner as
//   published selects no test under Vitest 5). For DP, whose sampling tests take minutes in all.
// - `command`: a fresh `vitest run --bail 1` of the area's unit tests per mutant, activated through
//   __STRYKER_ACTIVE_MUTANT__. For suites of seconds, where the vitest runner's reload for every static mutant
//   (a table entry, a constant) costs more than a fresh run.
// End-to-end suites start brokers and would take hours here; the unit suites hold the guarantees that used to
// be reachable only end to end (docs/testing.md).
const AREAS = {
  dp: {
    // Every file of the folder but its index (re-exports) and aggregate-query.ts, which only sequences the
    // others for one GraphQL answer (admit, plan, query, release, charge) and is tested end to end.
    // Run one file at a time (.ci/mutation): Stryker instruments every file it mutates, and the samplers'
    // instrumented loops made the sampling tests ~30× slower for every mutant of the folder (the dry run alone
    // took 9 minutes instead of 17 s, and the 289 static mutants each rerun all of them: ~12 h in all).
    mutate: ['src/dp/*.ts', '!src/dp/index.ts', '!src/dp/aggregate-query.ts'],
    tests: 'test/unit/dp-*.test.ts',
    runner: 'vitest',
  },
  masking: {
    // dictionaries.ts is word lists for substitute: data, not logic; every mutant of it is a changed word.
    mutate: ['src/masking/functions/*.ts', '!src/masking/functions/dictionaries.ts'],
    // The tests of the functions; the rule-file suites (masking-rules-*) exercise loading, not the functions.
    tests: 'test/unit/masking-{functions,boundaries,catalogue,keys,public-suffixes,class-boundaries,age}.test.ts',
    runner: 'command',
  },
  audit: {
    mutate: ['src/audit/*.ts', '!src/audit/index.ts'],
    tests: 'test/unit/audit-*.test.ts',
    // Its suites boot PGlite and migrate it in every file: a fresh run of all of them per mutant took ~9 s,
    // only the files that reach the mutant far less.
    runner: 'vitest',
  },
  identity: {
    mutate: ['src/identity/*.ts', '!src/identity/index.ts'],
    tests: 'test/unit/identity-*.test.ts',
    runner: 'command',
  },
};

const area = process.env.MUTATION_AREA ?? '';
// Where the reports go, under reports/mutation/: the area's name, or one file's (`dp/files/noise`) when an area is
// run a file at a time (.ci/mutation).
const report = process.env.MUTATION_REPORT ?? area;
const chosen = AREAS[area];
if (!chosen) throw new Error(`set MUTATION_AREA to one of ${Object.keys(AREAS).join(', ')}`);
// The unit tests of the area (vitest.mutation.config.ts reads this; Stryker's test processes inherit it): the
// dry run, which runs them all once under coverage counters in one thread, stays within minutes.
// MUTATION_TESTS set by the caller narrows them for one file (.ci/mutation: the samplers, whose statistical
// tests cost minutes per mutant under instrumentation, run against their scripted suite).
process.env.MUTATION_TESTS ||= chosen.tests;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...(chosen.runner === 'vitest'
    ? {
        testRunner: 'vitest5',
        plugins: ['@stryker-mutator/*', './test/mutation/vitest5-runner.mjs'],
        coverageAnalysis: 'perTest',
        vitest: { configFile: 'vitest.mutation.config.ts', related: false },
      }
    : {
        testRunner: 'command',
        commandRunner: { command: 'npx vitest run --config vitest.mutation.config.ts --bail 1 --maxWorkers 1 --reporter dot' },
        // Per-test coverage means nothing to a runner that runs the whole suite per mutant, and its counters slow it.
        coverageAnalysis: 'off',
      }),
  // Stryker rewrites the tsconfig's paths through the TypeScript JS API, which TypeScript 7 (native) no longer
  // has; ours has no extends or references to rewrite, so it is pointed at a file that does not exist.
  tsconfigFile: 'tsconfig.stryker-skips-this.json',
  // Two cores, shared with whoever else is testing on the machine.
  concurrency: 2,
  // Added to a mutant's expected time (its tests' time in the dry run × 1.5) before it counts as an endless loop:
  // the command runner's expected time has no Vitest start-up in it; the vitest runner's has, and a DP sampler
  // mutant that never returns would otherwise hold a worker for a minute.
  timeoutMS: chosen.runner === 'vitest' ? 10_000 : 60_000,
  dryRunTimeoutMinutes: 30,
  mutate: chosen.mutate,
  ignorePatterns: ['reports', 'test-artifacts', 'bench/results', '.keyhole'],
  thresholds: { high: 95, low: 90, break: 90 },
  reporters: ['clear-text', 'html', 'json', 'progress'],
  htmlReporter: { fileName: `reports/mutation/${report}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${report}/mutation.json` },
  incremental: true,
  incrementalFile: `reports/mutation/${report}/incremental.json`,
  tempDirName: 'reports/.stryker-tmp',
  cleanTempDir: 'always',
};
