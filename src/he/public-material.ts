import type { BatchEncoder, CKKSEncoder, Encryptor, Evaluator, GaloisKeys, PublicKey } from 'node-seal';
import { HeInputError, HeSecretKeyRefusedError } from './errors.ts';
import { expectKeyBlob, keyFingerprint } from './key-blob.ts';
import { type HeParams, type HeScheme, galoisSteps, getParams } from './params.ts';
import { assertSealPayload } from './seal-bytes.ts';
import { HandleScope, loadingInput } from './seal.ts';

/**
 * The public half of a key pair as key files (see keyholder.ts): what the key holder hands to the
 * broker and what the `he_keys` registry stores. `secretKey?: never` makes passing a key pair a type
 * error; `openPublicMaterial` refuses one at run time too.
 */
export interface PublicKeyBundle {
  scheme: HeScheme;
  paramsId: string;
  fingerprint: string;
  publicKey: Uint8Array;
  relinKeys: Uint8Array;
  galoisKeys: Uint8Array;
  secretKey?: never;
}

/**
 * Loaded public keys, ready to encrypt and evaluate: the only key material broker-side functions accept.
 * Holds SEAL objects on the WASM heap (~35 MB, mostly Galois keys); `dispose()` frees them.
 */
export class PublicMaterial {
  readonly scheme: HeScheme;
  readonly paramsId: string;
  readonly fingerprint: string;
  readonly slotCount: number;
  /** @internal the SEAL objects below are for this folder's modules only. */
  readonly params: HeParams;
  readonly publicKey: PublicKey;
  readonly galoisKeys: GaloisKeys;
  readonly encryptor: Encryptor;
  readonly evaluator: Evaluator;
  readonly encoder: BatchEncoder | CKKSEncoder;
  readonly #scope: HandleScope;

  constructor(params: HeParams, fingerprint: string, scope: HandleScope, keys: { publicKey: PublicKey; galoisKeys: GaloisKeys }) {
    const { seal, context } = params;
    this.scheme = params.scheme;
    this.paramsId = params.paramsId;
    this.fingerprint = fingerprint;
    this.slotCount = params.slotCount;
    this.params = params;
    this.#scope = scope;
    this.publicKey = keys.publicKey;
    this.galoisKeys = keys.galoisKeys;
    this.encryptor = scope.add(new seal.Encryptor(context, keys.publicKey));
    this.evaluator = scope.add(new seal.Evaluator(context));
    this.encoder = scope.add(params.scheme === 'bfv' ? new seal.BatchEncoder(context) : new seal.CKKSEncoder(context));
  }

  dispose(): void {
    this.#scope[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Throws unless `value` is loaded public material: the guard every broker-side entry point runs first. */
export function assertPublicMaterial(value: unknown): asserts value is PublicMaterial {
  if (typeof value === 'object' && value !== null && 'secretKey' in value) {
    throw new HeSecretKeyRefusedError('a secret key was passed to a broker function; the broker accepts public keys only');
  }
  if (!(value instanceof PublicMaterial)) throw new HeInputError('expected public material from openPublicMaterial or loadPublicMaterial');
}

/**
 * Checks and loads a public key bundle. Every file is checked for kind (a secret key is refused),
 * parameter set and fingerprint before SEAL parses it. Relinearisation keys are checked but not
 * loaded: sums and masks never multiply two ciphertexts.
 */
export async function openPublicMaterial(bundle: PublicKeyBundle): Promise<PublicMaterial> {
  if (typeof bundle !== 'object' || bundle === null) throw new HeInputError('a public key bundle must be an object');
  if ('secretKey' in bundle) throw new HeSecretKeyRefusedError('the key bundle includes a secret key; give the broker the public parts only');
  const params = await getParams(bundle.scheme);
  if (bundle.paramsId !== params.paramsId) {
    throw new HeInputError(`key bundle is for parameters ${bundle.paramsId}, but this Keyhole uses ${params.paramsId} for ${bundle.scheme}`);
  }
  const publicPayload = expectKeyBlob(bundle.publicKey, 'public', params.paramsId, 'public key');
  if (keyFingerprint(bundle.publicKey) !== bundle.fingerprint) throw new HeInputError('public key does not match the bundle fingerprint');
  const relinPayload = expectKeyBlob(bundle.relinKeys, 'relin', params.paramsId, 'relinearisation keys');
  const galoisPayload = expectKeyBlob(bundle.galoisKeys, 'galois', params.paramsId, 'Galois keys');
  for (const [payload, what] of [
    [publicPayload, 'public key'],
    [relinPayload, 'relinearisation keys'],
    [galoisPayload, 'Galois keys'],
  ] as const) {
    assertSealPayload(payload, params.maxKeyBytes, what);
  }

  const { seal, context } = params;
  const scope = new HandleScope();
  try {
    const publicKey = scope.add(new seal.PublicKey());
    loadingInput('public key', () => publicKey.loadFromArray(context, publicPayload));
    const galoisKeys = scope.add(new seal.GaloisKeys());
    loadingInput('Galois keys', () => galoisKeys.loadFromArray(context, galoisPayload));
    if (galoisKeys.size() < galoisSteps(params.scheme).length) throw new HeInputError('Galois keys lack the power-of-two rotations rotate-and-sum needs');
    return new PublicMaterial(params, bundle.fingerprint, scope, { publicKey, galoisKeys });
  } catch (error) {
    scope[Symbol.dispose]();
    throw error;
  }
}
