// Mutation testing of the privacy core, one area at a time: `MUTATION_AREA=dp npx stryker run` (npm run mutation
// runs every area). docs/testing.md says how to run it and lists every surviving mutant.
//
// Stryker's vitest runner keeps one Vitest alive per worker and runs, for each mutant, only the unit tests that
// reached it (perTest coverage), through test/mutation/vitest5-runner.mjs: the runner as published selects
// no test under Vitest 5 (see that file). End-to-end suites start brokers and would take hours here; the unit
// suites hold the guarantees that used to be reachable only end to end (docs/testing.md).
const AREAS = {
  dp: {
    // Every file of the folder but its index (re-exports) and aggregate-query.ts, which only sequences the
    // others for one GraphQL answer (admit, plan, query, release, charge) and is tested end to end.
    mutate: ['src/dp/*.ts', '!src/dp/index.ts', '!src/dp/aggregate-query.ts'],
  },
  masking: {
    // dictionaries.ts is word lists for substitute: data, not logic; every mutant of it is a changed word.
    mutate: ['src/masking/functions/*.ts', '!src/masking/functions/dictionaries.ts'],
  },
  audit: {
    mutate: ['src/audit/record.ts', 'src/audit/row.ts', 'src/audit/verify.ts', 'src/audit/checkpoint.ts'],
  },
  identity: {
    mutate: ['src/identity/tokens.ts', 'src/identity/token-lifetime.ts', 'src/identity/verified-tokens.ts', 'src/identity/revocation.ts'],
  },
};

const area = process.env.MUTATION_AREA ?? '';
const chosen = AREAS[area];
if (!chosen) throw new Error(`set MUTATION_AREA to one of ${Object.keys(AREAS).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest5',
  plugins: ['@stryker-mutator/*', './test/mutation/vitest5-runner.mjs'],
  coverageAnalysis: 'perTest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  // Stryker rewrites the tsconfig's paths through the TypeScript JS API, which TypeScript 7 (native) no longer
  // has; ours has no extends or references to rewrite, so it is pointed at a file that does not exist.
  tsconfigFile: 'tsconfig.stryker-skips-this.json',
  // Two cores, shared with whoever else is testing on the machine.
  concurrency: 2,
  timeoutMS: 60_000,
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
