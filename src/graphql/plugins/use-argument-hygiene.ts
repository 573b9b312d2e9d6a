import type { Plugin } from 'graphql-yoga';
import { refusal } from '../../request/refusals.ts';
import { literalsProblem, variablesProblem } from '../input-hygiene.ts';

/**
 * Every argument of every field, checked once before anything runs (INPUT_LIMITS): literals before validation,
 * variables before execution. Resolvers of every stage (rows, DP, HE) then only see values SQL can take.
 */
export function useArgumentHygiene(): Plugin {
  return {
    onValidate({ params, setResult }) {
      const problem = literalsProblem(params.schema, params.documentAST);
      if (problem) setResult([refusal('INVALID_ARGUMENT', problem)]);
    },
    onExecute({ args, setResultAndStopExecution }) {
      const problem = variablesProblem(args.variableValues);
      if (problem) setResultAndStopExecution({ errors: [refusal('INVALID_ARGUMENT', problem)] });
    },
  };
}
