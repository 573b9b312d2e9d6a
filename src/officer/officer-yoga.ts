import { getOperationAST } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { AuditBatcher, appendAuditRecord } from '../audit/index.ts';
import type { BrokerSecrets, ProjectConfig } from '../config/index.ts';
import { auditDraft } from '../graphql/audit-draft.ts';
import { useEndpointOnly } from '../graphql/endpoint.ts';
import { useAuditedExecution } from '../graphql/plugins/use-audited-execution.ts';
import { useDrainGate } from '../graphql/plugins/use-drain-gate.ts';
import { DEFAULT_REQUEST_DEADLINE_MS } from '../graphql/yoga.ts';
import { useErrorHygiene } from '../graphql/plugins/use-error-hygiene.ts';
import { useRecordEveryResult } from '../graphql/plugins/use-record-every-result.ts';
import { useRequestGate } from '../graphql/plugins/use-request-gate.ts';
import { useNoParserEcho } from '../graphql/plugins/use-no-parser-echo.ts';
import { useRequestId } from '../graphql/plugins/use-request-id.ts';
import { captureParams, type RecordRefusal } from '../graphql/request-params.ts';
import { newAccessTally, requestState, type KeyholeContext, type RequestState } from '../request/state.ts';
import type { Drain } from '../http/drain.ts';
import type { TokenKeys } from '../identity/index.ts';
import type { Log } from '../log.ts';
import type { Db } from '../sql/index.ts';
import { createOfficerSchema } from './schema.ts';
import { useOfficerIdentity } from './use-officer-identity.ts';

export const OFFICER_GRAPHQL_PATH = '/officer/graphql';

/** The query text and operation name for the review's audit record; the name also when only the document carries it. */
function useOperationCapture(recordRefusal: RecordRefusal): Plugin {
  return {
    onParams: ({ params, request }) => captureParams(requestState(request), params, recordRefusal),
    onExecute({ args }) {
      const state = requestState((args.contextValue as KeyholeContext).request);
      state.operationName ??= getOperationAST(args.document, args.operationName)?.name?.value ?? null;
    },
  };
}

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
}

/**
 * The officers' endpoint: its own schema, officer tokens only, and the same audited execution as agents'
 * requests — each review is a record in the chain it reviews, committed before its answer leaves.
 */
export function createOfficerYoga(options: OfficerYogaOptions) {
  const recordRefusal = async (state: RequestState, code: string, reason: string) => {
    try {
      await options.db.transaction((tx) => appendAuditRecord(tx, options.secrets.auditKey, auditDraft(state, 'denied', code, reason)));
      state.audited = true;
    } catch (error) {
      options.log({ level: 'error', msg: 'audit record of an officer refusal could not be written', requestId: state.requestId, error: String(error) });
    }
  };
  const batcher = new AuditBatcher(options.db, options.secrets.auditKey);
  options.drain?.onFlush(() => batcher.flush());
  options.drain?.onStop(() => batcher.stop());
  return createYoga({
    graphqlEndpoint: OFFICER_GRAPHQL_PATH,
    schema: createOfficerSchema({ config: options.config, secrets: options.secrets }),
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
      useOfficerIdentity({ keys: options.tokenKeys, registry: options.config.registry, recordRefusal }),
      useDrainGate(() => options.drain?.draining ?? false, recordRefusal),
      useRecordEveryResult(recordRefusal),
      useOperationCapture(recordRefusal),
      useErrorHygiene(),
      useAuditedExecution({
        db: options.db,
        auditKey: options.secrets.auditKey,
        batcher,
        log: options.log,
        // An officer's decision commits with its audit record, or not at all.
        writesState: (field) => field === 'decideApproval',
        deadlineMs: options.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS,
      }),
    ],
  });
}
