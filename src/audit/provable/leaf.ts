import { leafHash } from '../merkle/index.ts';
import { type AuditRecord, canonicalJson } from '../record.ts';

/**
 * What the tree commits to for one record: the UTF-8 of its canonical JSON (keys sorted at every depth) as stored,
 * chain hash included, exactly the `record` object `audit prove` prints and `audit export` writes (less `subjects`).
 * A regulator holding that record recomputes its leaf without any key: SHA-256(0x00 || these bytes).
 */
export function auditLeafData(record: AuditRecord | Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(canonicalJson(record));
}

export const auditLeafHash = (record: AuditRecord | Record<string, unknown>): Uint8Array => leafHash(auditLeafData(record));

/** Record seq n is leaf n - 1: seqs start at 1 and the writer never leaves a gap. */
export const leafIndexOf = (seq: number): number => seq - 1;
