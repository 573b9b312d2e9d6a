export { addEncryptedNoise, type BatchInput, encryptedMean, encryptedSum } from './aggregate.ts';
export { encryptBatch, type PlainValues } from './batches.ts';
export { type CiphertextEnvelope, decodeEnvelope, decodeResultEnvelope, encodeEnvelope, encodeResultEnvelope } from './envelope.ts';
export { HeError, HeInputError, HeInternalError, HeKeyMismatchError, HeOverflowError, HeSecretKeyRefusedError } from './errors.ts';
export {
  type DecryptedResult,
  KEY_FILES,
  type KeyManifest,
  type KeyPair,
  type PublicKeyFileNames,
  type SecretKeyMaterial,
  decryptResult,
  decryptWithKey,
  generateKeys,
  publicBundleOf,
  readManifest,
  readPublicKeyDirectory,
  writeKeyDirectory,
} from './keyholder.ts';
export {
  BFV_MAX_SAFE_TOTAL,
  BFV_PLAIN_MODULUS,
  CKKS_ABS_ERROR_PER_BATCH,
  CKKS_RELATIVE_ERROR,
  CKKS_MAX_ABS_TOTAL,
  CKKS_SCALE,
  type HeScheme,
  HE_SCHEMES,
  type OverflowBounds,
  assertNoOverflow,
  ckksErrorBound,
  getParams,
} from './params.ts';
export { type PublicKeyBundle, PublicMaterial, openPublicMaterial } from './public-material.ts';
export {
  type BatchLocation,
  type EncryptColumnOptions,
  type EncryptColumnProgress,
  type StoredBatch,
  type StoredColumn,
  type ValueBounds,
  clearPublicMaterialCache,
  dropStoredColumn,
  encryptColumn,
  loadPublicMaterial,
  quoteIdentifier,
  readBatches,
  registerKey,
  storeBatch,
  storedColumn,
  streamBatches,
} from './store.ts';
