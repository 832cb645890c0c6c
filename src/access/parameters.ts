import type { StoredParameter } from '../../db/schema/queries';
import { InputError } from '../errors';
import { coerce } from './compile';
import { type Filter, OPERATORS, type QueryInput } from './language';

/**
 * Parameters of saved queries: a filter value written `"$params.<name>"` is bound, typed by the
 * parameter's declaration, before the query reaches the compiler.
 */

const PARAM = /^\$params\.([A-Za-z_][A-Za-z0-9_]{0,62})$/;

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A parameter as a caller declares it. */
export type ParameterDeclaration = Omit<StoredParameter, 'default' | 'required'> & {
  required?: boolean | null;
  default?: unknown;
};

/**
 * Checks a saved query's parameter declarations (names, defaults of their type, no duplicates)
 * and that every parameter the query uses is declared; returns them as stored.
 */
export function declareParameters(
  declarations: ParameterDeclaration[],
  query: QueryInput,
): StoredParameter[] {
  const parameters: StoredParameter[] = declarations.map((p) => {
    if (!NAME.test(p.name))
      throw new InputError(
        `Parameter name "${p.name}" must be a letter or _ then letters, digits or _.`,
        'parameters',
      );
    if (p.default !== undefined && p.default !== null)
      coerce(p.default, p.type, `Default of "${p.name}"`);
    return { name: p.name, type: p.type, required: p.required ?? true, default: p.default ?? null };
  });
  if (new Set(parameters.map((p) => p.name)).size !== parameters.length)
    throw new InputError('Two parameters have the same name.', 'parameters');
  const declared = new Set(parameters.map((p) => p.name));
  for (const used of referencedParameters(query)) {
    if (!declared.has(used))
      throw new InputError(
        `The query uses "$params.${used}", which is not declared.`,
        'parameters',
      );
  }
  return parameters;
}

/** Parameter names a query refers to as `"$params.<name>"` in filter values. */
export function referencedParameters(query: QueryInput): Set<string> {
  const found = new Set<string>();
  const visit = (value: unknown) => {
    if (typeof value === 'string') {
      const m = PARAM.exec(value);
      if (m) found.add(m[1]!);
    } else if (Array.isArray(value)) for (const v of value) visit(v);
  };
  const walk = (f: Filter | null | undefined) => {
    if (!f) return;
    for (const x of f.and ?? []) walk(x);
    for (const x of f.or ?? []) walk(x);
    walk(f.not);
    for (const op of OPERATORS) visit(f[op]);
  };
  walk(query.where);
  walk(query.having);
  return found;
}

/** Replaces every `"$params.<name>"` with the argument, typed by the parameter's declaration. */
export function bindParameters(
  query: QueryInput,
  declared: StoredParameter[],
  given: Record<string, unknown>,
): QueryInput {
  const byName = new Map(declared.map((p) => [p.name, p]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) throw new InputError(`No parameter named "${name}".`, 'params');
  }
  const values = new Map<string, unknown>();
  for (const p of declared) {
    const raw = given[p.name] ?? p.default;
    if (raw === undefined || raw === null) {
      if (p.required) throw new InputError(`Parameter "${p.name}" is required.`, 'params');
      values.set(p.name, null);
      continue;
    }
    const text = coerce(raw, p.type, `Parameter "${p.name}"`);
    values.set(
      p.name,
      p.type === 'INTEGER' || p.type === 'FLOAT'
        ? Number(text)
        : p.type === 'BOOLEAN'
          ? text === 'true'
          : text,
    );
  }
  const sub = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const m = PARAM.exec(value);
      return m ? values.get(m[1]!) : value;
    }
    return Array.isArray(value) ? value.map(sub) : value;
  };
  const walk = (f: Filter | null | undefined): Filter | null | undefined => {
    if (!f) return f;
    const out: Filter = { ...f };
    if (f.and) out.and = f.and.map((x) => walk(x)!);
    if (f.or) out.or = f.or.map((x) => walk(x)!);
    if (f.not) out.not = walk(f.not);
    for (const op of OPERATORS)
      if (f[op] != null) (out as Record<string, unknown>)[op] = sub(f[op]);
    return out;
  };
  return { ...query, where: walk(query.where), having: walk(query.having) };
}
