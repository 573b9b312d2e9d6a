import type { View } from '../../policy/index.ts';

/** GraphQL object type -> field -> `table.column`: the fields of a view that carry untrusted text. */
export type UntrustedFields = ReadonlyMap<string, ReadonlyMap<string, string>>;

/**
 * The type an aggregate answer's group keys come in (src/graphql/extensions/dp-aggregates.ts): a text column an
 * agent groups by leaves as a key, raw, once enough people share the value (a merchant's text on many payments).
 */
const groupKeyType = (tableType: string) => `${tableType}GroupKey`;

const byView = new WeakMap<View, UntrustedFields>();

/**
 * The view's fields whose column has a tag of class `untrusted` (`untrusted_text` in the shipped catalog): as row
 * fields of the tables it reads rows of, and as group keys of its aggregate tables. Worked out once per view.
 */
export function untrustedFieldsOf(view: View): UntrustedFields {
  let fields = byView.get(view);
  if (!fields) {
    const types = new Map<string, Map<string, string>>();
    for (const viewTable of view.tables.values()) {
      const { access } = viewTable.policy;
      // An encrypted aggregate returns a ciphertext and names of its own, never a stored value.
      if (access === 'encrypted') continue;
      const type = access === 'rows' ? viewTable.table.graphqlType : groupKeyType(viewTable.table.graphqlType);
      for (const [name, field] of viewTable.fields) {
        if (!field.column.classes.has('untrusted')) continue;
        if (!types.has(type)) types.set(type, new Map());
        types.get(type)!.set(name, `${viewTable.table.name}.${name}`);
      }
    }
    fields = types;
    byView.set(view, fields);
  }
  return fields;
}
