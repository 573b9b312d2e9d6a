// Mutation testing of the privacy core, one area at a time: `MUTATION_AREA=dp npx stryker run` (npm run mutation
// runs every area). docs/testing.md says how to run it and lists every surviving mutant.
//
// Each mutant runs in a fresh vitest process over the unit tests of its area (Stryker's command runner, which
// activates the mutant through __STRYKER_ACTIVE_MUTANT__). The vitest runner plugin cannot be used with Vitest 5:
// it selects a mutant's tests by a name pattern joined with spaces, and Vitest 5 joins suite and test names with
// " > ", so no test ran and every mutant survived. End-to-end suites start brokers and would take hours here.
const AREAS = {
  dp: {
    mutate: [
      'src/dp/accountant.ts',
      'src/dp/mechanisms.ts',
      'src/dp/noise.ts',
      'src/dp/partition-selection.ts',
      'src/dp/quantile.ts',
      'src/dp/rational.ts',
      'src/dp/request-spend.ts',
      'src/dp/samplers.ts',
    ],
    tests: 'test/unit/dp-*.test.ts',
  },
  masking: {
    // dictionaries.ts is word lists for substitute: data, not logic; every mutant of it is a changed word.
    mutate: ['src/masking/functions/*.ts', '!src/masking/functions/dictionaries.ts'],
    tests: 'test/unit/masking-functions.test.ts test/unit/masking-boundaries.test.ts test/unit/masking-catalogue.test.ts test/unit/masking-keys.test.ts',
  },
  audit: {
    mutate: ['src/audit/record.ts', 'src/audit/row.ts', 'src/audit/verify.ts', 'src/audit/checkpoint.ts'],
    tests: 'test/unit/audit-chain-tamper.test.ts test/unit/audit-record.test.ts',
  },
  identity: {
    mutate: ['src/identity/tokens.ts', 'src/identity/token-lifetime.ts', 'src/identity/verified-tokens.ts', 'src/identity/revocation.ts'],
    tests: 'test/unit/identity-*.test.ts',
  },
};

const area = process.env.MUTATION_AREA ?? '';
const chosen = AREAS[area];
if (!chosen) throw new Error(`set MUTATION_AREA to one of ${Object.keys(AREAS).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  // MUTATION_TESTS narrows the killing suite while iterating on one file (docs/testing.md).
  commandRunner: { command: `npx vitest run --config vitest.mutation.config.ts --bail 1 --maxWorkers 1 --reporter dot ${process.env.MUTATION_TESTS ?? chosen.tests}` },
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
