/** What an officer narrows the audit log to. Every field is optional; absent means "any". */
export interface AuditFilter {
  agent?: string | null | undefined;
  /** The person an agent acted for (a delegated token's subject). */
  onBehalfOf?: string | null | undefined;
  purpose?: string | null | undefined;
  /** Inclusive lower bound, ISO 8601. */
  from?: string | null | undefined;
  /** Exclusive upper bound, ISO 8601. */
  to?: string | null | undefined;
  table?: string | null | undefined;
  field?: string | null | undefined;
  decision?: string | null | undefined;
  jurisdiction?: string | null | undefined;
  actorKinds?: readonly string[] | null | undefined;
}

/** Where the subject jurisdiction is read: the record's summary array, or one subject row of audit_subjects. */
export type JurisdictionSource = { record: string } | { subject: string };

/** Appends `value` to `params` and returns its placeholder: the only way a value reaches a statement. */
export function bindParam(params: unknown[], value: unknown): string {
  params.push(value);
  return `$${params.length}`;
}

/**
 * SQL conditions for a filter over `audit_log` aliased `alias`. Only fixed fragments go into the text;
 * every value is appended to `params` and referenced by position, so no filter value ever becomes SQL.
 */
export function auditConditions(filter: AuditFilter, params: unknown[], alias = 'a', jurisdiction: JurisdictionSource = { record: alias }): string {
  const conditions: string[] = [];
  const bind = (value: unknown) => bindParam(params, value);
  if (filter.agent) conditions.push(`${alias}.actor_id = ${bind(filter.agent)}`);
  if (filter.onBehalfOf) conditions.push(`${alias}.on_behalf_of = ${bind(filter.onBehalfOf)}`);
  if (filter.purpose) conditions.push(`${alias}.purpose = ${bind(filter.purpose)}`);
  if (filter.from) conditions.push(`${alias}.recorded_at >= ${bind(filter.from)}::timestamptz`);
  if (filter.to) conditions.push(`${alias}.recorded_at < ${bind(filter.to)}::timestamptz`);
  if (filter.decision) conditions.push(`${alias}.decision = ${bind(filter.decision)}`);
  if (filter.actorKinds && filter.actorKinds.length > 0) conditions.push(`${alias}.actor_kind = ANY(${bind([...filter.actorKinds])}::text[])`);
  if (filter.table) conditions.push(`${bind(filter.table)} = ANY(${alias}.tables)`);
  if (filter.field) {
    // jsonb containment: some element of `fields` has this field (and this table, when one is given).
    const probe = filter.table ? { table: filter.table, field: filter.field } : { field: filter.field };
    conditions.push(`${alias}.fields @> ${bind(JSON.stringify([probe]))}::jsonb`);
  }
  if (filter.jurisdiction) {
    conditions.push(
      'subject' in jurisdiction
        ? `${jurisdiction.subject}.jurisdiction = ${bind(filter.jurisdiction)}`
        : `${bind(filter.jurisdiction)} = ANY(${jurisdiction.record}.jurisdictions)`,
    );
  }
  return conditions.length > 0 ? conditions.join(' AND ') : 'TRUE';
}
