/**
 * YAML that every common parser reads the same way. cdk8s writes with the yaml library's 1.1
 * schema, which quotes yes/no/on/off and the like, but leaves `=` and `<<` plain: YAML 1.1 parsers
 * (PyYAML and the tools built on it) read those as the value and merge key types and refuse the
 * whole file (the AlertmanagerConfig's `matchType: =`). They are written double-quoted; every other
 * byte stays as cdk8s wrote it.
 */
import { parseAllDocuments, Scalar, visit } from 'yaml';

/** Plain scalars that YAML 1.1 gives a type of their own. */
const YAML11_SPECIAL = new Set(['=', '<<']);
/** A line ending in one of them as a plain value or item, the only places cdk8s writes them. */
const MAY_HOLD_ONE = /(?:^|[:\-]\s)(?:=|<<)$/m;

export function yaml11Safe(text: string): string {
  if (!MAY_HOLD_ONE.test(text)) return text;
  const docs = parseAllDocuments(text);
  for (const doc of docs) {
    if ('errors' in doc && doc.errors.length) throw new Error(`yaml11Safe: ${doc.errors[0].message}`);
    visit(doc, {
      Scalar(_key, node: Scalar) {
        if (node.type === 'PLAIN' && typeof node.value === 'string' && YAML11_SPECIAL.has(node.value)) node.type = 'QUOTE_DOUBLE';
      },
    });
  }
  // lineWidth 0: no folding, as cdk8s writes.
  return docs.map((d) => d.toString({ lineWidth: 0 })).join('');
}
