export * from './db.ts';
export { createPgDb } from './pg-adapter.ts';
export { createPgliteDb } from './pglite-adapter.ts';
export * from './conditions.ts';
export * from './select.ts';
export { migrate } from './migrate.ts';
