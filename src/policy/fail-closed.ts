import { isSensitive } from '../config/index.ts';
import type { ExposureDecider } from './exposure.ts';

/** With no masking rule in force: non-sensitive fields are clear, personal and special ones hidden. */
export const failClosedExposure: ExposureDecider = (_table, column) =>
  isSensitive(column) ? { kind: 'hidden', reason: `no masking rule covers ${column.tags.join(', ')} (fail closed)` } : { kind: 'clear', rule: undefined };
