import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { listApprovals } from '../../src/approvals/index.ts';
import { TOKEN_ALG } from '../../src/identity/index.ts';
import { PROJECT_ROOT, type TestBroker } from '../support/broker.ts';
import { type KeyholeCli, keyholeCli, withCliWorld } from '../support/cli.ts';
import type { TestDatabase } from '../support/databases.ts';

const WITH_ID = '{ customers { id full_name national_id } }';

/** kyc-bot asks for national ids: one pending approval, whose id is returned. */
async function pendingApproval(t: TestDatabase, kh: TestBroker): Promise<string> {
  expect((await kh.graphql(await kh.token('kyc-bot'), WITH_ID)).body.errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');
  const [pending] = await listApprovals(t.db, 'pending');
  return String(pending!.id);
}

/** Runs a command the CLI must refuse: its exit code and what it said. */
async function refusal(keyhole: KeyholeCli, ...args: string[]): Promise<{ code: number; stderr: string }> {
  const failed = await keyhole(...args).then(
    () => null,
    (error: { code: number; stderr: string }) => error,
  );
  expect(failed, `keyhole ${args.join(' ')} should fail`).not.toBeNull();
  return { code: failed!.code, stderr: failed!.stderr };
}

/** A token for the dpo as the broker's keys would sign it, but with claims of the test's choosing. */
function officerToken(key: CryptoKey, kid: string, times: { iat: number; exp: number }): Promise<string> {
  return new SignJWT({ kh_kind: 'officer' })
    .setProtectedHeader({ alg: TOKEN_ALG, kid, typ: 'JWT' })
    .setSubject('dpo')
    .setIssuer('keyhole')
    .setAudience('keyhole-broker')
    .setIssuedAt(times.iat)
    .setJti(randomUUID())
    .setExpirationTime(times.exp)
    .sign(key);
}

const cliEnv = (t: TestDatabase, kh: TestBroker, extra: NodeJS.ProcessEnv = {}) =>
  keyholeCli({ ...process.env, DATABASE_URL: t.url!, KEYHOLE_DATA_DIR: kh.dataDir, KEYHOLE_ROOT: PROJECT_ROOT, ...extra });

describe('approvals decided from the CLI by an officer token', () => {
  it('records the decision, and its audit record, under the officer the token names (--token or the environment)', async () => {
    await withCliWorld(async ({ t, kh, keyhole }) => {
      const first = await pendingApproval(t, kh);
      const approved = await keyhole('approvals', 'approve', first, '--for', '2h', '--reason', 'KYC case 4411', '--token', await kh.token('dpo'));
      expect(approved.stdout).toMatch(/'approved'.*by dpo'/);
      await t.db.query("UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = $1", [first]);

      const second = await pendingApproval(t, kh);
      const fromEnv = cliEnv(t, kh, { KEYHOLE_OFFICER_TOKEN: await kh.token('dpo') });
      await fromEnv('approvals', 'deny', second, '--reason', 'no onboarding in progress');
      const decided = await listApprovals(t.db);
      expect(decided.map((a) => [a.id, a.status, a.decidedBy])).toEqual(
        expect.arrayContaining([
          [Number(first), 'approved', 'dpo'],
          [Number(second), 'denied', 'dpo'],
        ]),
      );
      const records = await t.db.query<{ actor_kind: string; actor_id: string; details: { approval: number; status: string; via: string } }>(
        `SELECT actor_kind, actor_id, details FROM audit_log WHERE operation_kind = 'approval_decision' ORDER BY seq`,
      );
      expect(records.rows.map((r) => [r.actor_kind, r.actor_id, r.details.approval, r.details.status, r.details.via])).toEqual([
        ['officer', 'dpo', Number(first), 'approved', 'cli'],
        ['officer', 'dpo', Number(second), 'denied', 'cli'],
      ]);
    });
  });

  it('refuses no token, --by, an agent token, an expired or forged token, with exit code 1, deciding nothing', async () => {
    await withCliWorld(async ({ t, kh, keyhole }) => {
      const id = await pendingApproval(t, kh);
      const signing = kh.broker.tokenKeys.signing!;
      const now = Math.floor(Date.now() / 1000);
      const forger = await generateKeyPair(TOKEN_ALG);
      const cases: Array<[string[], RegExp]> = [
        [[], /approvals approve is decided by a privacy officer: pass --token <officer token> or set KEYHOLE_OFFICER_TOKEN/],
        [['--by', 'alice'], /no longer takes --by: .* pass --token or set KEYHOLE_OFFICER_TOKEN/],
        [['--token', await kh.token('support-bot')], /the token names agent "support-bot", not a privacy officer/],
        [['--token', await officerToken(signing.key, signing.kid, { iat: now - 7200, exp: now - 3600 })], /the officer token is refused: .*\(TOKEN_EXPIRED\)/],
        [['--token', await officerToken(forger.privateKey, signing.kid, { iat: now, exp: now + 600 })], /the officer token is refused: .*\(TOKEN_INVALID\)/],
      ];
      for (const [args, message] of cases) {
        const refused = await refusal(keyhole, 'approvals', 'approve', id, ...args);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(message);
      }
      expect((await listApprovals(t.db, 'pending')).map((a) => String(a.id))).toEqual([id]);
      expect((await keyhole('approvals', 'approve', '--help')).stdout).toContain('KEYHOLE_OFFICER_TOKEN');
    });
  });

  it('takes a DPoP-bound officer token only with the private key it is bound to (--dpop-key)', async () => {
    await withCliWorld(async ({ t, kh, keyhole }) => {
      const id = await pendingApproval(t, kh);
      const keyFile = async (name: string, jwk: object) => {
        const file = join(kh.dataDir, name);
        await writeFile(file, JSON.stringify(jwk));
        return file;
      };
      const own = await generateKeyPair('EdDSA', { extractable: true });
      const ownPrivate = await exportJWK(own.privateKey);
      const ownFile = await keyFile('dpo.jwk', ownPrivate);
      const publicFile = await keyFile('dpo-public.jwk', await exportJWK(own.publicKey));
      const otherFile = await keyFile('other.jwk', await exportJWK((await generateKeyPair('EdDSA', { extractable: true })).privateKey));
      // The thumbprint of the public part, with another key's private part: it signs, but not as the bound key.
      const mismatchedFile = await keyFile('mismatched.jwk', { ...ownPrivate, d: JSON.parse(await readFile(otherFile, 'utf8')).d });
      const bound = (await keyhole('token', '--agent', 'dpo', '--dpop-jwk', publicFile)).stdout.trim();
      const cases: Array<[string[], RegExp]> = [
        [[], /the officer token is DPoP-bound: pass --dpop-key <private JWK file>/],
        [['--dpop-key', publicFile], /holds a public key; the private JWK \(with "d"\) shows you hold the key/],
        [['--dpop-key', otherFile], /is not the key the officer token is bound to/],
        [['--dpop-key', mismatchedFile], /its private part does not match its public part/],
      ];
      for (const [args, message] of cases) {
        const refused = await refusal(keyhole, 'approvals', 'approve', id, '--token', bound, ...args);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(message);
      }
      expect((await listApprovals(t.db, 'pending')).map((a) => String(a.id))).toEqual([id]);
      const approved = await keyhole('approvals', 'approve', id, '--token', bound, '--dpop-key', ownFile, '--reason', 'KYC case 4412');
      expect(approved.stdout).toMatch(/'approved'.*by dpo'/);
    });
  });
});
