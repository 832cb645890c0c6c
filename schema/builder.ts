import SchemaBuilder, { PothosValidationError } from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import type { Role } from '../db/schema/auth';
import { roleAtLeast } from '../src/auth/roles';
import type { AppContext, AuthedContext } from '../src/context';

/** Types the builder is parameterized with; resolvers import them from here. */
/** What the JSON scalar parses to. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PesoTypes {
  Context: AppContext;
  AuthScopes: {
    /** Any signed-in member or API key. */
    authenticated: boolean;
    /** At least this role in the viewer's organization. */
    role: Role;
    /** Signed in as a person (not an API key). */
    member: boolean;
  };
  AuthContexts: {
    authenticated: AuthedContext;
    role: AuthedContext;
    member: AuthedContext;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: JsonValue; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    ID: { Input: string; Output: string | number };
    File: { Input: File; Output: never };
  };
  DefaultFieldNullability: false;
}

export const builder = new SchemaBuilder<PesoTypes>({
  plugins: [
    ScopeAuthPlugin,
    ErrorsPlugin,
    ValidationPlugin,
    RelayPlugin,
    DataloaderPlugin,
    ComplexityPlugin,
  ],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      authenticated: ctx.viewer !== null,
      member: ctx.viewer?.kind === 'USER',
      role: (required: Role) => ctx.viewer !== null && roleAtLeast(ctx.viewer.role, required),
    }),
    unauthorizedError: (_parent, ctx, info) =>
      ctx.viewer
        ? new GraphQLError(`Not allowed to access ${info.parentType.name}.${info.fieldName}.`, {
            extensions: { code: 'FORBIDDEN' },
          })
        : new GraphQLError('Sign in first: send "Authorization: Bearer <token or API key>".', {
            extensions: { code: 'UNAUTHENTICATED' },
          }),
  },
  validation: {
    validationError: (failure) => {
      const issue = failure.issues[0];
      const path = issue?.path
        ?.map((part) => String(typeof part === 'object' ? part.key : part))
        .join('.');
      return new GraphQLError(
        path ? `${path}: ${issue?.message}` : (issue?.message ?? 'Invalid input.'),
        {
          extensions: { code: 'BAD_USER_INPUT', field: path ?? null },
        },
      );
    },
  },
  relay: {
    clientMutationId: 'omit',
    // Every stored ID is a UUID: refuse anything else here, before it reaches a uuid column.
    decodeGlobalID: (globalID) => {
      const decoded = decodeGlobalID(globalID);
      if (!UUID.test(decoded.id)) throw new PothosValidationError(`Invalid ID: ${globalID}`);
      return decoded;
    },
    cursorType: 'String',
    idFieldOptions: { description: 'Global ID: pass it to `node(id:)` or to any `…Id` argument.' },
    nodeTypeOptions: { description: 'An object with a global ID.' },
    pageInfoTypeOptions: { description: 'Where a page of a connection starts and ends.' },
    hasNextPageFieldOptions: { description: 'More items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'Items precede this page.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of the page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item: pass it as `after`.' },
    edgesFieldOptions: { description: 'The items of this page, with their cursors.' },
    pageInfoFieldOptions: { description: 'Paging information.' },
    cursorFieldOptions: { description: 'Cursor of this item.' },
    nodeFieldOptions: { description: 'The item.' },
    nodeQueryOptions: {
      description:
        'Fetches any object by its global ID; null when it is not visible to the caller.',
    },
    nodesQueryOptions: {
      description: 'Fetches several objects by global ID, null for each one not visible.',
    },
  },
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    // Not checked per root field here (that ran once per event of a subscription): the cost is
    // checked before execution, with dataset rows counted, by src/limits/plugin.ts.
    disabled: true,
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);
builder.scalarType('File', {
  description: 'A file sent as a GraphQL multipart request part (input only).',
  serialize: () => {
    throw new GraphQLError('File is an input-only scalar.');
  },
  parseValue: (value) => {
    // yoga hands over a WHATWG File, which may be a ponyfill rather than Node's own class.
    if (value && typeof (value as File).stream === 'function') return value as File;
    throw new GraphQLError('Expected a file upload (GraphQL multipart request).', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  },
});
