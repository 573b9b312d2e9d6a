import { readFile } from 'node:fs/promises';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { closestChoice } from './choices.ts';

export type ConfigPath = ReadonlyArray<string | number>;

/** One problem in a user-edited file, located so a steward can jump straight to it. */
export interface ConfigIssue {
  file: string;
  line: number;
  field: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}: ${issue.field ? `${issue.field}: ` : ''}${issue.message}`;
}

/** A config file that failed to load; carries every issue found, not just the first. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatPath(path: ConfigPath): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

/** Zod's message, with the value a misspelt choice most likely meant. */
function withSuggestion(issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code !== 'invalid_value') return issue.message;
  const written = issue.path.reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key], root);
  const nearest = typeof written === 'string' ? closestChoice(written, issue.values.map(String)) : undefined;
  return nearest ? `${issue.message}; did you mean "${nearest}"?` : issue.message;
}

/** A parsed YAML file that can say on which line any path of it stands. */
export class YamlSource {
  readonly file: string;
  readonly value: unknown;
  private readonly doc: Document;
  private readonly lines: LineCounter;

  constructor(file: string, text: string) {
    this.file = file;
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    const syntax = this.doc.errors.map((error) => ({
      file,
      // `linePos` is only filled in with prettyErrors; the offset is always there.
      line: this.lines.linePos(error.pos[0]).line,
      field: '',
      message: error.message.split('\n')[0] ?? error.message,
    }));
    if (syntax.length > 0) throw new ConfigError(syntax);
    this.value = this.doc.toJS({ maxAliasCount: 100 });
  }

  /** Reads `file`; issues name it `name` (a path relative to the project, so a steward's editor can open it). */
  static async read(file: string, name = file): Promise<YamlSource> {
    return new YamlSource(name, await readFile(file, 'utf8'));
  }

  /** The line of the deepest node on `path` that exists (the key's line for a missing field). */
  lineOf(path: ConfigPath): number {
    for (let depth = path.length; depth >= 0; depth--) {
      const prefix = path.slice(0, depth);
      const node = prefix.length === 0 ? this.doc.contents : this.doc.getIn(prefix, true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
      if (depth > 0) {
        const keyLine = this.keyLine(prefix);
        if (keyLine !== undefined) return keyLine;
      }
    }
    return 1;
  }

  private keyLine(path: ConfigPath): number | undefined {
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    if (!parent || typeof parent !== 'object' || !('items' in parent) || !Array.isArray(parent.items)) return undefined;
    for (const item of parent.items as unknown[]) {
      if (item && typeof item === 'object' && 'key' in item && isNode(item.key) && 'value' in item.key) {
        if (String(item.key.value) === String(path[path.length - 1]) && item.key.range) {
          return this.lines.linePos(item.key.range[0]).line;
        }
      }
    }
    return undefined;
  }

  issue(path: ConfigPath, message: string): ConfigIssue {
    return { file: this.file, line: this.lineOf(path), field: formatPath(path), message };
  }

  /** Validates the whole file with zod; every zod issue becomes a located ConfigIssue. */
  parse<S extends z.ZodType>(schema: S): z.output<S> {
    const result = schema.safeParse(this.value);
    if (result.success) return result.data;
    throw new ConfigError(result.error.issues.map((zodIssue) => this.issue(zodIssue.path as ConfigPath, withSuggestion(zodIssue, this.value))));
  }
}
