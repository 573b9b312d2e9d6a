import pino from 'pino';

export type LogEvent = Record<string, unknown> & { level?: 'info' | 'warn' | 'error'; msg?: string };
export type Log = (event: LogEvent) => void;

/** Structured logs, one JSON line per event. Callers never pass returned data values in. */
export function createLog(destination: NodeJS.WritableStream = process.stdout): Log {
  const logger = pino({ base: { service: 'keyhole' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return ({ level = 'info', msg = '', ...rest }) => logger[level](rest, msg);
}

export const silentLog: Log = () => {};
