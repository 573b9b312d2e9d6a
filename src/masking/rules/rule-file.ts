/** The YAML shape of one file in `masking-rules/` (see docs/masking-rules.md). */
import { z } from 'zod';

const jurisdiction = z.string().regex(/^[A-Z]{2}(-[A-Z]{2})?$/, 'expected a jurisdiction code such as SG or EU-DE');
const columnRef = z.string().regex(/^[a-z_][a-z0-9_]*\.(?:\*|[a-z_][a-z0-9_]*)$/, 'expected "table.column" or "table.*"');
const nonEmpty = <T extends z.ZodType>(item: T) => z.array(item).min(1, 'expected at least one entry; leave the key out to mean "any"');

/** The pseudo-function that withholds a field in the rule's scope (hidden from the schema when it applies to every row). */
export const HIDE = 'hide';

const ruleSchema = z
  .strictObject({
    description: z.string().optional(),
    columns: nonEmpty(columnRef).optional(),
    tags: nonEmpty(z.string().min(1)).optional(),
    roles: nonEmpty(z.string().min(1)).optional(),
    purposes: nonEmpty(z.string().min(1)).optional(),
    agentLocations: nonEmpty(jurisdiction).optional(),
    subjectJurisdictions: nonEmpty(jurisdiction).optional(),
    mask: z.string().min(1, 'expected a masking function name, "clear" or "hide"'),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((rule) => (rule.columns === undefined) !== (rule.tags === undefined), {
    message: 'expected exactly one of columns: or tags: (what the rule applies to)',
  });

export const ruleFileSchema = z.strictObject({ rules: z.array(ruleSchema) });

export type RuleEntry = z.output<typeof ruleSchema>;
export type RuleFile = z.output<typeof ruleFileSchema>;

/** The four scope dimensions, in the order explanations list them. */
export const SCOPE_DIMENSIONS = ['roles', 'purposes', 'agentLocations', 'subjectJurisdictions'] as const;
export type ScopeDimension = (typeof SCOPE_DIMENSIONS)[number];
