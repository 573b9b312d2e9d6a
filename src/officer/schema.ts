import { join } from 'node:path';
import { GraphQLScalarType } from 'graphql';
import { createSchema, type YogaInitialContext } from 'graphql-yoga';
import { buildIncidentReport, IncidentError, type IncidentStatus, listIncidents } from '../agent-controls/incidents/index.ts';
import { type Approval, ApprovalNotPendingError, decideApproval, listApprovals } from '../approvals/index.ts';
import {
  type Anomaly,
  AnomalyNotOpenError,
  clearAnomaly,
  clearQuarantine,
  listAnomalies,
  listQuarantines,
  type Quarantine,
} from '../agent-controls/baselines/index.ts';
import { type AgentZoneReport, agentZoneReport, decideZoneChange, listAgentZones, ZoneChangeNotPendingError } from '../agent-controls/zones/index.ts';
import { type FieldAccess, subjectPseudonym, verifyAuditChainFromPoint } from '../audit/index.ts';
import { listRulesVersions, readRulesVersion } from '../audit/rules-versions.ts';
import { rulesLineDiff } from '../config/rules-line-diff.ts';
import type { BrokerSecrets, Catalog, ProjectConfig } from '../config/index.ts';
import { refusal } from '../request/refusals.ts';
import { requestState, type RequestState } from '../request/state.ts';
import { BigIntScalar, DateTimeScalar } from '../http/scalars.ts';
import { type JurisdictionRules, loadJurisdictionRules, type Outcome, OUTCOMES } from '../compliance/index.ts';
import type { OfficerPrincipal } from '../identity/index.ts';
import type { Queryable } from '../sql/index.ts';
import { budgetUses, unspentBudgets } from './budget-queries.ts';
import * as compliance from './compliance-queries.ts';
import type { AuditFilter } from './filter.ts';
import { acknowledgeFindings, findingGroups, NoSuchFindingGroupError } from './finding-groups.ts';
import * as log from './log-queries.ts';
import { auditConsistency, auditProof, PROOF_TABLES } from './provable-queries.ts';
import { OFFICER_TYPE_DEFS } from './schema.graphql.ts';
import {
  accessesToSubject,
  accessRequestDocument,
  crossBorderFlows,
  customerDirectory,
  identifierKind,
  matchSubject,
  type SubjectDirectory,
  type SubjectIdentifier,
  type SubjectReport,
} from './subject-queries.ts';

export interface OfficerSchemaOptions {
  config: ProjectConfig;
  secrets: BrokerSecrets;
  /** The jurisdiction rule sets in force (they reload with schema/); by default read from the files once. */
  jurisdictions?: (() => JurisdictionRules) | undefined;
}

/** A resolver ran outside the officer pipeline (identity, then audited execution): a wiring bug, never a user error. */
class OfficerPipelineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OfficerPipelineError';
  }
}

const JSONScalar = new GraphQLScalarType({ name: 'JSON', serialize: (value) => value });

const MAX_TEXT = 128;

interface FieldClass {
  tags: readonly string[];
  classes: readonly string[];
}

/** "table.field" → its catalog tags and classes, so the log's field list can be read as sensitivity. */
function fieldClasses(catalog: Catalog): Map<string, FieldClass> {
  const map = new Map<string, FieldClass>();
  for (const table of catalog.tables.values()) {
    for (const column of table.columns.values()) {
      map.set(`${table.name}.${column.name}`, { tags: column.tags, classes: [...column.classes].sort() });
    }
  }
  return map;
}

function checkText(name: string, value: unknown): void {
  if (typeof value === 'string' && value.length > MAX_TEXT) throw refusal('INVALID_ARGUMENT', `"${name}" is longer than ${MAX_TEXT} characters.`);
}

const iso = (value: string | null | undefined) => (value ? new Date(value).toISOString() : null);

/** The filter an officer sent, checked and with explicit from/to arguments taking precedence. */
function readFilter(args: { filter?: AuditFilter | null; from?: string | null; to?: string | null }): AuditFilter {
  const filter = { ...(args.filter ?? {}) };
  for (const key of ['agent', 'onBehalfOf', 'purpose', 'table', 'field', 'jurisdiction'] as const) checkText(key, filter[key]);
  const from = iso(args.from ?? filter.from);
  const to = iso(args.to ?? filter.to);
  if (from && to && from >= to) throw refusal('INVALID_ARGUMENT', '"from" must be before "to".');
  return { ...filter, from, to };
}

/** Why an anomaly or a finding group was acceptable: required, and kept with it. */
function checkNote(note: string): void {
  if (note.trim() === '' || note.length > 1000) throw refusal('INVALID_ARGUMENT', '"note" must say why, in at most 1000 characters.');
}

function checkPage(limit: number, offset: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > log.MAX_PAGE) throw refusal('LIMIT_EXCEEDED', `"limit" must be between 1 and ${log.MAX_PAGE}.`);
  if (!Number.isInteger(offset) || offset < 0) throw refusal('INVALID_ARGUMENT', '"offset" must be 0 or more.');
}

const serialised = new WeakMap<Queryable, Queryable>();

/**
 * The request's statements, one at a time: sibling resolvers run concurrently, but when the request has a
 * transaction of its own that is one connection, which must not be handed overlapping statements.
 */
function oneAtATime(tx: Queryable): Queryable {
  let wrapped = serialised.get(tx);
  if (!wrapped) {
    let tail: Promise<unknown> = Promise.resolve();
    wrapped = {
      query<R>(text: string, params?: readonly unknown[]) {
        const run = tail.then(() => tx.query<R>(text, params));
        tail = run.catch(() => undefined);
        return run;
      },
    };
    serialised.set(tx, wrapped);
  }
  return wrapped;
}

interface Scope {
  db: Queryable;
  officer: OfficerPrincipal;
  state: RequestState;
}

/** What the officer asked, kept in the audit record of the review (customer ids only as pseudonyms). */
function noteQuery(state: RequestState, field: string, args: Record<string, unknown>, reads: readonly string[], result: unknown): void {
  state.access.officerQueries.push({ field, args });
  for (const table of reads) state.access.tables.add(table);
  if (Array.isArray(result)) state.access.rowCount += result.length;
}

/**
 * A top-level officer field: runs on the request's statements (useTransactionScope: a transaction of its own for
 * a decision, which commits with the officer's own record) and notes itself in that record, which useAudit makes
 * durable before anything is returned.
 */
function officerField<A extends Record<string, unknown>, R>(
  field: string,
  reads: readonly string[],
  run: (args: A, scope: Scope) => Promise<R> | R,
  recordedArgs: (args: A, result: R) => Record<string, unknown> = (args) => args,
) {
  return async (_parent: unknown, args: A, context: YogaInitialContext): Promise<R> => {
    const state = requestState(context.request);
    if (state.principal?.kind !== 'officer' || !state.tx) throw new OfficerPipelineError('officer fields run for an officer inside an audited execution');
    const result = await run(args, { db: oneAtATime(state.tx), officer: state.principal, state });
    noteQuery(state, field, recordedArgs(args, result), reads, result);
    return result;
  };
}

type FilterArgs = { filter?: AuditFilter | null; from?: string | null; to?: string | null };
type FindingArgs = FilterArgs & { jurisdiction?: string | null; outcomes?: Outcome[] | null; check?: string | null };

const LOG = ['audit_log'] as const;
const LOG_AND_SUBJECTS = ['audit_log', 'audit_subjects'] as const;
const LEDGER = ['dp_budget'] as const;

/** The record filter and the finding filter of a findings question; the jurisdiction is the finding's. */
function readFindingArgs(args: FindingArgs): { filter: AuditFilter; findingFilter: compliance.FindingFilter } {
  const filter = readFilter(args);
  checkText('jurisdiction', args.jurisdiction);
  checkText('check', args.check);
  return { filter, findingFilter: { jurisdiction: args.jurisdiction ?? filter.jurisdiction, outcomes: args.outcomes, check: args.check } };
}

type AckArgs = { agent?: string | null; check?: string | null; outcome?: Outcome | null; jurisdiction?: string | null; note: string; resolve: boolean };

type WhoHasSeenArgs = { customerId?: string | null; subject?: SubjectIdentifier | null };

/** A calendar date written YYYY-MM-DD that exists (2024-02-30 does not). */
const isDate = (value: unknown) => {
  const day = typeof value === 'string' ? value.trim() : '';
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(day)) && new Date(day).toISOString().slice(0, 10) === day;
};

const text = (value: unknown) => (typeof value === 'string' ? value : null);
const outcome = (value: unknown) => OUTCOMES.find((o) => o === value) ?? null;

function budgetNote(empty: boolean): string {
  return empty
    ? 'No differentially private answer has been charged to a budget in these periods.'
    : "ε spent is the ε that all of the period's spends certify together at the budget's δ, as the ledger checks them (often less than their sum); a replayed answer costs nothing.";
}

export function createOfficerSchema(options: OfficerSchemaOptions) {
  const { catalog, registry } = options.config;
  // Read again when a reload of schema/ replaced the catalog (its tables map is then another object).
  let facts: { tables: Catalog['tables']; classes: Map<string, FieldClass>; specialFields: string[]; directory: SubjectDirectory | null } | undefined;
  const catalogFacts = () => {
    if (facts?.tables !== catalog.tables) {
      const classes = fieldClasses(catalog);
      const specialFields = [...classes].filter(([, c]) => c.classes.includes('special')).map(([key]) => key);
      facts = { tables: catalog.tables, classes, specialFields, directory: customerDirectory(catalog) };
    }
    return facts;
  };
  const classOf = (table: string, field: string): FieldClass => catalogFacts().classes.get(`${table}.${field}`) ?? { tags: [], classes: [] };
  // The tables a who-has-seen review reads, as its record names them: the customers table as the broker started.
  const startDirectory = catalogFacts().directory;
  const whoHasSeenReads = startDirectory ? [...LOG_AND_SUBJECTS, startDirectory.table] : LOG_AND_SUBJECTS;

  /** The customer one identifier names, matched in the customers table, and the answers that held them. */
  async function seenBy(args: WhoHasSeenArgs, db: Queryable): Promise<SubjectReport> {
    const subject = args.subject ?? { customerId: args.customerId };
    for (const [name, value] of Object.entries(subject)) checkText(name, value);
    const kind = identifierKind(subject);
    if (kind === null || (args.subject && args.customerId)) {
      throw refusal('INVALID_ARGUMENT', 'Give exactly one identifier: customerId, email, nationalId, or name with birthDate.');
    }
    if (kind === 'nameAndBirthDate' && !isDate(subject.birthDate)) throw refusal('INVALID_ARGUMENT', '"birthDate" must be a date (YYYY-MM-DD).');
    const { directory } = catalogFacts();
    const match = directory && (await matchSubject(db, directory, kind, subject));
    if (!match) throw refusal('INVALID_ARGUMENT', `The catalog has no customer column for identifier "${kind}".`);
    if (match.matches > 1) return { outcome: 'AMBIGUOUS', matches: match.matches, subject: null, agents: [], accesses: [] };
    // An internal id names its subject even when the row is gone (the records keep it until the key is erased).
    const customerId = match.customerId ?? (kind === 'customerId' ? String(subject.customerId).trim() : null);
    if (customerId === null) return { outcome: 'NO_SUCH_SUBJECT', matches: 0, subject: null, agents: [], accesses: [] };
    const pseudonym = subjectPseudonym(options.secrets.subjectKey, 'customer', customerId);
    const accesses = (await accessesToSubject(db, pseudonym)).map((a) => ({ ...a, agent: a.actorId }));
    const outcome = accesses.length > 0 ? 'SEEN' : match.matches === 0 ? 'NO_SUCH_SUBJECT' : 'NOT_SEEN';
    const agents = [...new Set(accesses.flatMap((a) => (a.actorId ? [a.actorId] : [])))].sort();
    return { outcome, matches: match.matches, subject: pseudonym, agents, accesses };
  }

  /** The officer's own record must not name the person they looked up: the pseudonym at most, never the identifier. */
  function recordedLookup(args: WhoHasSeenArgs, found: Pick<SubjectReport, 'outcome' | 'subject'>): Record<string, unknown> {
    const subject = found.subject === null ? {} : { subject: found.subject };
    return args.subject ? { identifier: identifierKind(args.subject), outcome: found.outcome, ...subject } : subject;
  }
  let jurisdictionsFromFiles: Promise<JurisdictionRules> | undefined;
  const jurisdictionRules = async () => {
    if (options.jurisdictions) return options.jurisdictions();
    jurisdictionsFromFiles ??= loadJurisdictionRules(join(options.config.root, 'schema', 'jurisdictions'));
    return jurisdictionsFromFiles;
  };

  return createSchema({
    typeDefs: OFFICER_TYPE_DEFS,
    resolvers: {
      DateTime: DateTimeScalar,
      BigInt: BigIntScalar,
      JSON: JSONScalar,
      FieldAccess: {
        rule: (f: FieldAccess) => f.rule ?? null,
        tags: (f: FieldAccess) => classOf(f.table, f.field).tags,
        classes: (f: FieldAccess) => classOf(f.table, f.field).classes,
        special: (f: FieldAccess) => classOf(f.table, f.field).classes.includes('special'),
      },
      Approval: { agent: (a: Approval) => a.agentId },
      Anomaly: { agent: (a: Anomaly) => a.agentId },
      Quarantine: { agent: (q: Quarantine) => q.agentId, anomalies: (q: Quarantine) => q.anomalyIds },
      AgentZone: {
        agent: (z: AgentZoneReport) => z.agentId,
        inForce: (z: AgentZoneReport) => z.zone,
        requestedZone: (z: AgentZoneReport) => z.request?.zone ?? null,
        requestedAt: (z: AgentZoneReport) => z.request?.at ?? null,
        requestStatus: (z: AgentZoneReport) => z.request?.status ?? null,
      },
      Mutation: {
        clearAnomaly: officerField('clearAnomaly', ['agent_anomalies'], async (args: { id: string; note: string }, { db, officer }) => {
          checkNote(args.note);
          try {
            return await clearAnomaly(db, Number(args.id), officer.id, args.note);
          } catch (error) {
            if (error instanceof AnomalyNotOpenError) throw refusal('INVALID_ARGUMENT', error.message);
            throw error;
          }
        }),
        clearQuarantine: officerField('clearQuarantine', ['agent_anomalies'], (args: { agent: string; note: string }, { db, officer }) => {
          checkText('agent', args.agent);
          checkNote(args.note);
          if (!registry.agents.has(args.agent)) throw refusal('INVALID_ARGUMENT', `No agent "${args.agent}" is registered.`);
          return clearQuarantine(db, args.agent, officer.id, args.note);
        }),
        decideZoneChange: officerField(
          'decideZoneChange',
          ['agent_zones'],
          async (args: { agent: string; approve: boolean; reason?: string | null }, { db, officer }) => {
            checkText('agent', args.agent);
            try {
              const { after } = await decideZoneChange(db, args.agent, { approve: args.approve, by: officer.id, reason: args.reason ?? null });
              return agentZoneReport(after, registry);
            } catch (error) {
              if (error instanceof ZoneChangeNotPendingError) throw refusal('INVALID_ARGUMENT', error.message);
              throw error;
            }
          },
        ),
        acknowledgeFindings: officerField('acknowledgeFindings', [...LOG, 'finding_acks'], async (args: AckArgs, { db, officer }) => {
          for (const key of ['agent', 'check', 'jurisdiction'] as const) checkText(key, args[key]);
          checkNote(args.note);
          const key = { agent: args.agent ?? null, check: args.check ?? null, outcome: args.outcome ?? null, jurisdiction: args.jurisdiction ?? null };
          try {
            return await acknowledgeFindings(db, key, { status: args.resolve ? 'resolved' : 'acknowledged', by: officer.id, note: args.note });
          } catch (error) {
            if (error instanceof NoSuchFindingGroupError) throw refusal('INVALID_ARGUMENT', error.message);
            throw error;
          }
        }),
        decideApproval: officerField(
          'decideApproval',
          ['approvals'],
          async (args: { id: string; approve: boolean; reason?: string | null; validForHours: number }, { db, officer }) => {
            if (!(args.validForHours > 0 && args.validForHours <= 24 * 30)) throw refusal('INVALID_ARGUMENT', '"validForHours" must be between 0 and 720.');
            try {
              return await decideApproval(db, Number(args.id), {
                status: args.approve ? 'approved' : 'denied',
                by: officer.id,
                reason: args.reason ?? null,
                validSeconds: Math.round(args.validForHours * 3600),
              });
            } catch (error) {
              if (error instanceof ApprovalNotPendingError) throw refusal('INVALID_ARGUMENT', error.message);
              throw error;
            }
          },
        ),
      },
      Query: {
        me: officerField('me', [], (_args, { officer }) => officer.officer),
        anomalies: officerField(
          'anomalies',
          ['agent_anomalies'],
          (args: { status?: Anomaly['status'] | null; agent?: string | null; limit: number }, { db }) => {
            checkText('agent', args.agent);
            checkPage(args.limit, 0);
            return listAnomalies(db, args);
          },
        ),
        quarantines: officerField('quarantines', ['agent_anomalies'], (_args, { db }) => listQuarantines(db)),
        agentZones: officerField('agentZones', ['agent_zones'], async (_args, { db }) => (await listAgentZones(db)).map((z) => agentZoneReport(z, registry))),
        approvals: officerField('approvals', ['approvals'], (args: { status?: string | null }, { db }) => {
          if (args.status && !['pending', 'approved', 'denied'].includes(args.status))
            throw refusal('INVALID_ARGUMENT', '"status" must be pending, approved or denied.');
          return listApprovals(db, (args.status ?? undefined) as Approval['status'] | undefined);
        }),
        agents: officerField('agents', [], () => [...registry.agents.values()]),
        accessLog: officerField('accessLog', LOG, (args: FilterArgs & { limit: number; offset: number }, { db }) => {
          checkPage(args.limit, args.offset);
          return log.accessLog(db, readFilter(args), args.limit, args.offset);
        }),
        auditRecord: officerField('auditRecord', LOG, (args: { seq: number | string }, { db }) => log.auditRecord(db, args.seq)),
        accessCount: officerField('accessCount', LOG, (args: FilterArgs, { db }) => log.accessCount(db, readFilter(args))),
        accessesByDay: officerField('accessesByDay', LOG, (args: FilterArgs, { db }) => log.accessesByDay(db, readFilter(args))),
        decisionBreakdown: officerField('decisionBreakdown', LOG, (args: FilterArgs, { db }) => log.decisionBreakdown(db, readFilter(args))),
        agentSummaries: officerField('agentSummaries', LOG_AND_SUBJECTS, async (args: FilterArgs, { db }) =>
          (await log.agentSummaries(db, readFilter(args))).map((s) => ({ ...s, agent: s.actorId, epsilonSpent: s.epsilon })),
        ),
        privacyBudgets: officerField('privacyBudgets', LEDGER, async (args: FilterArgs & { period?: string | null }, { db }) => {
          const filter = readFilter(args);
          checkText('period', args.period);
          const query = { agent: filter.agent, period: args.period, from: filter.from, to: filter.to };
          const spent = await budgetUses(db, query);
          const declared = unspentBudgets(options.config.policies.privacy, catalog.dataset, query, spent);
          const uses = [...spent, ...declared]
            .sort((a, b) => (a.scope === b.scope ? (a.period < b.period ? -1 : 1) : a.scope < b.scope ? -1 : 1))
            .map((u) => ({ ...u, agent: u.kind === 'agent' ? u.name : null }));
          return {
            source: 'dp_budget',
            note: budgetNote(spent.length === 0),
            agents: uses.filter((u) => u.kind === 'agent'),
            datasets: uses.filter((u) => u.kind === 'dataset'),
          };
        }),
        findings: officerField('findings', LOG, async (args: FindingArgs & { limit: number }, { db }) => {
          checkPage(args.limit, 0);
          const { filter, findingFilter } = readFindingArgs(args);
          return (await compliance.findings(db, filter, findingFilter, args.limit)).map((r) => ({
            ...r,
            agent: r.actorId,
            check: text(r.finding.check),
            outcome: outcome(r.finding.outcome),
            jurisdiction: text(r.finding.jurisdiction),
            rule: text(r.finding.rule),
            message: text(r.finding.message),
          }));
        }),
        findingCounts: officerField('findingCounts', LOG, async (args: FindingArgs, { db }) => {
          const { filter, findingFilter } = readFindingArgs(args);
          return (await compliance.findingCounts(db, filter, findingFilter)).map((c) => ({ ...c, outcome: outcome(c.outcome) }));
        }),
        findingGroups: officerField('findingGroups', [...LOG, 'finding_acks'], async (args: FindingArgs & { limit: number }, { db }) => {
          checkPage(args.limit, 0);
          const { filter, findingFilter } = readFindingArgs(args);
          return (await findingGroups(db, filter, findingFilter, args.limit)).map((g) => ({ ...g, outcome: outcome(g.outcome) }));
        }),
        withheldRows: officerField('withheldRows', LOG, async (args: FilterArgs, { db }) =>
          (await compliance.withheldCounts(db, readFilter(args))).map((w) => ({ ...w, agent: w.actorId })),
        ),
        crossBorderFlows: officerField('crossBorderFlows', LOG_AND_SUBJECTS, (args: FilterArgs & { byAgent: boolean }, { db }) =>
          crossBorderFlows(db, readFilter(args), args.byAgent),
        ),
        specialCategoryAccess: officerField('specialCategoryAccess', LOG, async (args: FilterArgs, { db }) =>
          (await log.fieldAccessCounts(db, readFilter(args), catalogFacts().specialFields)).map((r) => ({
            ...r,
            agent: r.actorId,
            tags: classOf(r.table, r.field).tags,
          })),
        ),
        whoHasSeen: officerField('whoHasSeen', whoHasSeenReads, (args: WhoHasSeenArgs, { db }) => seenBy(args, db), recordedLookup),
        dataSubjectAccessReport: officerField(
          'dataSubjectAccessReport',
          whoHasSeenReads,
          async (args: { subject: SubjectIdentifier }, { db, officer }) => accessRequestDocument(await seenBy(args, db), officer.id, new Date()),
          recordedLookup,
        ),
        // Runs on the request's statements (its transaction, if it has one): PGlite serialises everything behind an open transaction.
        auditChainStatus: officerField('auditChainStatus', [...LOG_AND_SUBJECTS, 'audit_verified_point'], (args: { full: boolean }, { db }) =>
          verifyAuditChainFromPoint(db, options.secrets.auditKey, { full: args.full }),
        ),
        auditProof: officerField('auditProof', PROOF_TABLES, (args: { seq: number | string }, { db }) => auditProof(db, args.seq)),
        auditConsistency: officerField('auditConsistency', PROOF_TABLES, (args: { size1: number | string; size2: number | string }, { db }) =>
          auditConsistency(db, args.size1, args.size2),
        ),
        rulesVersions: officerField('rulesVersions', ['rules_versions'], (args: { limit: number }, { db }) => {
          checkPage(args.limit, 0);
          return listRulesVersions(db, args.limit);
        }),
        rulesVersion: officerField('rulesVersion', ['rules_versions'], async (args: { id: string }, { db }) => {
          const id = Number(args.id);
          if (!Number.isSafeInteger(id) || id < 1) throw refusal('INVALID_ARGUMENT', '"id" must be a rules version id (a positive integer).');
          const version = await readRulesVersion(db, id);
          if (!version) return version;
          const previous = version.previousId === null ? undefined : await readRulesVersion(db, version.previousId);
          const files = Object.entries(version.files).map(([path, text]) => ({ path, text }));
          return { ...version, files, changes: rulesLineDiff(previous?.files ?? {}, version.files) };
        }),
        incidents: officerField('incidents', ['incidents'], (args: { agent?: string | null; status?: IncidentStatus | null }, { db }) => {
          checkText('agent', args.agent);
          return listIncidents(db, args);
        }),
        incidentReport: officerField(
          'incidentReport',
          [...LOG_AND_SUBJECTS, 'incidents'],
          async (args: { agent: string; since: string; until?: string | null }, { db }) => {
            checkText('agent', args.agent);
            const window = { agent: args.agent, since: new Date(args.since), until: args.until ? new Date(args.until) : new Date() };
            try {
              return await buildIncidentReport(db, window, { registry, rules: await jurisdictionRules(), auditKey: options.secrets.auditKey });
            } catch (error) {
              if (error instanceof IncidentError) throw refusal('INVALID_ARGUMENT', error.message);
              throw error;
            }
          },
        ),
      },
    },
  });
}
