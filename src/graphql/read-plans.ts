import type { FieldNode, GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import type { ApprovalField } from '../approvals/index.ts';
import type { FieldAccess } from '../audit/index.ts';
import type { View, ViewTable } from '../policy/index.ts';
import { compileSelect, type SelectRequest, type TableLookup } from '../sql/index.ts';
import { planRead, type ReadArgs, type RowShape, withholdingOf } from './read.ts';

/**
 * Everything a root list field's read needs that depends only on the view, the document and the variables: the
 * one statement with its parameters, how to shape and audit its rows, and what the request's record notes of it.
 * Shared by every request that asks the same; nothing a request does may change it (the arrays are frozen; pg and
 * PGlite only read the parameters).
 */
export interface ReadPlan {
  readonly request: SelectRequest;
  readonly shape: RowShape;
  readonly statement: { readonly text: string; readonly params: readonly unknown[] };
  /** Tables whose view withholds subject jurisdictions, and those jurisdictions (`withholdingOf`). */
  readonly withholding: ReadonlyArray<readonly [string, readonly string[]]>;
  /** Fields of the read that a policy reserves for human approval. */
  readonly approvals: readonly ApprovalField[];
  /** The access tally's entries for the fields its `where` looks people up by. */
  readonly lookups: ReadonlyArray<readonly [string, Readonly<FieldAccess>]>;
}

function approvalFields(shape: RowShape): ApprovalField[] {
  const own = shape.columns.filter((c) => c.field.requiresApproval).map((c) => ({ table: shape.viewTable.table.name, field: c.name }));
  return [...own, ...shape.nested.flatMap((n) => approvalFields(n.shape))];
}

/** Plans one root list field's read (`planRead`, then `compileSelect`); throws its refusals as they do. */
export function makeReadPlan(view: View, viewTable: ViewTable, args: ReadArgs, info: GraphQLResolveInfo, lookup: TableLookup): ReadPlan {
  const objectType = info.schema.getType(viewTable.table.graphqlType) as GraphQLObjectType;
  const { request, shape, lookups } = planRead(view, viewTable, args, info.fieldNodes, objectType, info);
  const { text, params } = compileSelect(request, lookup, { countWithheld: true });
  const table = viewTable.table.name;
  return Object.freeze({
    request,
    shape,
    statement: Object.freeze({ text, params: Object.freeze(params) }),
    withholding: Object.freeze([...withholdingOf(shape)]),
    approvals: Object.freeze(approvalFields(shape)),
    lookups: Object.freeze(lookups.map((field) => [`${table}.${field}`, Object.freeze({ table, field, mask: 'lookup' })] as const)),
  });
}

/** Plans kept per view schema: room for the documents and variable values an agent repeats, few as they are. */
export const READ_PLANS_PER_VIEW = 512;

/**
 * The largest plan kept, in characters of its key (the variables), SQL text and parameters. A body may carry a
 * megabyte of variables: a hostile agent sending hundreds of distinct ones must not pin as many megabytes here.
 * Larger reads are planned on each request, as every read was before plans were cached.
 */
export const MAX_PLAN_CHARS = 16_384;

/**
 * A view schema's read plans, least recently used first out. yoga caches each document's parse by its text, so a
 * repeated document reaches the resolver with the same FieldNode objects: a plan is keyed by its root FieldNode's
 * identity and the operation's variable values, which together fix everything else it is made of (arguments,
 * @skip/@include, fragments, nested arguments); the view fixes the rest (policy, masks, session values). A new
 * rules version builds a new schema with a new cache, so no plan outlives the rules it was made under.
 */
export class ReadPlanCache {
  private readonly plans = new Map<string, ReadPlan>();
  private readonly nodeIds = new WeakMap<FieldNode, number>();
  private nextNodeId = 0;
  private readonly bound: number;

  constructor(bound = READ_PLANS_PER_VIEW) {
    this.bound = bound;
  }

  get size(): number {
    return this.plans.size;
  }

  /**
   * The plan for this field of this request: a cached one, or `make`'s, kept unless it threw (a refusal is made
   * again, and thrown, every time) or is larger than MAX_PLAN_CHARS. A field merged from several nodes (the same
   * response key selected twice) is not kept: its first node may be a fragment's, merged with other nodes by
   * another operation of the document.
   */
  planFor(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'variableValues'>, make: () => ReadPlan): ReadPlan {
    if (info.fieldNodes.length !== 1) return make();
    // graphql-js coerces variables in the order the operation and the input types declare, whatever order the agent
    // sent, and to JSON values only (the scalars parse to strings and numbers): the same values give the same text.
    const key = `${this.nodeId(info.fieldNodes[0]!)} ${JSON.stringify(info.variableValues)}`;
    const cached = this.plans.get(key);
    if (cached !== undefined) {
      this.plans.delete(key);
      this.plans.set(key, cached);
      return cached;
    }
    const plan = make();
    const { text, params } = plan.statement;
    if (key.length + text.length + JSON.stringify(params).length > MAX_PLAN_CHARS) return plan;
    this.plans.set(key, plan);
    if (this.plans.size > this.bound) this.plans.delete(this.plans.keys().next().value!);
    return plan;
  }

  private nodeId(node: FieldNode): number {
    let id = this.nodeIds.get(node);
    if (id === undefined) {
      id = this.nextNodeId++;
      this.nodeIds.set(node, id);
    }
    return id;
  }
}
