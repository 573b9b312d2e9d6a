import { getOperationAST } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { AuditBatcher, appendAuditRecord } from '../audit/index.ts';
import type { BrokerSecrets, ProjectConfig } from '../config/index.ts';
import { auditDraft } from '../graphql/audit-draft.ts';
import { useAuditedExecution } from '../graphql/plugins/use-audited-execution.ts';
import { useErrorHygiene } from '../graphql/plugins/use-error-hygiene.ts';
import { useRequestGate } from '../graphql/plugins/use-request-gate.ts';
import { requestState, type KeyholeContext, type RequestState } from '../graphql/request-state.ts';
import type { TokenKeys } from '../identity/index.ts';
import type { Log } from '../log.ts';
import type { Db } from '../sql/index.ts';
import { createOfficerSchema } from './schema.ts';
import { useOfficerIdentity } from './use-officer-identity.ts';

export const OFFICER_GRAPHQL_PATH = '/officer/graphql';

/** The query text and operation name for the review's audit record; the name also when only the document carries it. */
function useOperationCapture(): Plugin {
  return {
    onParams({ params, request }) {
      const state = requestState(request);
      state.query = params.query ?? null;
      state.operationName = params.operationName ?? null;
    },
    onExecute({ args }) {
      const state = requestState((args.contextValue as KeyholeContext).request);
      state.operationName ??= getOperationAST(args.document, args.operationName)?.name?.value ?? null;
    },
  };
}

export interface OfficerYogaOptions {
  db: Db;
  config: ProjectConfig;
  tokenKeys: TokenKeys;
  secrets: BrokerSecrets;
  log: Log;
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
  return createYoga({
    graphqlEndpoint: OFFICER_GRAPHQL_PATH,
    schema: createOfficerSchema({ config: options.config, secrets: options.secrets }),
    graphiql: false,
    landingPage: false,
    batching: false,
    logging: false,
    maskedErrors: true,
    // The page is served from this origin; no other site's script needs to read officer answers.
    cors: false,
    plugins: [
      useRequestGate(OFFICER_GRAPHQL_PATH),
      useOfficerIdentity({ graphqlPath: OFFICER_GRAPHQL_PATH, keys: options.tokenKeys, registry: options.config.registry, recordRefusal }),
      useOperationCapture(),
      useErrorHygiene(),
      useAuditedExecution({
        db: options.db,
        auditKey: options.secrets.auditKey,
        batcher: new AuditBatcher(options.db, options.secrets.auditKey),
        log: options.log,
        // An officer's decision commits with its audit record, or not at all.
        writesState: (field) => field === 'decideApproval',
      }),
    ],
  });
}
