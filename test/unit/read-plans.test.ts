import { type FieldNode, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_PLAN_CHARS, type ReadPlan, ReadPlanCache } from '../../src/graphql/read-plans.ts';

/** The root field nodes of a document, parsed anew (as yoga does for a document it has not cached). */
function rootFields(document: string): FieldNode[] {
  const operation = parse(document).definitions[0] as OperationDefinitionNode;
  return operation.selectionSet.selections as FieldNode[];
}

/** A stand-in plan: the cache keeps and returns plans, weighing only their statement. */
const aPlan = (text = 'SELECT'): ReadPlan => ({ statement: { text, params: [] } }) as unknown as ReadPlan;

/** Asks `cache` for a plan, counting how many it had to make. */
function planner(cache: ReadPlanCache) {
  let made = 0;
  return {
    plan: (fieldNodes: readonly FieldNode[], variableValues: Record<string, unknown> = {}, text?: string) =>
      cache.planFor({ fieldNodes, variableValues }, () => {
        made += 1;
        return aPlan(text);
      }),
    get made() {
      return made;
    },
  };
}

describe('ReadPlanCache', () => {
  it('keeps a plan per root field node and variable values', () => {
    const cache = new ReadPlanCache();
    const ask = planner(cache);
    const [customers, accounts] = rootFields('query($n: Int) { customers(limit: $n) { id } accounts { id } }');
    const first = ask.plan([customers!], { n: 1 });
    expect(ask.plan([customers!], { n: 1 })).toBe(first);
    expect(ask.plan([customers!], { n: 2 })).not.toBe(first);
    expect(ask.plan([accounts!], { n: 1 })).not.toBe(first);
    // The same text parsed again is other nodes: yoga's document cache is what makes a repeated document a hit.
    expect(ask.plan(rootFields('query($n: Int) { customers(limit: $n) { id } accounts { id } }').slice(0, 1), { n: 1 })).not.toBe(first);
    expect(ask.made).toBe(4);
    expect(cache.size).toBe(4);
  });

  it('keeps no plan for a field merged from several nodes', () => {
    const cache = new ReadPlanCache();
    const ask = planner(cache);
    const merged = rootFields('{ customers { id } customers { email } }');
    expect(ask.plan(merged)).not.toBe(ask.plan(merged));
    expect(ask.made).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('keeps no plan whose making threw: the refusal is thrown every time', () => {
    const cache = new ReadPlanCache();
    const [customers] = rootFields('{ customers(limit: 51) { id } }');
    let attempts = 0;
    const refuse = () => {
      attempts += 1;
      throw new Error('LIMIT_EXCEEDED');
    };
    expect(() => cache.planFor({ fieldNodes: [customers!], variableValues: {} }, refuse)).toThrow('LIMIT_EXCEEDED');
    expect(() => cache.planFor({ fieldNodes: [customers!], variableValues: {} }, refuse)).toThrow('LIMIT_EXCEEDED');
    expect(attempts).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('keeps no plan larger than MAX_PLAN_CHARS, in its variables or its statement', () => {
    const cache = new ReadPlanCache();
    const ask = planner(cache);
    const [customers] = rootFields('query($c: [String!]) { customers(where: { city: { in: $c } }) { id } }');
    const cities = Array.from({ length: MAX_PLAN_CHARS / 16 }, (_, i) => `city number ${i}`);
    expect(ask.plan([customers!], { c: cities })).not.toBe(ask.plan([customers!], { c: cities }));
    const long = 'x'.repeat(MAX_PLAN_CHARS);
    expect(ask.plan([customers!], { c: ['Berlin'] }, long)).not.toBe(ask.plan([customers!], { c: ['Berlin'] }, long));
    expect(ask.made).toBe(4);
    expect(cache.size).toBe(0);
    const kept = ask.plan([customers!], { c: cities.slice(0, 10) }, 'x'.repeat(MAX_PLAN_CHARS / 2));
    expect(ask.plan([customers!], { c: cities.slice(0, 10) })).toBe(kept);
    expect(cache.size).toBe(1);
  });

  it('stays within its bound however many variable values it is asked with', () => {
    const cache = new ReadPlanCache(3);
    const ask = planner(cache);
    const [customers] = rootFields('query($id: Int) { customers(where: { id: { eq: $id } }) { id } }');
    for (let id = 0; id < 20; id++) {
      ask.plan([customers!], { id });
      expect(cache.size).toBe(Math.min(id + 1, 3));
    }
    expect(ask.made).toBe(20);
  });

  it('drops the least recently used plan first', () => {
    const ask = planner(new ReadPlanCache(3));
    const [customers] = rootFields('query($id: Int) { customers(where: { id: { eq: $id } }) { id } }');
    // 0 used again after 1 and 2, so 3 pushes out 1.
    for (const id of [0, 1, 2, 0, 3]) ask.plan([customers!], { id });
    expect(ask.made).toBe(4);
    ask.plan([customers!], { id: 0 });
    ask.plan([customers!], { id: 2 });
    expect(ask.made).toBe(4);
    ask.plan([customers!], { id: 1 });
    expect(ask.made).toBe(5);
  });
});
