/** The agents' GraphQL endpoint's public surface: the endpoint, its per-view schemas and the stages' extensions of them. */
export { createAgentYoga, type AgentYogaOptions } from './yoga.ts';
export { ViewSchemaCache, type CompiledView } from './view-schemas.ts';
export type { ViewSchemaExtension } from './schema.ts';
export { corsOriginsFrom } from './plugins/use-cors.ts';
export { INPUT_LIMITS } from './input-hygiene.ts';
export { dpAggregateExtension, type DpExtensionOptions } from './extensions/dp-aggregates.ts';
export { heAggregateExtension, type HeExtensionOptions } from './extensions/he-aggregates.ts';
