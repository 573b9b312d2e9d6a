export * from './budgets.ts';
export * from './report.ts';
export * from './store.ts';
export * from './zones-in-force.ts';
