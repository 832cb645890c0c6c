import type postgres from 'postgres';

/**
 * Arrays of PostgreSQL's built-in types for a postgres.js client that does not query the catalog
 * for them (`fetch_types: false`, see `openPostgres`). Their OIDs are fixed in every PostgreSQL
 * release, so they are known here: [element OID, array OID].
 */
const BUILT_IN_ARRAYS: ReadonlyArray<readonly [number, number]> = [
  [16, 1000], // bool
  [17, 1001], // bytea
  [18, 1002], // char
  [19, 1003], // name
  [20, 1016], // int8
  [21, 1005], // int2
  [23, 1007], // int4
  [25, 1009], // text
  [26, 1028], // oid
  [114, 199], // json
  [700, 1021], // float4
  [701, 1022], // float8
  [1042, 1014], // bpchar
  [1043, 1015], // varchar
  [1082, 1182], // date
  [1083, 1183], // time
  [1114, 1115], // timestamp
  [1184, 1185], // timestamptz
  [1186, 1187], // interval
  [1700, 1231], // numeric
  [2950, 2951], // uuid
  [3802, 3807], // jsonb
];

type Parse = (text: string) => unknown;
type Serialize = (value: unknown) => unknown;

/**
 * Parses PostgreSQL's text form of an array (`{1,NULL,"a \"b\""}`, nested for more dimensions,
 * with a `[lower:upper]=` prefix when a lower bound is not 1), each element through `element`.
 * Unquoted NULL is null; a quoted "NULL" is the text.
 */
export function parseArray(text: string, element: Parse): unknown[] {
  let i = text.charCodeAt(0) === 91 /* [ */ ? text.indexOf('=') + 1 : 0;
  const end = text.length;
  const malformed = () => new Error(`Malformed array literal: ${text.slice(0, 100)}`);
  const level = (): unknown[] => {
    if (text[i] !== '{') throw malformed();
    const out: unknown[] = [];
    i++;
    if (text[i] === '}') {
      i++;
      return out;
    }
    while (i < end) {
      if (text[i] === '{') out.push(level());
      else if (text[i] === '"') {
        let value = '';
        for (i++; i < end && text[i] !== '"'; i++) value += text[i] === '\\' ? text[++i] : text[i];
        if (i >= end) throw malformed();
        i++;
        out.push(element(value));
      } else {
        const start = i;
        while (i < end && text[i] !== ',' && text[i] !== '}') i++;
        const value = text.slice(start, i);
        out.push(value.toUpperCase() === 'NULL' ? null : element(value));
      }
      const separator = text[i++];
      if (separator === '}') return out;
      if (separator !== ',') throw malformed();
    }
    throw malformed();
  };
  const result = level();
  if (i !== end) throw malformed();
  return result;
}

/** The text form of a JavaScript array (nested for more dimensions), each element quoted. */
export function serializeArray(values: readonly unknown[], element: Serialize): string {
  const item = (value: unknown): string => {
    if (value === null || value === undefined) return 'NULL';
    if (Array.isArray(value)) return serializeArray(value, element);
    return `"${String(element(value)).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  };
  return `{${values.map(item).join(',')}}`;
}

/**
 * Gives a client the parsers and serializers of built-in array types, each through the client's
 * own parser or serializer of its element, looked up when used, so the element's (drizzle sets
 * some) is followed. An array type that already has both is left as it is.
 */
export function addBuiltInArrays(client: postgres.Sql): void {
  const { parsers, serializers } = client.options;
  for (const [element, array] of BUILT_IN_ARRAYS) {
    if (parsers[array] && serializers[array]) continue;
    parsers[array] = (text: string) => parseArray(text, (x) => (parsers[element] ?? String)(x));
    serializers[array] = (value: unknown) =>
      Array.isArray(value)
        ? serializeArray(value, (x) => (serializers[element] ?? String)(x))
        : value;
  }
}
