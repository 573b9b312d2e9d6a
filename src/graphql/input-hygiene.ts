import {
  type DocumentNode,
  getNamedType,
  type GraphQLSchema,
  Kind,
  type ObjectValueNode,
  type ListValueNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';

/**
 * What any argument value may be, before it reaches SQL (documented in the README). PostgreSQL refuses NUL in
 * text and lone surrogates are not UTF-8; without these bounds such values fail inside the database (INTERNAL).
 */
export const INPUT_LIMITS = {
  /** Characters (UTF-16 code units) in one string. */
  stringLength: 1024,
  /** Items in one list (e.g. `in: [...]`). */
  listItems: 1000,
  /** Nesting of lists and input objects (e.g. `where: { and: [{ or: [...] }] }` is 4 deep at `or`'s items). */
  depth: 32,
  /**
   * List items and object fields in all of one operation's variables together, at any depth. The two bounds above
   * still let 1 MB of JSON hold some 50 000 comparisons in one `where`, and coercing, compiling and binding them
   * holds the event loop for a second or more; literals need no such bound, the document's token limit is smaller.
   */
  totalItems: 10_000,
} as const;

const INT32 = 2 ** 31;

export function stringProblem(value: string): string | undefined {
  if (value.length > INPUT_LIMITS.stringLength) return `a string is longer than ${INPUT_LIMITS.stringLength} characters`;
  if (value.includes('\u0000')) return 'a string contains a NUL character';
  if (!value.isWellFormed()) return 'a string contains a lone UTF-16 surrogate';
  return undefined;
}

const numberProblem = (value: number): string | undefined => (Number.isFinite(value) ? undefined : 'a number is not finite');

/** The first problem with one variable's value (as it came in JSON), or undefined; `seen` counts items across variables. */
function valueProblem(value: unknown, seen: { items: number }, depth = 0): string | undefined {
  if (typeof value === 'string') return stringProblem(value);
  if (typeof value === 'number') return numberProblem(value);
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= INPUT_LIMITS.depth) return `a value is nested more than ${INPUT_LIMITS.depth} levels deep`;
  const items = Array.isArray(value) ? value : Object.values(value);
  if (items.length > INPUT_LIMITS.listItems) return `a list or object has more than ${INPUT_LIMITS.listItems} items`;
  seen.items += items.length;
  if (seen.items > INPUT_LIMITS.totalItems) return `the variables hold more than ${INPUT_LIMITS.totalItems} list items and object fields in all`;
  for (const item of items) {
    const problem = valueProblem(item, seen, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** The first problem with an operation's variables, naming the variable, or undefined. */
export function variablesProblem(variables: Readonly<Record<string, unknown>> | null | undefined): string | undefined {
  const seen = { items: 0 };
  for (const [name, value] of Object.entries(variables ?? {})) {
    const problem = valueProblem(value, seen);
    if (problem) return `Variable "$${name}": ${problem}.`;
  }
  return undefined;
}

/**
 * The first problem with the literal argument values written in a document, with its line and column, or
 * undefined. An Int literal beyond 32 bits is caught here so it is an INVALID_ARGUMENT like any other argument.
 */
export function literalsProblem(schema: GraphQLSchema, document: DocumentNode): string | undefined {
  const typeInfo = new TypeInfo(schema);
  let found: string | undefined;
  let depth = 0;
  const report = (problem: string | undefined, node: { loc?: { startToken: { line: number; column: number } } }) => {
    if (problem && !found) found = node.loc ? `${problem} (line ${node.loc.startToken.line}, column ${node.loc.startToken.column}).` : `${problem}.`;
  };
  const nest = {
    enter(node: ListValueNode | ObjectValueNode) {
      depth += 1;
      const items = node.kind === Kind.LIST ? node.values : node.fields;
      if (depth > INPUT_LIMITS.depth) report(`a value is nested more than ${INPUT_LIMITS.depth} levels deep`, node);
      else if (items.length > INPUT_LIMITS.listItems) report(`a list or object has more than ${INPUT_LIMITS.listItems} items`, node);
    },
    leave() {
      depth -= 1;
    },
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      StringValue: (node) => report(stringProblem(node.value), node),
      FloatValue: (node) => report(numberProblem(Number(node.value)), node),
      IntValue: (node) => {
        const value = Number(node.value);
        const type = getNamedType(typeInfo.getInputType());
        report(type?.name === 'Int' && (value >= INT32 || value < -INT32) ? 'an Int is outside the 32-bit range' : numberProblem(value), node);
      },
      ListValue: nest,
      ObjectValue: nest,
    }),
  );
  return found;
}
