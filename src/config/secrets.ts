import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Keys that never leave the broker: the audit chain's HMAC key, the masking key (pseudonyms, tokens)
 * and the key that turns data-subject ids into the pseudonyms kept in the audit log.
 * Production sets them in the environment (base64, 32 bytes); embedded mode makes them once in the data dir.
 */
export interface BrokerSecrets {
  auditKey: Buffer;
  maskingKey: Buffer;
  maskingKeyId: string;
  subjectKey: Buffer;
}

const ENV_NAMES = { auditKey: 'KEYHOLE_AUDIT_KEY', maskingKey: 'KEYHOLE_MASKING_KEY', subjectKey: 'KEYHOLE_SUBJECT_KEY' } as const;

const fileSchema = z.object({ auditKey: z.string(), maskingKey: z.string(), maskingKeyId: z.string(), subjectKey: z.string() });

function decodeKey(name: string, base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length < 32) throw new Error(`${name} must be at least 32 bytes, base64-encoded`);
  return key;
}

export async function loadBrokerSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<BrokerSecrets> {
  const file = join(dataDir, 'secrets.json');
  let stored: z.output<typeof fileSchema>;
  try {
    stored = fileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is unreadable: ${(error as Error).message}`);
    stored = {
      auditKey: randomBytes(32).toString('base64'),
      maskingKey: randomBytes(32).toString('base64'),
      maskingKeyId: `k${Date.now().toString(36)}`,
      subjectKey: randomBytes(32).toString('base64'),
    };
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600, flag: 'wx' });
  }
  return {
    auditKey: decodeKey(ENV_NAMES.auditKey, env[ENV_NAMES.auditKey] ?? stored.auditKey),
    maskingKey: decodeKey(ENV_NAMES.maskingKey, env[ENV_NAMES.maskingKey] ?? stored.maskingKey),
    maskingKeyId: env.KEYHOLE_MASKING_KEY_ID ?? stored.maskingKeyId,
    subjectKey: decodeKey(ENV_NAMES.subjectKey, env[ENV_NAMES.subjectKey] ?? stored.subjectKey),
  };
}

export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KEYHOLE_DATA_DIR || join(process.cwd(), '.keyhole');
}
