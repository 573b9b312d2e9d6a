import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  CheckpointError,
  checkpointBody,
  ed25519NoteKeys,
  leafHash,
  NoteError,
  noteVerifierFromKey,
  openNote,
  parseCheckpointBody,
  signNote,
} from '../../src/audit/merkle/index.ts';
import { hex } from '../support/merkle.ts';

/*
 * Test vectors of golang.org/x/mod/sumdb/note (note_test.go: TestNewVerifier, TestSign, TestOpen) at commit
 * fe2ec04f, and the example of https://c2sp.org/signed-note (C2SP/C2SP signed-note.md at commit 5ba5ee83).
 */
const PETER_PRIVATE = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const C2SP_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

/** A Go note private key is "PRIVATE+KEY+name+id+base64(0x01 || 32-byte seed)"; node imports a seed as PKCS#8. */
function privateKeyFromGoSkey(skey: string): KeyObject {
  const seed = Buffer.from(skey.split('+').slice(4).join('+'), 'base64').subarray(1);
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

const peter = ed25519NoteKeys('PeterNeumann', privateKeyFromGoSkey(PETER_PRIVATE));
const peterVerifier = noteVerifierFromKey(PETER_VKEY);
const enochVerifier = noteVerifierFromKey(ENOCH_VKEY);

function refusal(open: () => unknown): { code: string; message: string } {
  try {
    open();
  } catch (error) {
    if (error instanceof NoteError || error instanceof CheckpointError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('signed notes against the Go sumdb/note vectors', () => {
  it('derives the published key id and verifier key from the private key', () => {
    expect(hex(peter.signer.keyId)).toBe('c74f20a3');
    expect(peter.verifierKey).toBe(PETER_VKEY);
    expect(hex(peterVerifier.keyId)).toBe('c74f20a3');
  });

  it('signs to the published note, byte for byte (Ed25519 is deterministic)', () => {
    expect(signNote(TEXT, [peter.signer])).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('opens a note signed by a known key and ignores a signature by an unknown one', () => {
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peterVerifier])).toEqual({ body: TEXT, verifiedBy: ['PeterNeumann'] });
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peterVerifier, enochVerifier]).verifiedBy).toEqual(['PeterNeumann', 'EnochRoot']);
  });

  it('opens the C2SP signed-note example with its verifier key', () => {
    expect(openNote(C2SP_NOTE, [noteVerifierFromKey(C2SP_VKEY)])).toEqual({ body: 'This is an example message.\n', verifiedBy: ['example.com/foo'] });
  });

  it('refuses every substring and every one-character change of a verifier key, and keys Go refuses', () => {
    for (let start = 0; start < PETER_VKEY.length; start++) {
      for (let end = start + 1; end <= PETER_VKEY.length; end++) {
        if (start !== 0 || end !== PETER_VKEY.length) expect(refusal(() => noteVerifierFromKey(PETER_VKEY.slice(start, end))).code).toBe('NOTE_BAD_KEY');
      }
    }
    for (let i = 0; i < PETER_VKEY.length; i++) {
      const changed = PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1);
      expect(refusal(() => noteVerifierFromKey(changed)).code).toBe('NOTE_BAD_KEY');
    }
    // Go's key of the wrong length and key of an unknown algorithm, each with its key id recomputed to match.
    expect(refusal(() => noteVerifierFromKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==')).code).toBe('NOTE_BAD_KEY');
    expect(refusal(() => noteVerifierFromKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).message).toMatch(/type 0x01/);
  });

  it('refuses an Ed25519 verifier key that is not 32 bytes, even with a matching key id', () => {
    const typedKey = Buffer.from('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'base64').subarray(0, 32);
    const keyId = createHash('sha256').update('PeterNeumann\n').update(typedKey).digest('hex').slice(0, 8);
    expect(refusal(() => noteVerifierFromKey(`PeterNeumann+${keyId}+${typedKey.toString('base64')}`)).message).toMatch(/32-byte Ed25519/);
  });
});

describe('signed notes refused', () => {
  const stranger = ed25519NoteKeys('PeterNeumann', generateKeyPairSync('ed25519').privateKey);

  it('refuses a forged signature: right name and key id, made with another key', () => {
    const forged = signNote(TEXT, [{ ...stranger.signer, keyId: peter.signer.keyId }]);
    expect(refusal(() => openNote(forged, [peterVerifier]))).toEqual({
      code: 'NOTE_BAD_SIGNATURE',
      message: 'the signature by PeterNeumann+c74f20a3 does not verify',
    });
  });

  it('refuses a signature whose bytes were changed (the Go vector)', () => {
    expect(refusal(() => openNote(`${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`, [peterVerifier])).code).toBe('NOTE_BAD_SIGNATURE');
  });

  it('refuses a note signed only by unknown keys, even one sharing the name', () => {
    expect(refusal(() => openNote(signNote(TEXT, [stranger.signer]), [peterVerifier]))).toEqual({
      code: 'NOTE_UNVERIFIED',
      message: 'the note has no signature by a known key',
    });
    expect(refusal(() => openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [])).code).toBe('NOTE_UNVERIFIED');
  });

  it('refuses a modified body', () => {
    const note = signNote(TEXT, [peter.signer]);
    expect(refusal(() => openNote(note.replace('answer', 'ANSWER'), [peterVerifier])).code).toBe('NOTE_BAD_SIGNATURE');
  });

  it.each([
    ['no signature block', TEXT],
    ['a blank line but no signature', `${TEXT}\n`],
    ['a signature line without its newline', `${TEXT}\n${PETER_SIG.slice(0, -1)}`],
    ['a control character', `\u0001${TEXT}\n${PETER_SIG}`],
    ['text that is not valid UTF-16/UTF-8', `\ud800${TEXT}\n${PETER_SIG}`],
    ['a key name with a space', `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`],
    ['a line after the signatures', `${TEXT}\n${PETER_SIG}Unexpected line.\n`],
    ['a signature that is not base64', `${TEXT}\n— PeterNeumann x08go/ZJk!\n`],
    ['a signature of only a key id', `${TEXT}\n— PeterNeumann x08goA==\n`],
    ['more than 100 signatures', `${TEXT}\n${PETER_SIG.repeat(101)}`],
  ])('refuses a note with %s as malformed', (_, note) => {
    expect(refusal(() => openNote(note, [peterVerifier])).code).toBe('NOTE_MALFORMED');
  });

  it('refuses to sign a body without its final newline, and to verify with two verifiers for one key', () => {
    expect(refusal(() => signNote('abc', [peter.signer])).code).toBe('NOTE_MALFORMED');
    expect(refusal(() => openNote(`${TEXT}\n${PETER_SIG}`, [peterVerifier, peterVerifier])).code).toBe('NOTE_BAD_KEY');
  });
});

describe('tlog checkpoints', () => {
  // golang.org/x/mod/sumdb/tlog note_test.go TestFormatTree / TestParseTree (commit fe2ec04f): the same three lines.
  const GO_TREE = 'go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n';
  const goTree: Checkpoint = { origin: 'go.sum database tree', size: 123456789012, root: leafHash(Buffer.from('hello world')) };

  it('formats and parses the Go tlog tree vector', () => {
    expect(checkpointBody(goTree)).toBe(GO_TREE);
    expect(parseCheckpointBody(GO_TREE)).toEqual(goTree);
  });

  it('keeps extension lines after the root', () => {
    const withTime = { ...goTree, extensions: ['time 2026-12-06T19:00:00Z'] };
    expect(checkpointBody(withTime)).toBe(`${GO_TREE}time 2026-12-06T19:00:00Z\n`);
    expect(parseCheckpointBody(`${GO_TREE}JOE\nJOE\n`).extensions).toEqual(['JOE', 'JOE']);
  });

  it('parses the C2SP tlog-checkpoint example', () => {
    const parsed = parseCheckpointBody('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
    expect({ ...parsed, root: Buffer.from(parsed.root).toString('base64') }).toEqual({
      origin: 'example.com/behind-the-sofa',
      size: 20852163,
      root: 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=',
    });
  });

  it.each([
    ['a hex size (Go vector)', 'go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n', /size line/],
    ['a root too long (Go vector)', 'go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n', /root line/],
    ['a size with a leading zero', 'log\n012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n', /size line/],
    ['a size past 2^53', 'log\n9007199254740993\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n', /size line/],
    ['no root line', 'log\n12\n', /origin, a size and a root/],
    ['an empty origin', '\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n', /origin line is empty/],
    ['no final newline', 'log\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=', /ends with a newline/],
    ['an empty extension line', 'log\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n', /extension line is empty/],
  ])('refuses a body with %s', (_, body, reason) => {
    const { code, message } = refusal(() => parseCheckpointBody(body));
    expect(code).toBe('CHECKPOINT_MALFORMED');
    expect(message).toMatch(reason);
  });

  it('round-trips a checkpoint through a signed note', () => {
    const note = signNote(checkpointBody(goTree), [peter.signer]);
    const opened = openNote(note, [peterVerifier]);
    expect(parseCheckpointBody(opened.body)).toEqual(goTree);
  });
});
