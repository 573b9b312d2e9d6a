import { createYoga, type Plugin } from 'graphql-yoga';
import { AuditBatcher } from '../audit/index.ts';
import type { BrokerSecrets, ProjectConfig } from '../config/index.ts';
import type { JurisdictionRules } from '../compliance/index.ts';
import type { Drain } from '../http/drain.ts';
import { useEndpointOnly } from '../http/endpoint.ts';
import { useAudit } from '../http/plugins/use-audit.ts';
import { useDrainGate } from '../http/plugins/use-drain-gate.ts';
import { useErrorHygiene } from '../http/plugins/use-error-hygiene.ts';
import { useNoParserEcho } from '../http/plugins/use-no-parser-echo.ts';
import { useOperationCapture } from '../http/plugins/use-operation-capture.ts';
import { useRecordEveryResult } from '../http/plugins/use-record-every-result.ts';
import { useRequestGate } from '../http/plugins/use-request-gate.ts';
import { useRequestId } from '../http/plugins/use-request-id.ts';
import { useTransactionScope } from '../http/plugins/use-transaction-scope.ts';
import { refusalRecorder } from '../http/refusal-recorder.ts';
import { DEFAULT_REQUEST_DEADLINE_MS } from '../http/request-deadline.ts';
import { DpopGate, type TokenKeys } from '../identity/index.ts';
import type { Log } from '../log.ts';
import { newAccessTally, requestState } from '../request/state.ts';
import type { Db } from '../sql/index.ts';
import { createOfficerSchema } from './schema.ts';
import { useOfficerIdentity } from './use-officer-identity.ts';

export const OFFICER_GRAPHQL_PATH = '/officer/graphql';

/** Every request here is an officer's review, or an attempt at one: so its record says, refused or not. */
function useReviewTally(): Plugin {
  return {
    onRequest({ request }) {
      requestState(request).access = newAccessTally('officer_review');
    },
  };
}

export interface OfficerYogaOptions {
  db: Db;
  config: ProjectConfig;
  tokenKeys: TokenKeys;
  secrets: BrokerSecrets;
  log: Log;
  /** The same deadline as agents' requests (KEYHOLE_REQUEST_DEADLINE_MS): the database enforces one per statement. */
  requestDeadlineMs?: number;
  /** The broker's shutdown: a review that arrives while it drains is refused and recorded, like an agent's request. */
  drain?: Drain;
  /** DPoP proofs (shared with the agents' endpoint); by default one over `db` without a public URL. */
  dpop?: DpopGate;
  /** The jurisdiction rule sets in force, for incident reports; by default read from the files once. */
  jurisdictions?: () => JurisdictionRules;
}

/**
 * The officers' endpoint: its own schema, officer tokens only, and the same audited execution as agents'
 * requests — each review is a record in the chain it reviews, committed before its answer leaves.
 */
export function createOfficerYoga(options: OfficerYogaOptions) {
  const batcher = new AuditBatcher(options.db, options.secrets.auditKey, { log: options.log });
  options.drain?.onFlush(() => batcher.flush());
  options.drain?.onStop(() => batcher.stop());
  const recordRefusal = refusalRecorder(batcher, options.secrets.auditKey, options.log);
  const deadlineMs = options.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS;
  return createYoga({
    graphqlEndpoint: OFFICER_GRAPHQL_PATH,
    schema: createOfficerSchema({ config: options.config, secrets: options.secrets, jurisdictions: options.jurisdictions }),
    graphiql: false,
    landingPage: false,
    batching: false,
    logging: false,
    maskedErrors: true,
    // The page is served from this origin; no other site's script needs to read officer answers. (The agents'
    // server that routes here sends no CORS headers outside its own endpoint either: see useCors.)
    cors: false,
    plugins: [
      useRequestId(),
      useNoParserEcho(),
      useEndpointOnly(OFFICER_GRAPHQL_PATH),
      useReviewTally(),
      useRequestGate({ recordRefusal }),
      useOfficerIdentity({
        keys: options.tokenKeys,
        registry: options.config.registry,
        recordRefusal,
        dpop: options.dpop ?? new DpopGate({ db: options.db, windowSeconds: options.config.registry.tokens.dpopProofWindow }),
      }),
      useDrainGate(() => options.drain?.draining ?? false, recordRefusal),
      useRecordEveryResult(recordRefusal),
      useOperationCapture(recordRefusal),
      useErrorHygiene(),
      useTransactionScope({
        db: options.db,
        // An officer's decision commits with its audit record, or not at all.
        writesState: (field) => ['decideApproval', 'decideZoneChange', 'clearAnomaly', 'clearQuarantine', 'acknowledgeFindings'].includes(field),
        deadlineMs,
      }),
      useAudit({ auditKey: options.secrets.auditKey, batcher, recordRefusal, log: options.log, deadlineMs }),
    ],
  });
}
