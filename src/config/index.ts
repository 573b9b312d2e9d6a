export * from './yaml-source.ts';
export * from './catalog.ts';
export * from './agents.ts';
export * from './issuers.ts';
export * from './zones.ts';
export * from './policies.ts';
export * from './project.ts';
export * from './secrets.ts';
