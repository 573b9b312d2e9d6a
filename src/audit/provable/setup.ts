import type { Log } from '../../log.ts';
import type { Db } from '../../sql/index.ts';
import { type CheckpointConfig, checkpointConfigFrom, checkpointSinkOf } from './checkpoint-config.ts';
import { type CheckpointKey, loadCheckpointKey } from './checkpoint-key.ts';
import { Checkpointer } from './checkpointer.ts';
import { ensureAuditTree } from './tree-store.ts';

export interface CheckpointSetup {
  config: CheckpointConfig;
  key: CheckpointKey;
}

/** Read before the database is opened: a bad setting or a missing production key stops the start. */
export async function loadCheckpointSetup(dataDir: string, env: NodeJS.ProcessEnv): Promise<CheckpointSetup> {
  const config = checkpointConfigFrom(dataDir, env);
  return { config, key: await loadCheckpointKey(dataDir, config.origin, env) };
}

/**
 * Refuses a sink that could not take or keep checkpoints (unwritable, unreachable, a bucket without object lock), then
 * catches the tree up with a log older than it and signs checkpoints in the background until stopped.
 */
export async function startCheckpointing(db: Db, setup: CheckpointSetup, log: Log): Promise<Checkpointer> {
  const sink = checkpointSinkOf(setup.config);
  await sink.check();
  await ensureAuditTree(db);
  const checkpointer = new Checkpointer({ db, key: setup.key, config: setup.config, sink, log });
  checkpointer.start();
  return checkpointer;
}
