import { CliError } from './context.ts';

/** `--claim key=value` pairs as a person's claims: a value with commas is a list of its parts; a key given twice is an error. */
export function personClaims(pairs: readonly string[]): Record<string, string | string[]> {
  const claims: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--claim "${pair}": expected key=value`);
    const key = pair.slice(0, at);
    if (key in claims) throw new CliError(`--claim ${key} is given twice: write a list as ${key}=a,b`);
    const value = pair.slice(at + 1);
    claims[key] = value.includes(',') ? value.split(',') : value;
  }
  return claims;
}
