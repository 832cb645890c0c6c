/** Query.viewer · Query.apiKeys · Query.members · Mutation.signUp · Mutation.login · Mutation.createApiKey · Mutation.revokeApiKey · Mutation.inviteMember · Mutation.setMemberRole · Mutation.setMemberAttributes · Mutation.removeMember · Subscription.heartbeat */
import { encodeGlobalID, resolveOffsetConnection } from '@pothos/plugin-relay';
import { z } from 'zod';
import type { Role } from '../db/schema/auth';
import { builder } from '../schema/builder';
import { roleAtLeast } from '../src/auth/roles';
import * as auth from '../src/auth/service';
import type { Viewer } from '../src/auth/viewer';
import { ConflictError, InputError, NotFoundError } from '../src/errors';
import { openStream } from '../src/events/stream';

export const RoleEnum = builder.enumType('Role', {
  description: 'A role in an organization; each includes the rights of those below it.',
  values: {
    OWNER: { description: 'Everything, including managing owners.' },
    ADMIN: { description: 'Manage members, API keys, policies and datasets.' },
    ANALYST: { description: 'Query data, train models, save queries.' },
    VIEWER: { description: 'Read data the policies allow.' },
  } as const satisfies Record<Role, { description: string }>,
});

export const ViewerKindEnum = builder.enumType('ViewerKind', {
  description: 'How the caller signed in.',
  values: {
    USER: { description: 'A person, with a token from login or signUp.' },
    API_KEY: { description: 'A partner integration, with an API key.' },
  } as const satisfies Record<Viewer['kind'], { description: string }>,
});

export const OrganizationRef = builder.loadableNode('Organization', {
  description: 'A tenant: everything in Peso belongs to exactly one organization.',
  id: { resolve: (org: auth.Organization) => org.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? auth.loadOrganizations(ctx.db, ctx.viewer.orgId, ids) : [],
  sort: (org) => org.id,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    slug: t.exposeString('slug', { description: 'URL-safe unique name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

export const UserRef = builder.loadableNode('User', {
  description: 'A person with an account.',
  id: { resolve: (user: auth.PublicUser) => user.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? auth.loadUsers(ctx.db, ctx.viewer.orgId, ids) : [],
  sort: (user) => user.id,
  fields: (t) => ({
    email: t.exposeString('email', { description: 'Sign-in email.' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    createdAt: t.expose('createdAt', {
      type: 'DateTime',
      description: 'When the account was made.',
    }),
  }),
});

export const MembershipRef = builder.loadableNode('Membership', {
  description: "A person's role in an organization.",
  id: { resolve: (m: auth.Membership) => m.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? auth.loadMemberships(ctx.db, ctx.viewer.orgId, ids) : [],
  sort: (m) => m.id,
  fields: (t) => ({
    role: t.expose('role', { type: RoleEnum, description: 'Role in the organization.' }),
    user: t.field({ type: UserRef, description: 'The member.', resolve: (m) => m.userId }),
    organization: t.field({
      type: OrganizationRef,
      description: 'The organization.',
      resolve: (m) => m.orgId,
    }),
    attributes: t.field({
      type: 'JSONObject',
      description: 'Attributes row policies can read as $viewer.attributes.* (admins only).',
      authScopes: { role: 'ADMIN' },
      resolve: (m) => m.attributes,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the member joined.' }),
  }),
});

export const ApiKeyRef = builder.loadableNode('ApiKey', {
  description: 'A credential for a partner integration. Its secret is shown only when created.',
  id: { resolve: (k: auth.ApiKey) => k.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer && roleAtLeast(ctx.viewer.role, 'ADMIN')
      ? auth.loadApiKeys(ctx.db, ctx.viewer.orgId, ids)
      : [],
  sort: (k) => k.id,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the key is for.' }),
    prefix: t.exposeString('prefix', { description: 'Public part of the key, to recognise it.' }),
    role: t.expose('role', { type: RoleEnum, description: 'Role the key acts with.' }),
    active: t.boolean({
      description: 'Neither revoked nor expired.',
      resolve: (k) => !k.revokedAt && (!k.expiresAt || k.expiresAt.getTime() > Date.now()),
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'Expiry.' }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Revocation.',
    }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Last use, to the minute.',
    }),
    createdBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who created it.',
      resolve: (k) => k.createdBy,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The caller: a member or an API key, acting within one organization.',
  fields: (t) => ({
    id: t.id({
      description: 'Global ID of the User or ApiKey behind the call.',
      resolve: (v) =>
        v.kind === 'USER'
          ? encodeGlobalID('User', v.userId!)
          : encodeGlobalID('ApiKey', v.apiKeyId!),
    }),
    kind: t.field({
      type: ViewerKindEnum,
      description: 'How the caller signed in.',
      resolve: (v) => v.kind,
    }),
    role: t.field({
      type: RoleEnum,
      description: 'Role in the organization.',
      resolve: (v) => v.role,
    }),
    user: t.field({
      type: UserRef,
      nullable: true,
      description: 'The person, if any.',
      resolve: (v) => v.userId,
    }),
    apiKey: t.field({
      type: ApiKeyRef,
      nullable: true,
      description: 'The API key, if any (visible to admins).',
      resolve: (v) => v.apiKeyId,
    }),
    membership: t.field({
      type: MembershipRef,
      nullable: true,
      description: 'The membership, for a person.',
      resolve: (v) => v.membershipId,
    }),
    organization: t.field({
      type: OrganizationRef,
      description: 'The organization the call acts in.',
      resolve: (v) => v.orgId,
    }),
  }),
});

interface AuthPayloadShape {
  token: string;
  expiresAt: Date;
  userId: string;
  orgId: string;
}

const AuthPayload = builder.objectRef<AuthPayloadShape>('AuthPayload').implement({
  description: 'A signed-in session.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as "Authorization: Bearer <token>".' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the token expires.' }),
    userId: t.id({
      description: 'Global ID of the signed-in user.',
      resolve: (p) => encodeGlobalID('User', p.userId),
    }),
    organizationId: t.id({
      description: 'Global ID of the organization the token acts in.',
      resolve: (p) => encodeGlobalID('Organization', p.orgId),
    }),
  }),
});

const CreateApiKeyPayload = builder
  .objectRef<{ apiKey: auth.ApiKey; secret: string }>('CreateApiKeyPayload')
  .implement({
    description: 'A new API key and its secret.',
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, description: 'The key.', resolve: (p) => p.apiKey }),
      secret: t.exposeString('secret', {
        description: 'The full key. Shown this once: store it now, it cannot be read again.',
      }),
    }),
  });

const InviteMemberPayload = builder
  .objectRef<{ membership: auth.Membership; temporaryPassword: string | null }>(
    'InviteMemberPayload',
  )
  .implement({
    description: 'The new membership.',
    fields: (t) => ({
      membership: t.field({
        type: MembershipRef,
        description: 'The membership.',
        resolve: (p) => p.membership,
      }),
      temporaryPassword: t.exposeString('temporaryPassword', {
        nullable: true,
        description:
          'For a new account: its first password, shown once. Null if the account existed.',
      }),
    }),
  });

const email = z.email({ message: 'must be an email address' }).max(254);
const password = z.string().min(10, { message: 'must be at least 10 characters' }).max(256);
const name = z.string().trim().min(1, { message: 'must not be empty' }).max(200);

const SignUpInput = builder.inputType('SignUpInput', {
  description: 'A new account and its organization.',
  fields: (t) => ({
    email: t.string({ required: true, validate: email, description: 'Sign-in email.' }),
    password: t.string({
      required: true,
      validate: password,
      description: 'At least 10 characters.',
    }),
    name: t.string({ required: true, validate: name, description: 'Your name.' }),
    organizationName: t.string({
      required: true,
      validate: name,
      description: 'Name of the new organization.',
    }),
  }),
});

const LoginInput = builder.inputType('LoginInput', {
  description: 'Credentials.',
  fields: (t) => ({
    email: t.string({
      required: true,
      validate: z.string().max(254),
      description: 'Sign-in email.',
    }),
    password: t.string({ required: true, validate: z.string().max(256), description: 'Password.' }),
    organizationId: t.globalID({
      for: [OrganizationRef],
      description: 'Organization to act in; defaults to the oldest membership.',
    }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new API key.',
  fields: (t) => ({
    name: t.string({ required: true, validate: name, description: 'What the key is for.' }),
    role: t.field({ type: RoleEnum, required: true, description: 'Role the key acts with.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'Optional expiry.' }),
  }),
});

const InviteMemberInput = builder.inputType('InviteMemberInput', {
  description: 'Someone to add to the organization.',
  fields: (t) => ({
    email: t.string({ required: true, validate: email, description: 'Their email.' }),
    name: t.string({
      required: true,
      validate: name,
      description: 'Their name, for a new account.',
    }),
    role: t.field({ type: RoleEnum, required: true, description: 'Their role.' }),
  }),
});

const errorTypes = { types: [InputError, ConflictError, NotFoundError] };

builder.queryFields((t) => ({
  viewer: t.withAuth({ authenticated: true }).field({
    type: ViewerRef,
    description: 'The caller.',
    resolve: (_root, _args, ctx) => ctx.viewer,
  }),
  apiKeys: t.withAuth({ role: 'ADMIN' }).connection({
    type: ApiKeyRef,
    description: "The organization's API keys, newest first (admins).",
    resolve: (_root, args, ctx) =>
      resolveOffsetConnection({ args }, (page) => auth.listApiKeys(ctx, page)),
  }),
  members: t.withAuth({ authenticated: true }).connection({
    type: MembershipRef,
    description: "The organization's members, oldest first.",
    resolve: (_root, args, ctx) =>
      resolveOffsetConnection({ args }, (page) => auth.listMembers(ctx, page)),
  }),
}));

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthPayload,
    description: 'Creates an account with a new organization you own, and signs in.',
    skipTypeScopes: true,
    errors: { ...errorTypes, directResult: true },
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: (_root, { input }, ctx) => auth.signUp(ctx, input),
  }),
  login: t.field({
    type: AuthPayload,
    description: 'Signs in with email and password; fails with UNAUTHENTICATED.',
    skipTypeScopes: true,
    errors: { ...errorTypes, directResult: true },
    args: { input: t.arg({ type: LoginInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      auth.login(ctx, {
        email: input.email,
        password: input.password,
        orgId: input.organizationId?.id,
      }),
  }),
  createApiKey: t.withAuth({ $all: { member: true, role: 'ADMIN' } }).field({
    type: CreateApiKeyPayload,
    description: 'Creates an API key for a partner (admins). Its role cannot exceed yours.',
    errors: { ...errorTypes, directResult: true },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => auth.createApiKey(ctx, input),
  }),
  revokeApiKey: t.withAuth({ role: 'ADMIN' }).field({
    type: ApiKeyRef,
    description: 'Revokes an API key at once; live subscriptions using it are closed.',
    errors: { ...errorTypes, directResult: true },
    args: { id: t.arg.globalID({ for: [ApiKeyRef], required: true }) },
    resolve: (_root, { id }, ctx) => auth.revokeApiKey(ctx, id.id),
  }),
  inviteMember: t.withAuth({ $all: { member: true, role: 'ADMIN' } }).field({
    type: InviteMemberPayload,
    description: 'Adds a person to the organization (admins).',
    errors: { ...errorTypes, directResult: true },
    args: { input: t.arg({ type: InviteMemberInput, required: true }) },
    resolve: (_root, { input }, ctx) => auth.inviteMember(ctx, input),
  }),
  setMemberRole: t.withAuth({ $all: { member: true, role: 'ADMIN' } }).field({
    type: MembershipRef,
    description: "Changes a member's role (admins; only owners make owners).",
    errors: { ...errorTypes, directResult: true },
    args: {
      membershipId: t.arg.globalID({ for: [MembershipRef], required: true }),
      role: t.arg({ type: RoleEnum, required: true }),
    },
    resolve: (_root, args, ctx) =>
      auth.setMemberRole(ctx, { membershipId: args.membershipId.id, role: args.role }),
  }),
  setMemberAttributes: t.withAuth({ $all: { member: true, role: 'ADMIN' } }).field({
    type: MembershipRef,
    description: "Replaces a member's attributes, which row policies read (admins).",
    errors: { ...errorTypes, directResult: true },
    args: {
      membershipId: t.arg.globalID({ for: [MembershipRef], required: true }),
      attributes: t.arg({
        type: 'JSONObject',
        required: true,
        validate: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/), z.string().max(1000)),
      }),
    },
    resolve: (_root, args, ctx) =>
      auth.setMemberAttributes(ctx, {
        membershipId: args.membershipId.id,
        attributes: args.attributes as Record<string, string>,
      }),
  }),
  removeMember: t.withAuth({ $all: { member: true, role: 'ADMIN' } }).field({
    type: MembershipRef,
    description: 'Removes a member; their sessions and subscriptions end.',
    errors: { ...errorTypes, directResult: true },
    args: { membershipId: t.arg.globalID({ for: [MembershipRef], required: true }) },
    resolve: (_root, args, ctx) => auth.removeMember(ctx, args.membershipId.id),
  }),
}));

const Heartbeat = builder.objectRef<{ at: Date; role: Role }>('Heartbeat').implement({
  description: 'A liveness tick.',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: 'Server time of the tick.' }),
    role: t.expose('role', {
      type: RoleEnum,
      description: "The caller's role when the tick was sent.",
    }),
  }),
});

builder.subscriptionFields((t) => ({
  heartbeat: t.withAuth({ authenticated: true }).field({
    type: Heartbeat,
    description:
      'Ticks every intervalSeconds, so dashboards can tell a live connection from a dead one. The stream ends when the credential stops being valid.',
    args: {
      intervalSeconds: t.arg.int({ defaultValue: 15, validate: z.number().int().min(1).max(300) }),
    },
    subscribe: (_root, args, ctx) =>
      openStream(ctx, { source: ticks(args.intervalSeconds ?? 15, ctx.viewer.role) }),
    resolve: (tick) => tick,
  }),
}));

async function* ticks(intervalSeconds: number, role: Role) {
  while (true) {
    yield { at: new Date(), role };
    await new Promise((resolve) => setTimeout(resolve, intervalSeconds * 1000));
  }
}
