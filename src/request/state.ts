import { randomUUID } from 'node:crypto';
import type { FieldAccess } from '../audit/index.ts';
import type { Principal } from '../identity/index.ts';
import type { View } from '../policy/view.ts';
import type { Queryable } from '../sql/index.ts';

/** What one request touched, accumulated by resolvers and written into its audit record. */
export interface AccessTally {
  operationKind: string;
  /** The answer is an aggregate over people (DP, HE), not rows of them: compliance judges the two apart. */
  aggregate: boolean;
  tables: Set<string>;
  fields: Map<string, FieldAccess>;
  /** Fields the request selected rows by (its `where`): using an identifier to look people up is regulated too. */
  lookups: Map<string, FieldAccess>;
  rowCount: number;
  /** Subject pseudonym -> jurisdiction. */
  subjects: Map<string, string | null>;
  privacyCost: Record<string, unknown> | null;
  findings: Array<Record<string, unknown>>;
  details: Record<string, unknown>;
}

export interface RequestState {
  requestId: string;
  startedAt: number;
  principal: Principal | null;
  view: View | null;
  query: string | null;
  operationName: string | null;
  access: AccessTally;
  /**
   * Tables read whose view withholds some subject jurisdictions, with those jurisdictions: all the agent is told
   * about withholding (the audit record keeps the counts in `access.details.withheld`).
   */
  withholding: Map<string, readonly string[]>;
  /**
   * Where the request's statements run while it executes (useTransactionScope): a transaction of its own, which
   * also commits its audit record, when it writes state; else the database, its record group-committed after.
   */
  tx: Queryable | null;
  audited: boolean;
}

const states = new WeakMap<Request, RequestState>();

export function newAccessTally(operationKind = 'query'): AccessTally {
  return {
    operationKind,
    aggregate: false,
    tables: new Set(),
    fields: new Map(),
    lookups: new Map(),
    rowCount: 0,
    subjects: new Map(),
    privacyCost: null,
    findings: [],
    details: {},
  };
}

/** Per-request state keyed by the Request object, never on globals (envelop's WeakMap pattern). */
export function requestState(request: Request): RequestState {
  let state = states.get(request);
  if (!state) {
    const incoming = request.headers.get('x-request-id');
    state = {
      requestId: incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID(),
      startedAt: performance.now(),
      principal: null,
      view: null,
      query: null,
      operationName: null,
      access: newAccessTally(),
      withholding: new Map(),
      tx: null,
      audited: false,
    };
    states.set(request, state);
  }
  return state;
}

export interface KeyholeContext {
  request: Request;
}
