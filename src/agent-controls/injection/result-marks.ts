import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import type { UntrustedTextAction } from '../../config/index.ts';
import type { UntrustedTextTally } from '../../request/state.ts';
import { neutralise } from './neutralise.ts';
import { FLAG_THRESHOLD, scanUntrustedText, type UntrustedTextScan } from './scan.ts';
import type { UntrustedFields } from './untrusted-fields.ts';

/** One flagged value, as `extensions.untrustedText` lists it. */
export interface UntrustedTextMark {
  /** The value's GraphQL response path, e.g. `["transactions", 3, "note"]`. */
  path: Array<string | number>;
  /** `table.column`. */
  field: string;
  score: number;
  signals: string[];
  /** What the policy did with it: returned as it was, returned neutralised, or returned as null. */
  action: 'flagged' | 'neutralised' | 'withheld';
}

export interface UntrustedTextAnswer {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null | undefined;
  variableValues?: Readonly<Record<string, unknown>> | null | undefined;
  /** The answer's data: flagged values are neutralised or withheld in place. */
  data: Record<string, unknown>;
  fields: UntrustedFields;
  action: UntrustedTextAction;
}

const MARKED_AS = { flag: 'flagged', neutralise: 'neutralised', withhold: 'withheld' } as const;

/** Response key -> the field it answers and every selection set asked of it (graphql-js merges them the same way). */
type CollectedFields = Map<string, { name: string; selections: SelectionSetNode[] }>;

class Walk {
  readonly marks: UntrustedTextMark[] = [];
  readonly counts = new Map<string, { scanned: number; flagged: number }>();
  /** One answer often repeats a text (a merchant's note on many rows): scanned once. */
  private readonly scans = new Map<string, UntrustedTextScan>();
  private readonly path: Array<string | number> = [];
  private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  private readonly answer: UntrustedTextAnswer;
  /** The operation's variables as execution saw them (declared defaults filled in) for @skip and @include. */
  private readonly variables: Record<string, unknown>;

  constructor(answer: UntrustedTextAnswer, variables: Record<string, unknown>) {
    this.answer = answer;
    this.variables = variables;
    this.fragments = new Map(
      answer.document.definitions.flatMap((definition) => (definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [])),
    );
  }

  object(value: Record<string, unknown>, type: GraphQLObjectType, selections: readonly SelectionSetNode[]): void {
    const untrusted = this.answer.fields.get(type.name);
    for (const [key, { name, selections: nested }] of this.collect(type, selections)) {
      const child = value[key];
      if (child === null || child === undefined) continue;
      this.path.push(key);
      const field = untrusted?.get(name);
      if (field !== undefined && typeof child === 'string') this.text(value, key, child, field);
      else if (nested.length > 0) this.nested(child, type, name, nested);
      this.path.pop();
    }
  }

  private nested(child: unknown, parent: GraphQLObjectType, name: string, selections: readonly SelectionSetNode[]): void {
    const type = getNamedType(parent.getFields()[name]?.type);
    if (!type || !isObjectType(type)) return;
    const items = Array.isArray(child) ? child : [child];
    items.forEach((item, i) => {
      if (item === null || typeof item !== 'object') return;
      if (Array.isArray(child)) this.path.push(i);
      this.object(item as Record<string, unknown>, type, selections);
      if (Array.isArray(child)) this.path.pop();
    });
  }

  private text(row: Record<string, unknown>, key: string, text: string, field: string): void {
    let scan = this.scans.get(text);
    if (!scan) {
      scan = scanUntrustedText(text);
      this.scans.set(text, scan);
    }
    const count = this.counts.get(field) ?? { scanned: 0, flagged: 0 };
    this.counts.set(field, count);
    count.scanned++;
    if (scan.score < FLAG_THRESHOLD) return;
    count.flagged++;
    const action = this.answer.action;
    if (action === 'neutralise') row[key] = neutralise(text, scan);
    else if (action === 'withhold') row[key] = null;
    this.marks.push({ path: [...this.path], field, score: Math.round(scan.score * 100) / 100, signals: scan.signals, action: MARKED_AS[action] });
  }

  /** The fields a selection asks of `type`, after @skip/@include and fragments, keyed by response key. */
  private collect(type: GraphQLObjectType, selectionSets: readonly SelectionSetNode[], into: CollectedFields = new Map()): CollectedFields {
    const variables = this.variables;
    for (const selectionSet of selectionSets) {
      for (const selection of selectionSet.selections) {
        if (getDirectiveValues(GraphQLSkipDirective, selection, variables)?.if === true) continue;
        if (getDirectiveValues(GraphQLIncludeDirective, selection, variables)?.if === false) continue;
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (name.startsWith('__')) continue;
          const key = selection.alias?.value ?? name;
          const entry = into.get(key) ?? { name, selections: [] };
          if (selection.selectionSet) entry.selections.push(selection.selectionSet);
          into.set(key, entry);
          continue;
        }
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : this.fragments.get(selection.name.value);
        // The views' schemas have object types only: a fragment on another type does not apply here.
        if (!fragment || (fragment.typeCondition && fragment.typeCondition.name.value !== type.name)) continue;
        this.collect(type, [fragment.selectionSet], into);
      }
    }
    return into;
  }
}

/**
 * Scans every value of an untrusted-text field in an answer and applies the policy's action to the flagged ones:
 * the marks for `extensions.untrustedText`, and what the audit record keeps (null when the answer had no such value).
 */
export function markUntrustedText(answer: UntrustedTextAnswer): { marks: UntrustedTextMark[]; tally: UntrustedTextTally | null } {
  const operation = getOperationAST(answer.document, answer.operationName ?? undefined);
  const root = operation ? answer.schema.getRootType(operation.operation) : undefined;
  if (!operation || !root) return { marks: [], tally: null };
  const variables = getVariableValues(answer.schema, operation.variableDefinitions ?? [], answer.variableValues ?? {});
  // Execution coerced the same values before the answer got here: failing now is a bug, and abandons the request.
  if (!variables.coerced) throw new Error('variables that execution accepted do not coerce');
  const walk = new Walk(answer, variables.coerced);
  walk.object(answer.data, root, [operation.selectionSet]);
  if (walk.counts.size === 0) return { marks: walk.marks, tally: null };
  const fields = [...walk.counts].map(([field, count]) => ({ field, ...count }));
  return { marks: walk.marks, tally: { action: answer.action, fields } };
}
