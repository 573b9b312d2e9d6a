import { randomUUID } from 'node:crypto';
import type { FieldAccess } from '../audit/index.ts';
import type { UntrustedTextAction } from '../config/index.ts';
import type { Principal } from '../identity/index.ts';
import type { View } from '../policy/view.ts';
import type { Queryable } from '../sql/index.ts';

/** What a request did, as its audit record's `operation_kind` names it. */
export type OperationKind = 'query' | 'dp_aggregate' | 'encrypted_aggregate' | 'officer_review';

/** One differentially private release within a request, as its record keeps it. */
export type PrivacyRelease = {
  /** The response key that carries it (the alias when there is one). */
  field: string;
  table: string;
  mechanism: string;
  /** What the release says it cost, as reported to the agent. */
  epsilon: number;
  delta: number;
  rho: number | null;
  replayed: boolean;
  /** Identifies an identical query, whose answer later requests replay for free. */
  queryKey?: string;
};

/**
 * What a request's releases spent in all (nothing for a replayed one), as its record's `privacy_cost` keeps it.
 * A type, not an interface, so it is a JSON object to the audit record too.
 */
export type RequestPrivacyCost = {
  /** The releases' mechanism, or `mixed`. */
  mechanism: string;
  replayed: boolean;
  epsilon: number;
  delta: number;
  rho: number | null;
  releases: PrivacyRelease[];
};

/** Rows of one table that transfer rules kept out of an allowed answer, with the jurisdictions withheld. */
export interface WithheldRows {
  table: string;
  /** At most WITHHELD_COUNT_CAP: a read counts no further. */
  rows: number;
  /** Present when the count stopped at the cap: there were at least `rows`. */
  atLeast?: true;
  jurisdictions: readonly string[];
}

/** One root field an officer asked, with its arguments (customer ids only as pseudonyms). */
export interface OfficerQuery {
  field: string;
  args: Record<string, unknown>;
}

/** What an encrypted aggregate asked, over which key, and how many rows it summed once known. */
export interface EncryptedAggregateAsked {
  /** Its response key (an alias when the request asked several). */
  field: string;
  table: string;
  column: string;
  key: string;
  operation: string;
  /** The agent's `where`, as it sent it. */
  filter: Record<string, unknown> | null;
  weights?: unknown;
  keyFingerprint?: string;
  scheme?: string;
  rowCount?: number;
}

/**
 * What the scan of untrusted-text fields did in a request (src/agent-controls/injection): per field, values scanned
 * and flagged, and the policy's action on the flagged ones. Counts only, never the text.
 */
export type UntrustedTextTally = {
  action: UntrustedTextAction;
  fields: Array<{ field: string; scanned: number; flagged: number }>;
};

/** What one request touched, accumulated by resolvers and written into its audit record. */
export interface AccessTally {
  operationKind: OperationKind;
  /** The answer is an aggregate over people (DP, HE), not rows of them: compliance judges the two apart. */
  aggregate: boolean;
  /** Rows of people were read (shapeRows): a request holding these beside an aggregate is judged as rows. */
  readsRows: boolean;
  tables: Set<string>;
  fields: Map<string, FieldAccess>;
  /** Fields the request selected rows by (its `where`): using an identifier to look people up is regulated too. */
  lookups: Map<string, FieldAccess>;
  rowCount: number;
  /** Subject pseudonym -> jurisdiction. */
  subjects: Map<string, string | null>;
  privacyCost: RequestPrivacyCost | null;
  findings: Array<Record<string, unknown>>;
  // The rest fill the record's `details` (auditDetails), each under the key its comment names, and only when set.
  /** `withheld`: for the officers' record only; the agent is told no more than `withholding`. */
  withheld: WithheldRows[];
  /** `claimedAgent`: who a refused agent token claimed to be, when no principal was established. */
  claimedAgent: string | null;
  /** `claimedId`: the same on the officer endpoint. */
  claimedOfficer: string | null;
  /** `officerQueries`. */
  officerQueries: OfficerQuery[];
  /** `encryptedAggregates`: every encrypted aggregate the request asked, in the order they ran. */
  encryptedAggregates: EncryptedAggregateAsked[];
  /** `untrustedText`. */
  untrustedText: UntrustedTextTally | null;
  /** `rulesVersion`: the stored rules version (rules_versions.id) whose files decided the request. */
  rulesVersion: number | null;
  /**
   * `transport`: how the agent reached the broker when not by GraphQL over HTTP itself (`mcp-http`: a tool call on
   * /mcp). Set by the broker's own code on the request it makes, never from anything the agent sends.
   */
  transport: string | null;
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
   * about withholding (the audit record keeps the counts, from `access.withheld`).
   */
  withholding: Map<string, readonly string[]>;
  /**
   * Where the request's statements run while it executes (useTransactionScope): a transaction of its own, which
   * also commits its audit record, when it writes state; else the database, its record group-committed after.
   */
  tx: Queryable | null;
  audited: boolean;
  /**
   * The token that passed the DPoP gate for this request (a bound token's proof verified and spent, or no proof
   * needed). A tool call's inner /graphql request starts with the /mcp request's: that proof was for /mcp and is
   * spent, and the inner request, which the broker makes, has none. Set by the broker's code only, never from a header.
   */
  dpopPassedToken: string | null;
}

const states = new WeakMap<Request, RequestState>();

export function newAccessTally(operationKind: OperationKind = 'query'): AccessTally {
  return {
    operationKind,
    aggregate: false,
    readsRows: false,
    tables: new Set(),
    fields: new Map(),
    lookups: new Map(),
    rowCount: 0,
    subjects: new Map(),
    privacyCost: null,
    findings: [],
    withheld: [],
    claimedAgent: null,
    claimedOfficer: null,
    officerQueries: [],
    encryptedAggregates: [],
    untrustedText: null,
    rulesVersion: null,
    transport: null,
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
      dpopPassedToken: null,
    };
    states.set(request, state);
  }
  return state;
}

export interface KeyholeContext {
  request: Request;
}
