/**
 * The one watcher of a project's rules files (schema/ and masking-rules/, subfolders included): a change anywhere,
 * debounced, queues one reload; reloads run one at a time, and changes during one trigger one more afterwards.
 */
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../log.ts';
import { RULES_VERSION_DIRS } from './rules-versions.ts';

export interface RulesFilesWatcherOptions {
  root: string;
  log: Log;
  /** Loads the files again and puts them in force or refuses them; it reports its own outcome and never throws. */
  reload: () => Promise<void>;
  debounceMs?: number;
}

export interface RulesFilesWatcher {
  close(): void;
}

export function watchRulesFiles(options: RulesFilesWatcherOptions): RulesFilesWatcher {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = options.reload().finally(() => {
      running = undefined;
      if (again && !closed) {
        again = false;
        run();
      }
    });
  };
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(run, options.debounceMs ?? 200);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of RULES_VERSION_DIRS.map((name) => join(options.root, name))) {
    try {
      watchers.push(watch(dir, { persistent: false, recursive: true }, changed));
    } catch (error) {
      options.log({ level: 'warn', msg: `cannot watch ${dir}; its files will not reload without a restart`, error: String(error) });
    }
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
