import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/broker.ts';

const DOCS = join(PROJECT_ROOT, 'docs');
// A Markdown image: ![alt](path), the path up to a space (a title may follow) or the closing bracket.
const IMAGE_LINK = /!\[[^\]]*\]\(([^)\s]+)/g;

/** Every image a page of docs/ shows, as [page, path relative to the project]. */
async function docImages(): Promise<Array<[string, string]>> {
  const pages = (await readdir(DOCS)).filter((name) => name.endsWith('.md'));
  const links = await Promise.all(
    pages.map(async (page) => [...(await readFile(join(DOCS, page), 'utf8')).matchAll(IMAGE_LINK)].map((m): [string, string] => [page, join('docs', m[1]!)])),
  );
  return links.flat();
}

/** The text of every test source, where the tests that take the screenshots name their files. */
async function testSources(dir = join(PROJECT_ROOT, 'test')): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  const texts = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return testSources(path);
      return entry.name.endsWith('.ts') ? readFile(path, 'utf8') : Promise.resolve('');
    }),
  );
  return texts.join('\n');
}

describe('the pictures in docs/', () => {
  it('exist, and each is written by a test, so a picture shows what the code does today', async () => {
    const images = await docImages();
    expect(images.length).toBeGreaterThan(0);
    const sources = await testSources();
    const missing = images.filter(([, path]) => !existsSync(join(PROJECT_ROOT, path)));
    expect(missing, 'images the docs show that are not in the repository').toEqual([]);
    const unwritten = images.filter(([, path]) => !sources.includes(`'${basename(path)}'`));
    expect(unwritten, 'images no test writes (name the file in the test that takes the screenshot)').toEqual([]);
    expect(images.every(([, path]) => dirname(path) === join('docs', 'images'))).toBe(true);
  });
});
