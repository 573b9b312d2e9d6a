import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { NoteError } from './errors.ts';

/** A C2SP signed note (https://c2sp.org/signed-note), as golang.org/x/mod/sumdb/note reads and writes it. */

export interface NoteSigner {
  name: string;
  /** 4 bytes: the first of SHA-256(name || 0x0A || type || public key). */
  keyId: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  name: string;
  keyId: Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

const ED25519_TYPE = 0x01;
const ED25519_PUBLIC_BYTES = 32;
const KEY_ID_BYTES = 4;
const SIGNATURE_PREFIX = '— ';
/** As the Go reader: bounds the work a note can ask of a verifier (the spec asks for at least 16). */
const MAX_SIGNATURES = 100;
/** Unicode spaces (Go's unicode.IsSpace, which also counts U+0085) and the vkey separator. */
const NAME_FORBIDDEN = /[\s\u0085+]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the spec forbids exactly these characters
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f]/;

function isValidName(name: string): boolean {
  return name !== '' && name.isWellFormed() && !NAME_FORBIDDEN.test(name);
}

function keyIdOf(name: string, typedKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(name).update('\n').update(typedKey).digest().subarray(0, KEY_ID_BYTES));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function rawEd25519PublicKey(key: KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  if (key.asymmetricKeyType !== 'ed25519' || typeof x !== 'string') throw new NoteError('NOTE_BAD_KEY', 'a note key must be an Ed25519 key');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

/** The signer for `privateKey` under `name`, and the vkey ("name+keyid+base64(0x01 || public key)") verifiers are given. */
export function ed25519NoteKeys(name: string, privateKey: KeyObject): { signer: NoteSigner; verifierKey: string } {
  if (!isValidName(name)) throw new NoteError('NOTE_BAD_KEY', `a key name must be non-empty, with no spaces or "+": ${JSON.stringify(name)}`);
  if (privateKey.type !== 'private') throw new NoteError('NOTE_BAD_KEY', 'signing a note needs the private key');
  const typedKey = Uint8Array.of(ED25519_TYPE, ...rawEd25519PublicKey(createPublicKey(privateKey)));
  const keyId = keyIdOf(name, typedKey);
  return {
    signer: { name, keyId, sign: (message) => new Uint8Array(sign(null, message, privateKey)) },
    verifierKey: `${name}+${hex(keyId)}+${encodeBase64(typedKey)}`,
  };
}

export function noteVerifierFromKey(vkey: string): NoteVerifier {
  const [name = '', id = '', ...keyParts] = vkey.split('+');
  // base64 has "+" of its own: the key is everything after the second separator.
  const typedKey = decodeBase64(keyParts.join('+'));
  if (!isValidName(name) || !/^[0-9a-fA-F]{8}$/.test(id) || !typedKey)
    throw new NoteError('NOTE_BAD_KEY', 'a verifier key is "name+keyid+base64(type || public key)"');
  if (typedKey[0] !== ED25519_TYPE || typedKey.length !== 1 + ED25519_PUBLIC_BYTES)
    throw new NoteError('NOTE_BAD_KEY', 'the verifier key is not a 32-byte Ed25519 key (type 0x01)');
  const keyId = keyIdOf(name, typedKey);
  if (hex(keyId) !== id.toLowerCase()) throw new NoteError('NOTE_BAD_KEY', `the verifier key's id ${id} is not the hash of its name and key`);
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(typedKey.subarray(1)).toString('base64url') }, format: 'jwk' });
  return { name, keyId, verify: (message, signature) => verify(null, message, publicKey, signature) };
}

export function signNote(body: string, signers: readonly NoteSigner[]): string {
  assertWellFormedText(body);
  if (!body.endsWith('\n')) throw new NoteError('NOTE_MALFORMED', 'a note body ends with a newline');
  const message = Buffer.from(body, 'utf8');
  const lines = signers.map((signer) => {
    if (!isValidName(signer.name) || signer.keyId.length !== KEY_ID_BYTES)
      throw new NoteError('NOTE_BAD_KEY', `the signer ${JSON.stringify(signer.name)} has an invalid name or key id`);
    return `${SIGNATURE_PREFIX}${signer.name} ${encodeBase64(Uint8Array.of(...signer.keyId, ...signer.sign(message)))}\n`;
  });
  return `${body}\n${lines.join('')}`;
}

function assertWellFormedText(text: string): void {
  if (!text.isWellFormed() || CONTROL_EXCEPT_NEWLINE.test(text))
    throw new NoteError('NOTE_MALFORMED', 'a note is UTF-8 with no control characters but newlines');
}

/**
 * Opens a signed note: every signature by a known key (same name AND key id) must verify, at least one must,
 * and signatures by unknown keys are ignored as the spec requires (they may be witnesses' cosignatures).
 * `verifiedBy` lists the names of the keys whose signatures verified.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): { body: string; verifiedBy: string[] } {
  assertWellFormedText(note);
  // The body may hold blank lines itself: the signatures start after the last one.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('NOTE_MALFORMED', 'a signed note has a blank line before its signatures');
  const body = note.slice(0, split + 1);
  const signatureBlock = note.slice(split + 2);
  if (signatureBlock === '' || !signatureBlock.endsWith('\n'))
    throw new NoteError('NOTE_MALFORMED', 'a signed note ends with signature lines, each ending in a newline');
  const lines = signatureBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError('NOTE_MALFORMED', `a note carries at most ${MAX_SIGNATURES} signatures`);
  const message = Buffer.from(body, 'utf8');
  const verifiedBy = new Set<string>();
  for (const line of lines) {
    const { name, keyId, signature } = parseSignatureLine(line);
    const known = verifiers.filter((v) => v.name === name && hex(v.keyId) === hex(keyId));
    if (known.length === 0) continue;
    if (known.length > 1) throw new NoteError('NOTE_BAD_KEY', `more than one verifier is configured for the key ${name}+${hex(keyId)}`);
    if (!known[0]!.verify(message, signature)) throw new NoteError('NOTE_BAD_SIGNATURE', `the signature by ${name}+${hex(keyId)} does not verify`);
    verifiedBy.add(name);
  }
  if (verifiedBy.size === 0) throw new NoteError('NOTE_UNVERIFIED', 'the note has no signature by a known key');
  return { body, verifiedBy: [...verifiedBy] };
}

function parseSignatureLine(line: string): { name: string; keyId: Uint8Array; signature: Uint8Array } {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw new NoteError('NOTE_MALFORMED', `a signature line starts with "${SIGNATURE_PREFIX}": ${JSON.stringify(line)}`);
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const bytes = space < 0 ? null : decodeBase64(rest.slice(space + 1));
  if (!isValidName(name) || !bytes || bytes.length <= KEY_ID_BYTES) {
    throw new NoteError('NOTE_MALFORMED', `a signature line is "${SIGNATURE_PREFIX}name base64(keyid || signature)": ${JSON.stringify(line)}`);
  }
  return { name, keyId: bytes.subarray(0, KEY_ID_BYTES), signature: bytes.subarray(KEY_ID_BYTES) };
}
