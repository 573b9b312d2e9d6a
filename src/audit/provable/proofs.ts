import type { Queryable } from '../../sql/index.ts';
import { latestCheckpoint } from '../checkpoint.ts';
import {
  type Checkpoint,
  consistencyProof,
  inclusionProof,
  type NoteVerifier,
  openNote,
  parseCheckpointBody,
  verifyConsistency,
  verifyInclusion,
} from '../merkle/index.ts';
import type { AuditRecord } from '../record.ts';
import { type AuditRow, recordFromRow } from '../row.ts';
import { ProvableAuditError } from './errors.ts';
import { auditLeafHash, leafIndexOf } from './leaf.ts';
import { nodeReader, toHex } from './tree-store.ts';

export const INCLUSION_PROOF_FORMAT = 'keyhole-audit-inclusion-proof/1';

/** Everything a regulator needs to check, with the public key only, that a record is in the log a checkpoint signed. */
export interface InclusionProofDocument {
  format: typeof INCLUSION_PROOF_FORMAT;
  /** The record as stored; its leaf is SHA-256(0x00 || its canonical JSON). */
  record: AuditRecord;
  leafIndex: number;
  treeSize: number;
  /** RFC 9162 §2.1.3 inclusion path, hex, leaf to root. */
  proof: string[];
  /** The signed checkpoint (C2SP signed note) of `treeSize`. */
  checkpoint: string;
}

interface SignedRow {
  size: number | string;
  note: string;
}

/** The latest signed checkpoint the log holds, or null before the first one. */
export async function latestSignedCheckpoint(db: Queryable): Promise<{ size: number; note: string } | null> {
  const row = (await db.query<SignedRow>('SELECT size, note FROM audit_checkpoints_signed ORDER BY size DESC LIMIT 1')).rows[0];
  return row ? { size: Number(row.size), note: row.note } : null;
}

async function recordAt(db: Queryable, seq: number): Promise<AuditRecord> {
  const row = (await db.query<AuditRow>('SELECT * FROM audit_log WHERE seq = $1', [seq])).rows[0];
  if (row) return recordFromRow(row);
  const pruned = (await latestCheckpoint(db)).seq;
  if (seq <= pruned) {
    throw new ProvableAuditError(
      'AUDIT_RECORD_PRUNED',
      `record ${seq} was pruned (records 1-${pruned} are gone under a retention checkpoint): its content can no longer be proved, though its leaf stays in the tree`,
    );
  }
  throw new ProvableAuditError('AUDIT_RECORD_UNKNOWN', `the audit log has no record ${seq}`);
}

/** An inclusion proof of record `seq` against the latest signed checkpoint. */
export async function proveRecord(db: Queryable, seq: number): Promise<InclusionProofDocument> {
  const record = await recordAt(db, seq);
  const checkpoint = await latestSignedCheckpoint(db);
  if (!checkpoint || checkpoint.size < seq) {
    const covered = checkpoint ? `the latest covers records 1-${checkpoint.size}` : 'none has been signed yet';
    throw new ProvableAuditError('AUDIT_NO_CHECKPOINT', `record ${seq} is not under a signed checkpoint yet (${covered}): try again after the next one`);
  }
  const proof = await inclusionProof(leafIndexOf(seq), checkpoint.size, nodeReader(db));
  return {
    format: INCLUSION_PROOF_FORMAT,
    record,
    leafIndex: leafIndexOf(seq),
    treeSize: checkpoint.size,
    proof: proof.map(toHex),
    checkpoint: checkpoint.note,
  };
}

/** A signed checkpoint's tree head, or why it is not one (a bad signature, another log's). */
export function openCheckpoint(note: string, verifier: NoteVerifier): Checkpoint {
  try {
    return parseCheckpointBody(openNote(note, [verifier]).body);
  } catch (error) {
    throw new ProvableAuditError('AUDIT_CHECKPOINT_INVALID', `the checkpoint is not signed by the checkpoint key: ${(error as Error).message}`);
  }
}

const HEX_HASH = /^[0-9a-f]{64}$/;

function hashesOf(hexes: unknown): Uint8Array[] {
  if (!Array.isArray(hexes) || !hexes.every((hex) => typeof hex === 'string' && HEX_HASH.test(hex))) {
    throw new ProvableAuditError('AUDIT_PROOF_INVALID', 'the proof is not a list of 64-digit hex hashes');
  }
  return hexes.map((hex: string) => new Uint8Array(Buffer.from(hex, 'hex')));
}

/**
 * Checks an inclusion proof offline, with the checkpoint public key only: the note's signature, the record's leaf
 * recomputed from the record itself, and the path from that leaf to the signed root. The checkpoint, else throws.
 */
export function checkInclusionProof(document: InclusionProofDocument, verifier: NoteVerifier): Checkpoint {
  if (document?.format !== INCLUSION_PROOF_FORMAT) throw new ProvableAuditError('AUDIT_PROOF_INVALID', `not a ${INCLUSION_PROOF_FORMAT} document`);
  const checkpoint = openCheckpoint(document.checkpoint, verifier);
  if (checkpoint.size !== document.treeSize) {
    throw new ProvableAuditError('AUDIT_PROOF_INVALID', `the proof is for a tree of ${document.treeSize} records but the checkpoint signs ${checkpoint.size}`);
  }
  if (document.leafIndex !== leafIndexOf(Number(document.record?.seq))) {
    throw new ProvableAuditError('AUDIT_PROOF_INVALID', `leaf ${document.leafIndex} is not the place of record ${document.record?.seq}`);
  }
  const leaf = auditLeafHash(document.record);
  if (!verifyInclusion(leaf, document.leafIndex, document.treeSize, hashesOf(document.proof), checkpoint.root)) {
    throw new ProvableAuditError(
      'AUDIT_PROOF_INVALID',
      `record ${document.record.seq} as given is not in the log the checkpoint signed (changed, or the proof is wrong)`,
    );
  }
  return checkpoint;
}

export interface ConsistencyProofDocument {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
  verified: boolean;
}

/** RFC 9162 §2.1.4: the tree at size2 extends the tree at size1, proved from stored nodes and checked against the roots. */
export async function proveConsistency(
  db: Queryable,
  old: Pick<Checkpoint, 'size' | 'root'>,
  current: Pick<Checkpoint, 'size' | 'root'>,
): Promise<ConsistencyProofDocument> {
  if (old.size > current.size)
    throw new ProvableAuditError('AUDIT_PROOF_INVALID', `the older tree (${old.size}) must not be larger than the newer (${current.size})`);
  const proof = await consistencyProof(old.size, current.size, nodeReader(db));
  return {
    size1: old.size,
    size2: current.size,
    root1: toHex(old.root),
    root2: toHex(current.root),
    proof: proof.map(toHex),
    verified: verifyConsistency(old.size, current.size, proof, old.root, current.root),
  };
}
