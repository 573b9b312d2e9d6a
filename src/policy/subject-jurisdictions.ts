import { type ViewTable, sessionValues, type View } from './view.ts';

/**
 * The subject jurisdictions whose rows a view's table can return, whatever the agent filters by: the policy's
 * subject filter (session values bound) applied to `known`, less what the view withholds. Decisions that must not
 * depend on which people match an agent's predicates (a compliance denial) are taken on this set.
 */
export function possibleSubjectJurisdictions(view: View, viewTable: ViewTable, known: Iterable<string>): string[] {
  const session = sessionValues(view.agent, view.purpose, view.person);
  const listOf = (operand: unknown): string[] | undefined => {
    if (operand === undefined) return undefined;
    const value = typeof operand === 'object' && operand !== null && !Array.isArray(operand) ? session[(operand as { session: string }).session] : operand;
    return (Array.isArray(value) ? value : [value]).map(String);
  };
  const filter = viewTable.policy.subjectJurisdiction;
  // An agent acting for a person is narrowed further by the delegation's own subject filter.
  const delegated = viewTable.delegated?.subjectJurisdiction;
  const all = [...known];
  const personal = new Set(listOf(delegated?.in) ?? all);
  const included = (listOf(filter?.in) ?? all).filter((code) => personal.has(code));
  const excluded = new Set([...(listOf(filter?.notIn) ?? []), ...(listOf(delegated?.notIn) ?? []), ...viewTable.withheld]);
  return [...new Set(included)].filter((code) => !excluded.has(code)).sort();
}
