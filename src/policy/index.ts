export * from './capabilities.ts';
export * from './delegation.ts';
export * from './exposure.ts';
export * from './view.ts';
export * from './fail-closed.ts';
export * from './subject-jurisdictions.ts';
export * from './where.ts';
export * from './zone.ts';
