/**
 * Hot reload of `masking-rules/`: on a change (debounced) the rules are loaded and checked again; a valid
 * set replaces the one in force, an invalid one is refused and logged, and the last good set stays.
 */
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigIssue, formatIssue, type ProjectConfig } from '../../config/index.ts';
import type { Log } from '../../log.ts';
import type { MaskingKeys } from '../mask-functions.ts';
import { loadMaskingRules, RULES_DIR } from './load.ts';
import { deciderFor, type VersionedDecider } from './stage.ts';

export interface RulesWatcherOptions {
  root: string;
  config: ProjectConfig;
  keys: MaskingKeys;
  /** The version in force when watching starts. */
  version: string;
  log: Log;
  /** Puts a valid set in force; if it throws, the set is refused like an invalid one and the rules in force stay. */
  onReload: (decider: VersionedDecider) => void | Promise<void>;
  /**
   * After each reload attempt, the problems of the files on disk: every one found in a refused edit (the rules in
   * force stay; the broker shows them on /readyz), none once the files load again.
   */
  onProblems?: (problems: readonly ConfigIssue[]) => void;
  debounceMs?: number;
}

export interface RulesWatcher {
  close(): void;
}

export function watchMaskingRules(options: RulesWatcherOptions): RulesWatcher {
  const dir = join(options.root, RULES_DIR);
  let version = options.version;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const reload = async () => {
    try {
      const set = await loadMaskingRules(options.root, options.config, options.keys);
      const decider = deciderFor(set, options.keys);
      if (closed) return;
      options.onProblems?.([]);
      if (decider.version === version) return;
      await options.onReload(decider);
      options.log({ level: 'info', msg: 'masking rules reloaded', version: decider.version, previous: version, rules: set.rules.length });
      version = decider.version;
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues : [{ file: RULES_DIR, line: 0, field: '', message: String(error) }];
      options.log({ level: 'warn', msg: 'masking rules rejected; the rules in force stay', version, problems: issues.map(formatIssue) });
      if (!closed) options.onProblems?.(issues);
    }
  };
  // One reload at a time; changes during a reload trigger one more afterwards.
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = reload().finally(() => {
      running = undefined;
      if (again && !closed) {
        again = false;
        run();
      }
    });
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(run, options.debounceMs ?? 200);
    });
  } catch (error) {
    options.log({ level: 'warn', msg: `cannot watch ${dir}; masking rules will not reload without a restart`, error: String(error) });
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
