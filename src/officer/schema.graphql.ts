import { MAX_DIFF_LINES_PER_FILE } from '../config/rules-line-diff.ts';
import { WITHHELD_COUNT_CAP } from '../sql/index.ts';

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
  "What a compliance check concluded: deny refuses the whole answer, flag lets it go with a note for the officer."
  enum FindingOutcome { allow flag deny }
  enum BudgetScopeKind { agent dataset }

  "Narrows the audit log. Absent fields match everything; 'to' is exclusive."
  input AuditFilter {
    agent: String
    "The person an agent acted for (a delegated token's subject): what was fetched on their behalf."
    onBehalfOf: String
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
    "The person the agent acted for (a delegated token, RFC 8693); null when it acted for no one."
    onBehalfOf: String
    purpose: String
    actorLocation: String
    operationKind: String!
    operationName: String
    "The query text's fingerprint: HMAC-SHA-256 under a key derived from the audit key, equal for equal texts on every broker; a guessed text cannot be checked against it. Records from before it was keyed hold a plain SHA-256."
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
    "Rows that transfer rules kept out of this caller's allowed answers (details.withheld), at most ${WITHHELD_COUNT_CAP} counted per answer."
    withheldRows: BigInt!
    "Σε the records declare in privacy_cost (basic composition; a replayed answer declares 0). The ledger's accounting is privacyBudgets."
    epsilonSpent: Float!
  }

  "One budget of the differential-privacy ledger (dp_budget) for one period."
  type PrivacyBudget {
    "As the ledger names it: 'agent:<id>' or 'dataset:<name>'."
    scope: String!
    kind: BudgetScopeKind!
    "The agent's id or the dataset's name."
    name: String!
    "The agent's id; null for a dataset's budget."
    agent: String
    "e.g. '2026-11' for monthly budgets."
    period: String!
    epsilonLimit: Float!
    "ε that the period's composed spends certify at deltaLimit, as the ledger checks it; null when their δ alone exceeds deltaLimit."
    epsilonSpent: Float
    epsilonRemaining: Float!
    deltaLimit: Float!
    "Σδ of the (ε, δ) spends."
    deltaSpent: Float!
    "Σρ of the zCDP (Gaussian) spends."
    rhoSpent: Float!
    "Answers charged (a replayed answer is not)."
    queries: BigInt!
    "When the period ends and the budget starts afresh (UTC, from policies.yaml privacy.period); null for a period of unknown form."
    resetsAt: DateTime
  }

  type PrivacyBudgetReport {
    "Where the spend was read from."
    source: String!
    note: String!
    agents: [PrivacyBudget!]!
    "The dataset's own budget, shared by every agent: not narrowed by an agent filter."
    datasets: [PrivacyBudget!]!
  }

  "One conclusion of one compliance check, as written into the audit record of the request it judged."
  type Finding {
    seq: BigInt!
    recordedAt: DateTime!
    actorKind: ActorKind!
    agent: String
    purpose: String
    "The decision on the whole request: a deny finding makes it 'denied' with code TRANSFER_DENIED (COMPLIANCE_DENIED when a rule other than a transfer denies)."
    decision: Decision!
    code: String
    "cross_border_transfer, special_category, purpose_limitation, government_identifier, transfer_volume or rule_coverage."
    check: String
    outcome: FindingOutcome
    "The jurisdiction whose rules applied: its data subjects' data was concerned."
    jurisdiction: String
    "The article or section relied on, e.g. 'GDPR Art. 46(2)(c)'."
    rule: String
    message: String
    "The finding as stored."
    finding: JSON!
  }

  type FindingCount {
    check: String
    outcome: FindingOutcome
    jurisdiction: String
    findings: BigInt!
    "Distinct audit records carrying such findings."
    records: BigInt!
  }

  enum FindingAckStatus { acknowledged resolved }

  "An officer's acknowledgement or resolution of a finding group, covering its findings up to throughSeq."
  type FindingAck {
    id: ID!
    status: FindingAckStatus!
    throughSeq: BigInt!
    note: String!
    decidedBy: String!
    decidedAt: DateTime!
  }

  "The findings of one agent, check, outcome and jurisdiction."
  type FindingGroup {
    actorKind: ActorKind!
    agent: String
    check: String
    outcome: FindingOutcome
    jurisdiction: String
    "The article or section the group's findings rely on (one of them, when they differ)."
    rule: String
    findings: BigInt!
    "Distinct audit records carrying them."
    records: BigInt!
    firstSeen: DateTime!
    lastSeen: DateTime!
    "The newest of those records' seqs (at most 5), newest first."
    seqs: [BigInt!]!
    "Findings recorded after the group's acknowledgement; all of them when it has none."
    newFindings: BigInt!
    "The acknowledgement in force: the latest."
    ack: FindingAck
  }

  "Rows kept out of a caller's allowed answers because no transfer basis covers their subjects' jurisdictions."
  type WithheldRows {
    actorKind: ActorKind!
    agent: String
    location: String
    table: String
    "The jurisdictions withheld together: their rows are counted together."
    jurisdictions: [String!]!
    records: BigInt!
    "Their sum. An answer counts at most ${WITHHELD_COUNT_CAP} withheld rows (its record then says atLeast), so past that a lower bound."
    rows: BigInt!
  }

  type FlowCell {
    "Only when asked byAgent."
    agent: String
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

  "What a who-has-seen question found: whether the identifier names one customer, and whether any answer held them."
  enum SubjectLookupOutcome { NO_SUCH_SUBJECT AMBIGUOUS NOT_SEEN SEEN }

  "One identifier an officer holds for a customer: customerId, email, nationalId, or name with birthDate (YYYY-MM-DD)."
  input SubjectIdentifier { customerId: ID email: String nationalId: String name: String birthDate: String }

  type SubjectAccessReport {
    outcome: SubjectLookupOutcome!
    "Customers the identifier matched (several: AMBIGUOUS, and none of them is named)."
    matches: Int!
    "The subject's reference (a keyed hash of kind and id), when one customer matched; audit_subjects keeps it under the subject's own key, which erasure destroys."
    subject: String
    agents: [String!]!
    accesses: [SubjectAccess!]!
  }

  type ChainProblem { seq: BigInt! problem: String! detail: String! }
  "An audit record's inclusion proof (RFC 9162) against the latest signed checkpoint (a C2SP signed note); check it offline with keyhole audit check-proof and the key at /.well-known/keyhole/checkpoint-key."
  type AuditInclusionProof {
    seq: BigInt!
    leafIndex: BigInt!
    treeSize: BigInt!
    "Hex hashes, leaf to root."
    proof: [String!]!
    checkpoint: String!
    "The whole proof, record included, as keyhole audit prove prints it."
    document: JSON!
  }

  "That the log's tree at size2 extends its tree at size1 (RFC 9162 consistency proof), checked."
  type AuditConsistencyProof { size1: BigInt! size2: BigInt! root1: String! root2: String! proof: [String!]! verified: Boolean! }

  type ChainStatus {
    ok: Boolean!
    checked: BigInt!
    headSeq: BigInt!
    "Records 1..prunedThrough were pruned under a valid checkpoint; the check started after them."
    prunedThrough: BigInt
    firstBad: ChainProblem
    "Records up to verifiedFrom were verified by an earlier check (a point signed with the audit key); this one walked the records after them. A change at or before it is found by a full check (full: true, or keyhole audit verify)."
    verifiedFrom: BigInt!
    "The last record this check reached."
    verifiedThrough: BigInt!
    "When a full check last found the chain intact."
    fullVerifiedAt: DateTime
    "What this check covers, in words."
    coverage: String!
  }

  "A human approval of a field a policy reserves (schema/policies.yaml requireApproval)."
  type Approval {
    id: ID!
    agent: String!
    purpose: String!
    table: String!
    field: String!
    status: String!
    requestedAt: DateTime!
    decidedAt: DateTime
    decidedBy: String
    reason: String
    expiresAt: DateTime
  }

  enum IncidentStatus { open closed }

  "An agent contained by \`keyhole incident open\`: revoked, with the incident opened in the same transaction."
  type Incident {
    id: ID!
    agent: String!
    openedAt: DateTime!
    openedBy: String!
    reason: String!
    status: IncidentStatus!
    closedAt: DateTime
    closedBy: String
    note: String
  }

  type IncidentWindow { since: DateTime! until: DateTime! }
  "Where notification deadlines are counted from: the incident's opening, or the window's start when there is no incident."
  enum DutyClockStart { incident window }
  type DutyClock { start: DateTime! from: DutyClockStart! }
  type IncidentRequests { total: BigInt! allowed: BigInt! denied: BigInt! errors: BigInt! pendingApproval: BigInt! }
  type IncidentRefusal { decision: Decision! code: String reason: String count: BigInt! }
  "Allowed answers only, from here on: a refused request returned nothing. Rows are those of the whole answer."
  type IncidentTable { table: String! requests: BigInt! rows: BigInt! }
  type IncidentField { table: String! field: String! mask: String! rule: String requests: BigInt! rows: BigInt! }
  "Distinct data subjects; a null jurisdiction: their table records none."
  type SubjectsInJurisdiction { jurisdiction: String subjects: BigInt! }
  type IncidentSubjects { total: BigInt! byJurisdiction: [SubjectsInJurisdiction!]! }
  "Σ of what the allowed answers' records declare (basic composition; a replayed answer declares 0)."
  type IncidentPrivacySpend { releases: BigInt! epsilon: Float! delta: Float! rho: Float! }
  type RuleSetName { id: String! short: String! law: String! }
  type AuthorityNotification {
    window: String!
    rule: String!
    "What is due by the deadline: the notification itself unless the rule set names another step."
    due: String!
    "The clock's start plus the law's hours; null when the law sets none."
    deadline: DateTime
    counted: String
  }
  type IndividualNotification { window: String! rule: String! }
  "A duty that may apply (counsel decides) because the agent received data about this jurisdiction's subjects."
  type NotificationDuty {
    jurisdiction: String!
    subjects: BigInt!
    ruleSet: RuleSetName!
    authority: AuthorityNotification!
    individuals: IndividualNotification!
  }

  type IncidentReport {
    agent: String!
    window: IncidentWindow!
    generatedAt: DateTime!
    "The incident deadlines count from: the agent's open one, or one opened since the window's start."
    incident: Incident
    clock: DutyClock!
    auditChain: ChainStatus!
    requests: IncidentRequests!
    refusals: [IncidentRefusal!]!
    tables: [IncidentTable!]!
    fields: [IncidentField!]!
    rows: BigInt!
    subjects: IncidentSubjects!
    privacySpend: IncidentPrivacySpend!
    duties: [NotificationDuty!]!
    "Jurisdictions touched that no rule set governs."
    ungoverned: [String!]!
  }

  enum ZoneName { sandbox production }

  "An agent's security zone (schema/agents.yaml): what the file asks for, what an officer approved, and the request between."
  type AgentZone {
    agent: String!
    "What schema/agents.yaml asks for; null when the file no longer declares the agent."
    asked: ZoneName
    "As last approved; a new agent starts in sandbox, approved by nobody."
    inForce: ZoneName!
    "What its requests are served in: the stricter of asked and inForce."
    servedIn: ZoneName
    approvedBy: String
    approvedAt: DateTime
    requestedZone: ZoneName
    requestedAt: DateTime
    "pending or denied; null when the file asks for the zone in force."
    requestStatus: String
    decidedBy: String
    decidedAt: DateTime
    reason: String
  }

  enum AnomalyStatus { open cleared }

  "Behaviour far outside an agent's baseline (docs/agent-controls.md, Behavioural baselines and quarantine)."
  type Anomaly {
    id: ID!
    agent: String!
    purpose: String!
    "request, window, new_field or unusual_hour."
    kind: String!
    "e.g. rowsPerRequest, subjectsPerWindow, newField, unusualHour."
    statistic: String!
    "The new field (table.field) or the hour of day."
    detail: String
    value: Float!
    "The value beyond which it is an anomaly, in the statistic's unit; null for a new field."
    threshold: Float
    "Its robust z-score: (value − median) / (1.4826 × MAD, floored)."
    score: Float
    "What it was compared with: median, mad, spread, observations, zThreshold."
    baseline: JSON
    windowStart: DateTime
    windowEnd: DateTime
    detectedAt: DateTime!
    "The request that raised it (its audit record's request id), and that record's seq when it was found in the log."
    requestId: String
    auditSeq: BigInt
    "The anomaly's own audit record."
    recordSeq: BigInt
    "The agent's policy quarantined it for this anomaly."
    quarantines: Boolean!
    "Raised again while open this many times in all."
    occurrences: Int!
    lastSeenAt: DateTime!
    status: AnomalyStatus!
    clearedBy: String
    clearedAt: DateTime
    note: String
  }

  "An agent in approval-required mode until an officer clears its anomalies."
  type Quarantine { agent: String! since: DateTime! anomalies: [ID!]! }

  type RulesFileChange { path: String! linesAdded: Int! linesRemoved: Int! }
  "What changed against the version in force before this one was first stored."
  type RulesDiff { added: [String!]! removed: [String!]! changed: [RulesFileChange!]! }
  "One set of schema/ and masking-rules/ files a broker put in force; audit records name it in details.rulesVersion."
  type RulesVersionSummary { id: ID! hash: String! createdAt: DateTime! inForceAt: DateTime! previousId: ID diff: RulesDiff! }
  type RulesFile { path: String! text: String! }
  enum RulesDiffOp { added removed }
  "One changed line: line is 1-based, in this version's file when added, in the previous version's when removed."
  type RulesDiffLine { op: RulesDiffOp! line: Int! text: String! }
  enum RulesFileStatus { added removed changed }
  "A file's changed lines against the previous version (at most ${MAX_DIFF_LINES_PER_FILE}; omitted counts the rest)."
  type RulesFileDiff { path: String! status: RulesFileStatus! lines: [RulesDiffLine!]! omitted: Int! }
  type RulesVersion {
    id: ID!
    hash: String!
    createdAt: DateTime!
    inForceAt: DateTime!
    previousId: ID
    diff: RulesDiff!
    files: [RulesFile!]!
    "The lines each file changed against previousId (every line, as added, for the first version)."
    changes: [RulesFileDiff!]!
  }

  type Mutation {
    "Approves (for validForHours) or denies a pending request; the decision is audited under the officer."
    decideApproval(id: ID!, approve: Boolean!, reason: String, validForHours: Float = 24): Approval!
    "Clears an open anomaly (audited under the officer); the agent's quarantine ends with its last open one. A cleared new field joins the agent's baseline."
    clearAnomaly(id: ID!, note: String!): Anomaly!
    "Clears every open anomaly of an agent, ending its quarantine on every broker at its next request; returns them."
    clearQuarantine(agent: String!, note: String!): [Anomaly!]!
    "Approves or denies an agent's pending zone change; audited under the officer. Every broker serves an approved zone within about a second."
    decideZoneChange(agent: ID!, approve: Boolean!, reason: String): AgentZone!
    "Acknowledges (or, with resolve, resolves) a finding group's findings so far, with a required note; audited under the officer. Later findings of the group count as new."
    acknowledgeFindings(agent: String, check: String, outcome: FindingOutcome, jurisdiction: String, note: String!, resolve: Boolean = false): FindingAck!
  }

  type Query {
    me: Officer!
    "Approval requests, newest first; status: pending, approved or denied."
    approvals(status: String): [Approval!]!
    agents: [Agent!]!
    "Every agent's security zone, with pending and denied zone changes."
    agentZones: [AgentZone!]!
    accessLog(filter: AuditFilter, limit: Int = 50, offset: Int = 0): [AuditRecord!]!
    accessCount(filter: AuditFilter): BigInt!
    "One record of the audit log; null when none has this seq (or it was pruned)."
    auditRecord(seq: BigInt!): AuditRecord
    accessesByDay(filter: AuditFilter): [DailyAccess!]!
    decisionBreakdown(filter: AuditFilter): [DecisionCount!]!
    agentSummaries(from: DateTime, to: DateTime, filter: AuditFilter): [AgentSummary!]!
    "The DP ledger's budgets whose period overlaps the range (or is 'period'), and the current period's declared budgets nothing was charged to yet; an agent filter narrows the agents' budgets."
    privacyBudgets(period: String, from: DateTime, to: DateTime, filter: AuditFilter): PrivacyBudgetReport!
    "Compliance findings, denials first, then flags, then the rest, newest first within each. 'jurisdiction' (or the filter's) is the finding's."
    findings(from: DateTime, to: DateTime, jurisdiction: String, outcomes: [FindingOutcome!], check: String, filter: AuditFilter, limit: Int = 200): [Finding!]!
    findingCounts(from: DateTime, to: DateTime, jurisdiction: String, outcomes: [FindingOutcome!], check: String, filter: AuditFilter): [FindingCount!]!
    "Findings grouped by agent, check, outcome and jurisdiction, most severe first, then most new findings first."
    findingGroups(from: DateTime, to: DateTime, jurisdiction: String, outcomes: [FindingOutcome!], check: String, filter: AuditFilter, limit: Int = 200): [FindingGroup!]!
    "Rows withheld from allowed answers by transfer rules; a jurisdiction filter keeps entries that withheld it."
    withheldRows(from: DateTime, to: DateTime, filter: AuditFilter): [WithheldRows!]!
    "byAgent: one cell per agent (and its location) rather than per location."
    crossBorderFlows(from: DateTime, to: DateTime, filter: AuditFilter, byAgent: Boolean = false): [FlowCell!]!
    "Fields of special category (catalog class 'special') returned to each caller."
    specialCategoryAccess(filter: AuditFilter): [SpecialCategoryAccess!]!
    "Who has received data about one customer, named by any one identifier (customerId alone is the older form)."
    whoHasSeen(customerId: ID, subject: SubjectIdentifier): SubjectAccessReport!
    "A JSON document answering the data subject's access request (GDPR Art. 15, PDPA s 21): who received which of their fields, when, for what purpose, masked how."
    dataSubjectAccessReport(subject: SubjectIdentifier!): JSON!
    "Verifies the chain from the last verified point on (incremental), or the whole chain when full."
    auditChainStatus(full: Boolean = false): ChainStatus!
    "An inclusion proof of one record against the latest signed checkpoint; refused (extensions.reason) when the record was pruned or no checkpoint covers it yet."
    auditProof(seq: BigInt!): AuditInclusionProof!
    "A consistency proof between two sizes of the log's tree."
    auditConsistency(size1: BigInt!, size2: BigInt!): AuditConsistencyProof!
    "Anomalies, newest first."
    anomalies(status: AnomalyStatus, agent: String, limit: Int = 100): [Anomaly!]!
    "Agents in quarantine now."
    quarantines: [Quarantine!]!
    "Incidents (keyhole incident open), newest first."
    incidents(agent: String, status: IncidentStatus): [Incident!]!
    "What an agent received in [since, until) (until: now by default), from its audit records, and the breach-notification duties that may apply."
    incidentReport(agent: String!, since: DateTime!, until: DateTime): IncidentReport!
    "Rules versions, the one in force now first."
    rulesVersions(limit: Int = 50): [RulesVersionSummary!]!
    "One rules version with the text of every file, so a rule an audit record cites as file:line reads as it stood."
    rulesVersion(id: ID!): RulesVersion
  }
`;
