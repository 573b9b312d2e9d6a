import type { TestBroker } from './broker.ts';

export interface Readiness {
  status: string;
  rules: { version: number; hash: string; pending: Array<{ file: string; line: number; field: string; message: string }> };
}

export async function readyz(kh: TestBroker): Promise<Readiness> {
  return (await (await kh.broker.fetch(new Request('http://keyhole.test/readyz'))).json()) as Readiness;
}

/** Polls /readyz until `done` holds (a reload is debounced, then loaded, checked and recorded). */
export async function readyzUntil(kh: TestBroker, done: (r: Readiness) => boolean): Promise<Readiness> {
  for (let waited = 0; waited < 8000; waited += 25) {
    const readiness = await readyz(kh);
    if (done(readiness)) return readiness;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`/readyz did not change within 8 s: ${JSON.stringify(await readyz(kh))}`);
}
