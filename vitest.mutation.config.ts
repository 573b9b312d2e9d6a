import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The suite Stryker kills mutants with (stryker.config.mjs): the unit tests only. End-to-end suites start
// brokers and databases and would take hours under mutation. (mergeConfig would append to `include`.)
// MUTATION_TESTS narrows it to the unit tests of the area under mutation (stryker.config.mjs).
export default defineConfig({ ...base, test: { ...base.test, include: [process.env.MUTATION_TESTS ?? 'test/unit/**/*.test.ts'] } });
