import {
  buildClientSchema,
  getIntrospectionQuery,
  type DefinitionNode,
  type IntrospectionQuery,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  printSchema,
} from 'graphql';

const VIEWER_QUERY = '{ viewer { agent purpose location tables { name access fields maxLimit } } }';

/**
 * The agent's view and the full introspection in one GraphQL document, so describing the view costs one
 * request and one audit record rather than two.
 */
export const DESCRIBE_VIEW_QUERY: string = (() => {
  const viewer = parse(VIEWER_QUERY).definitions[0] as OperationDefinitionNode;
  const introspection = parse(getIntrospectionQuery({ descriptions: true }));
  const definitions = introspection.definitions.map(
    (definition): DefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION
        ? {
            ...definition,
            name: { kind: Kind.NAME, value: 'DescribeView' },
            selectionSet: { ...definition.selectionSet, selections: [...viewer.selectionSet.selections, ...definition.selectionSet.selections] },
          }
        : definition,
  );
  return print({ ...introspection, definitions });
})();

export interface ViewDescription {
  viewer: unknown;
  /** The agent's GraphQL schema in SDL: only what its view contains. */
  sdl: string;
}

/** Splits the answer to DESCRIBE_VIEW_QUERY into the viewer and the schema printed as SDL. */
export function viewDescriptionOf(data: Record<string, unknown>): ViewDescription {
  const { viewer, ...introspection } = data;
  return { viewer, sdl: printSchema(buildClientSchema(introspection as unknown as IntrospectionQuery)) };
}
