import { expect } from 'vitest';
import { IdentityError } from '../../src/identity/index.ts';

/** The code of the IdentityError a token check refused with (and that it refused at all). */
export async function refusalCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IdentityError);
  return (error as IdentityError).code;
}
