import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ed25519NoteKeys, type NoteSigner } from '../merkle/index.ts';
import { ProvableAuditError } from './errors.ts';

/** The checkpoint signer and its public half as a note verifier key (`name+hex8+base64`), published at a route. */
export interface CheckpointKey {
  signer: NoteSigner;
  verifierKey: string;
  source: string;
}

async function devKey(dataDir: string): Promise<{ key: KeyObject; source: string }> {
  const file = join(dataDir, 'checkpoint-key.pem');
  try {
    return { key: createPrivateKey(await readFile(file, 'utf8')), source: `development checkpoint key in ${file}` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  return { key: privateKey, source: `new development checkpoint key, made just now in ${file}` };
}

/**
 * KEYHOLE_CHECKPOINT_PRIVATE_KEY (Ed25519, PKCS#8 PEM), else a development key made once in the data dir — refused
 * under NODE_ENV=production, where whoever reads the data dir could then sign a rewritten log's checkpoints. Never
 * the token key: a checkpoint key must vouch for the log alone, and be rotated or held apart on its own.
 */
export async function loadCheckpointKey(dataDir: string, name: string, env: NodeJS.ProcessEnv = process.env): Promise<CheckpointKey> {
  const pem = env.KEYHOLE_CHECKPOINT_PRIVATE_KEY;
  if (pem && pem.trim() === env.KEYHOLE_TOKEN_PRIVATE_KEY?.trim()) {
    throw new ProvableAuditError('AUDIT_CHECKPOINT_KEY_MISSING', 'KEYHOLE_CHECKPOINT_PRIVATE_KEY is the token key: give checkpoints a key of their own');
  }
  if (!pem && env.NODE_ENV === 'production') {
    throw new ProvableAuditError(
      'AUDIT_CHECKPOINT_KEY_MISSING',
      'NODE_ENV=production needs KEYHOLE_CHECKPOINT_PRIVATE_KEY (an Ed25519 PKCS#8 PEM) to sign audit checkpoints; a key in the data dir would sign a rewritten log too',
    );
  }
  const { key, source } = pem ? { key: createPrivateKey(pem), source: 'KEYHOLE_CHECKPOINT_PRIVATE_KEY' } : await devKey(dataDir);
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ProvableAuditError('AUDIT_CHECKPOINT_KEY_MISSING', `the checkpoint key must be Ed25519, got ${key.asymmetricKeyType}`);
  }
  const { signer, verifierKey } = ed25519NoteKeys(name, key);
  return { signer, verifierKey, source };
}
