/** Query · Mutation · Subscription roots (locked to signed-in callers) · the Error interface */

import { builder } from '../schema/builder';
import { ConflictError, InputError, NotFoundError, type PesoError } from '../src/errors';

builder.queryType({
  description: 'Read access to Peso. Every field needs a signed-in caller.',
  authScopes: { authenticated: true },
});

builder.mutationType({
  description: 'Changes to Peso. Every field needs a signed-in caller, except signUp and login.',
  authScopes: { authenticated: true },
});

builder.subscriptionType({
  description: 'Live streams over graphql-ws or SSE. Every field needs a signed-in caller.',
  authScopes: { authenticated: true },
});

/** Every expected failure a client should handle implements this interface. */
export const ErrorInterface = builder.interfaceRef<PesoError>('Error').implement({
  description: 'An expected failure: the request was understood but could not be carried out.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'A sentence for people.' }),
    code: t.exposeString('code', { description: 'A stable machine-readable code.' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The object does not exist, or is not visible to the caller.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    entity: t.exposeString('entity', { description: 'What kind of object was looked for.' }),
  }),
});

builder.objectType(InputError, {
  name: 'InputError',
  description: 'An input value was not acceptable.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InputError,
  fields: (t) => ({
    field: t.exposeString('field', {
      nullable: true,
      description: 'The input field at fault, when one is.',
    }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change conflicts with the current state.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: () => ({}),
});
