/** The officers' GraphQL schema: read-only questions about the audit log, each answer itself audited. */
export const OFFICER_TYPE_DEFS = /* GraphQL */ `
  "An instant, ISO 8601 in UTC."
  scalar DateTime
  "A 64-bit integer: a number when exactly representable, else a decimal string."
  scalar BigInt
  "Any JSON value, as stored in the audit record."
  scalar JSON

  enum Decision { allowed denied error pending_approval }
  enum ActorKind { agent officer anonymous cli }

  "Narrows the audit log. Absent fields match everything; 'to' is exclusive."
  input AuditFilter {
    agent: String
    purpose: String
    from: DateTime
    to: DateTime
    table: String
    field: String
    decision: Decision
    "A data-subject jurisdiction: records that returned data about such a subject."
    jurisdiction: String
    "Which kinds of caller to include (default: all, officers' own reviews included)."
    actorKinds: [ActorKind!]
  }

  type Officer { id: ID! description: String! jurisdictions: [String!]! }
  type Agent { id: ID! description: String! role: String! location: String! purposes: [String!]! }

  "How one returned field was shown, with its catalog classification."
  type FieldAccess {
    table: String!
    field: String!
    mask: String!
    rule: String
    tags: [String!]!
    classes: [String!]!
    special: Boolean!
  }

  type AuditRecord {
    seq: BigInt!
    recordedAt: DateTime!
    requestId: String!
    actorKind: ActorKind!
    actorId: String
    purpose: String
    actorLocation: String
    operationKind: String!
    operationName: String
    operationHash: String
    decision: Decision!
    code: String
    reason: String
    tables: [String!]!
    fields: [FieldAccess!]!
    rowCount: BigInt!
    subjectCount: BigInt!
    jurisdictions: [String!]!
    privacyCost: JSON
    findings: JSON!
    details: JSON!
    prevHash: String!
    hash: String!
  }

  type DailyAccess { day: String! actorKind: ActorKind! actorId: String requests: BigInt! }
  type DecisionCount { decision: Decision! code: String count: BigInt! }

  type AgentSummary {
    actorKind: ActorKind!
    agent: String
    location: String
    requests: BigInt!
    allowed: BigInt!
    denied: BigInt!
    errors: BigInt!
    pendingApproval: BigInt!
    rows: BigInt!
    distinctSubjects: BigInt!
    "Σε over the records' privacy_cost.epsilon (basic composition)."
    epsilonSpent: Float!
  }

  type PrivacyBudget {
    actorKind: ActorKind!
    agent: String
    queries: BigInt!
    epsilonSpent: Float!
    deltaSpent: Float!
    rhoSpent: Float!
    "The configured ε budget, when one is known."
    epsilonBudget: Float
  }

  type PrivacyBudgetReport {
    "Where the spend was read from."
    source: String!
    note: String!
    agents: [PrivacyBudget!]!
  }

  type Finding {
    seq: BigInt!
    recordedAt: DateTime!
    actorKind: ActorKind!
    agent: String
    decision: Decision!
    recordJurisdictions: [String!]!
    rule: String
    severity: String
    jurisdiction: String
    message: String
    finding: JSON!
  }

  type FlowCell {
    agentLocation: String
    subjectJurisdiction: String
    records: BigInt!
    subjects: BigInt!
    "Leaves the subject's jurisdiction (moves within the EU do not count)."
    crossBorder: Boolean!
  }

  type SpecialCategoryAccess {
    actorKind: ActorKind!
    agent: String
    table: String!
    field: String!
    mask: String!
    tags: [String!]!
    records: BigInt!
    rows: BigInt!
  }

  type SubjectAccess {
    seq: BigInt!
    recordedAt: DateTime!
    actorKind: ActorKind!
    agent: String
    purpose: String
    actorLocation: String
    operationName: String
    subjectJurisdiction: String
    tables: [String!]!
    fields: [FieldAccess!]!
    rowCount: BigInt!
  }

  type SubjectAccessReport {
    "The keyed pseudonym under which the audit log knows this subject."
    subject: String!
    agents: [String!]!
    accesses: [SubjectAccess!]!
  }

  type ChainProblem { seq: BigInt! problem: String! detail: String! }
  type ChainStatus { ok: Boolean! checked: BigInt! headSeq: BigInt! firstBad: ChainProblem }

  type Query {
    me: Officer!
    agents: [Agent!]!
    accessLog(filter: AuditFilter, limit: Int = 50, offset: Int = 0): [AuditRecord!]!
    accessCount(filter: AuditFilter): BigInt!
    accessesByDay(filter: AuditFilter): [DailyAccess!]!
    decisionBreakdown(filter: AuditFilter): [DecisionCount!]!
    agentSummaries(from: DateTime, to: DateTime, filter: AuditFilter): [AgentSummary!]!
    privacyBudgets(from: DateTime, to: DateTime, filter: AuditFilter): PrivacyBudgetReport!
    findings(from: DateTime, to: DateTime, jurisdiction: String, filter: AuditFilter, limit: Int = 200): [Finding!]!
    crossBorderFlows(from: DateTime, to: DateTime, filter: AuditFilter): [FlowCell!]!
    "Fields of special category (catalog class 'special') returned to each caller."
    specialCategoryAccess(filter: AuditFilter): [SpecialCategoryAccess!]!
    whoHasSeen(customerId: ID!): SubjectAccessReport!
    auditChainStatus: ChainStatus!
  }
`;
