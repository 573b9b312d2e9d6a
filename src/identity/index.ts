export * from './errors.ts';
export * from './signing-keys.ts';
export * from './tokens.ts';
export * from './revocation.ts';
export * from './revoked-drafts.ts';
export * from './verified-tokens.ts';
export * from './dpop.ts';
export * from './dpop-gate.ts';
