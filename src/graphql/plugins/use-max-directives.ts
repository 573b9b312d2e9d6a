import { type ASTNode, type DocumentNode, type FragmentDefinitionNode, type GraphQLError, Kind, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Directives in a document as executed: a fragment's count again at every spread of it. A spread inside its
 * own fragment counts nothing more (such cycles are invalid and refused by validation anyway).
 */
export function countDirectives(document: DocumentNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const counted = new Map<string, number>();
  const expanding = new Set<string>();
  const countIn = (node: ASTNode): number => {
    let n = 0;
    visit(node, {
      Directive: () => {
        n += 1;
      },
      FragmentSpread: (spread) => {
        n += fragmentCount(spread.name.value);
      },
    });
    return n;
  };
  const fragmentCount = (name: string): number => {
    const fragment = fragments.get(name);
    if (!fragment || expanding.has(name)) return 0;
    if (!counted.has(name)) {
      expanding.add(name);
      counted.set(name, countIn(fragment));
      expanding.delete(name);
    }
    return counted.get(name)!;
  };
  return document.definitions.reduce((n, definition) => n + (definition.kind === Kind.OPERATION_DEFINITION ? countIn(definition) : 0), 0);
}

/**
 * Refuses a document with more than `n` directives before validation runs: otherwise every unknown directive
 * costs a validation error of its own (graphql-armor's max-directives does the same; it is not a dependency).
 */
export function useMaxDirectives(options: { n: number; error: (message: string) => GraphQLError }): Plugin {
  return {
    onValidate({ params, setResult }) {
      const found = countDirectives(params.documentAST);
      if (found > options.n) setResult([options.error(`Directives limit of ${options.n} exceeded, found ${found}.`)]);
    },
  };
}
