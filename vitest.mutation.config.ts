import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The suite Stryker kills mutants with (stryker.config.mjs): the unit tests only. End-to-end suites start
// brokers and databases and would take hours under mutation. (mergeConfig would append to `include`.)
export default defineConfig({ ...base, test: { ...base.test, include: ['test/unit/**/*.test.ts'] } });
