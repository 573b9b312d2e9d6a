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
    runner: 'command',
  },
  identity: {
    mutate: ['src/identity/*.ts', '!src/identity/index.ts'],
    tests: 'test/unit/identity-*.test.ts',
    runner: 'command',
  },
};

const area = process.env.MUTATION_AREA ?? '';
const chosen = AREAS[area];
if (!chosen) throw new Error(`set MUTATION_AREA to one of ${Object.keys(AREAS).join(', ')}`);
// The unit tests of the area (vitest.mutation.config.ts reads this; Stryker's test processes inherit it): the
// dry run, which runs them all once under coverage counters in one thread, stays within minutes.
process.env.MUTATION_TESTS = chosen.tests;

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
  timeoutMS: 60_000,
  dryRunTimeoutMinutes: 30,
  mutate: chosen.mutate,
  ignorePatterns: ['reports', 'test-artifacts', 'bench/results', '.keyhole'],
  thresholds: { high: 95, low: 90, break: 90 },
  reporters: ['clear-text', 'html', 'json', 'progress'],
  htmlReporter: { fileName: `reports/mutation/${area}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${area}/mutation.json` },
  incremental: true,
  incrementalFile: `reports/mutation/${area}/incremental.json`,
  tempDirName: 'reports/.stryker-tmp',
  cleanTempDir: 'always',
};
