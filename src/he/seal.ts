import initialize, { type MainModule } from 'node-seal';
import { HeError, HeInputError, HeInternalError } from './errors.ts';

export type Seal = MainModule;

let loading: Promise<Seal> | undefined;

/** The SEAL WASM module, compiled once per process on first use. */
export function getSeal(): Promise<Seal> {
  loading ??= initialize().catch((error: unknown) => {
    loading = undefined;
    throw new HeInternalError('could not load the SEAL WebAssembly module', { cause: error });
  });
  return loading;
}

/**
 * SEAL's C++ exceptions reach JS as `WebAssembly.Exception` whose `message` is `[type, what]`;
 * `String(e)` says nothing useful, so pull the text out for our own error.
 */
export function sealMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const message = (error as { message: unknown }).message;
    if (Array.isArray(message)) return message.map(String).join(': ');
    if (typeof message === 'string') return message;
  }
  return String(error);
}

function isSealException(error: unknown): boolean {
  return typeof WebAssembly.Exception === 'function' && error instanceof WebAssembly.Exception;
}

/**
 * Runs a SEAL call on caller-supplied bytes: a SEAL rejection becomes `HeInputError` naming `what`,
 * a WASM trap (abort, out of memory) becomes `HeInternalError`; our own errors pass through.
 */
export function loadingInput<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof HeError) throw error;
    if (isSealException(error)) throw new HeInputError(`${what} was rejected by SEAL: ${sealMessage(error)}`, { cause: error });
    throw new HeInternalError(`SEAL failed while reading ${what}: ${sealMessage(error)}`, { cause: error });
  }
}

/** Runs SEAL computation on already-validated objects: any failure is ours, not the caller's. */
export function computing<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof HeError) throw error;
    throw new HeInternalError(`SEAL failed during ${what}: ${sealMessage(error)}`, { cause: error });
  }
}

/** Frees SEAL handles in reverse order of creation; safe on handles already freed or never created. */
export class HandleScope {
  readonly #handles: { delete(): void; isDeleted(): boolean }[] = [];

  add<T extends { delete(): void; isDeleted(): boolean }>(handle: T): T {
    this.#handles.push(handle);
    return handle;
  }

  [Symbol.dispose](): void {
    for (const handle of this.#handles.reverse()) {
      if (!handle.isDeleted()) handle.delete();
    }
    this.#handles.length = 0;
  }
}
