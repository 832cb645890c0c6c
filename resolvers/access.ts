/** Query.datasetPolicies · Query.auditEvents · Query.privacyBudget · Mutation.setDatasetPolicy · Mutation.removeDatasetPolicy */
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import type { AuditEvent, DatasetPolicy, StoredColumnBounds } from '../db/schema/access';
import { builder } from '../schema/builder';
import { listAuditEvents } from '../src/access/audit';
import type { BudgetState } from '../src/access/budget';
import { privacyBudget } from '../src/access/gate';
import type { Filter } from '../src/access/language';
import * as policies from '../src/access/policies';
import { InputError, NotFoundError } from '../src/errors';
import { ApiKeyRef, RoleEnum, UserRef } from './auth';
import { ColumnRuleEnum, DatasetRef } from './datasets';
import { FilterInput, ResultPageInfo } from './queries';

const DatasetAccessEnum = builder.enumType('DatasetAccess', {
  description: 'What a policy lets its principal do with rows.',
  values: {
    ROWS: { description: 'Read rows (within the row filter and column rules).' },
    AGGREGATE_ONLY: {
      description:
        'Only aggregates; aggregates that return a single value (MIN, MAX, MEDIAN, PERCENTILE) are refused. With differentialPrivacy (the default for new aggregate-only policies) COUNT, COUNT_DISTINCT, SUM and AVG are noisy, groups under a noisy threshold are suppressed and each query spends privacy budget; without it, every group smaller than minGroupSize is suppressed and exact aggregates can be differenced.',
    },
  } as const,
});

const ColumnRuleEntry = builder
  .objectRef<{ column: string; rule: (typeof ColumnRuleEnum)['$inferType'] }>('ColumnRuleEntry')
  .implement({
    description: 'The rule of one column under a policy.',
    fields: (t) => ({
      column: t.exposeString('column', { description: 'Column name.' }),
      rule: t.field({ type: ColumnRuleEnum, description: 'Rule.', resolve: (r) => r.rule }),
    }),
  });

const ColumnBoundsRef = builder.objectRef<StoredColumnBounds>('ColumnBounds').implement({
  description:
    'Declared range of a numeric column: values are clamped to it before a differentially private SUM or AVG, which bounds what one row can change.',
  fields: (t) => ({
    column: t.exposeString('column', { description: 'Column name.' }),
    lower: t.exposeFloat('lower', { description: 'Smallest value counted.' }),
    upper: t.exposeFloat('upper', { description: 'Largest value counted.' }),
  }),
});

const PrivacyBudgetRef = builder.objectRef<BudgetState>('PrivacyBudget').implement({
  description:
    'Your differential-privacy budget on a dataset in the current period: each noisy query spends epsilonPerQuery; when remaining is below it, queries are refused with PRIVACY_BUDGET_EXHAUSTED until the period ends.',
  fields: (t) => ({
    epsilonPerQuery: t.exposeFloat('epsilonPerQuery', { description: 'ε one query spends.' }),
    delta: t.exposeFloat('delta', { description: 'δ of each query (its noisy threshold).' }),
    total: t.exposeFloat('total', { description: 'ε you may spend per period.' }),
    spent: t.exposeFloat('spent', { description: 'ε spent this period.' }),
    remaining: t.exposeFloat('remaining', { description: 'ε left this period.' }),
    periodSeconds: t.exposeInt('periodSeconds', { description: 'Length of a period.' }),
    periodStart: t.expose('periodStart', { type: 'DateTime', description: 'This period began.' }),
    periodEnd: t.expose('periodEnd', {
      type: 'DateTime',
      description: 'The budget renews then.',
    }),
  }),
});

export const DatasetPolicyRef = builder.objectRef<DatasetPolicy>('DatasetPolicy').implement({
  description:
    'Who may read which rows and columns of a dataset. The most specific policy applies: one naming an API key, else one naming a user, else one naming their role. Without one, members read every row with PII and SECRET columns masked below ADMIN, and API keys see nothing.',
  fields: (t) => ({
    id: t.id({
      description: 'Global ID.',
      resolve: (p) => encodeGlobalID('DatasetPolicy', p.id),
    }),
    dataset: t.field({
      type: DatasetRef,
      description: 'The dataset.',
      resolve: (p) => p.datasetId,
    }),
    role: t.field({
      type: RoleEnum,
      nullable: true,
      description: 'The role it applies to, for a role policy.',
      resolve: (p) => p.principalRole,
    }),
    user: t.field({
      type: UserRef,
      nullable: true,
      description: 'The member it applies to, for a user policy.',
      resolve: (p) => p.principalUserId,
    }),
    apiKey: t.field({
      type: ApiKeyRef,
      nullable: true,
      description: 'The API key it applies to, for a key policy.',
      resolve: (p) => p.principalApiKeyId,
    }),
    access: t.field({
      type: DatasetAccessEnum,
      description: 'Rows or aggregates only.',
      resolve: (p) => p.access,
    }),
    rowFilter: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Rows the principal may see, as a Filter; null: all.',
      resolve: (p) => p.rowFilter,
    }),
    columnRules: t.field({
      type: [ColumnRuleEntry],
      description: 'Rules per column; other columns follow the defaults.',
      resolve: (p) => p.columnRules,
    }),
    minGroupSize: t.exposeInt('minGroupSize', {
      description: 'Smallest group an aggregate-only result may show.',
    }),
    differentialPrivacy: t.exposeBoolean('differentialPrivacy', {
      description: 'Aggregate-only reads are noisy, bounded and budgeted.',
    }),
    epsilon: t.exposeFloat('epsilon', { description: 'ε one query spends.' }),
    delta: t.exposeFloat('delta', { description: 'δ of the noisy threshold, per query.' }),
    epsilonBudget: t.exposeFloat('epsilonBudget', {
      description: 'ε one credential may spend on the dataset per period.',
    }),
    budgetPeriodSeconds: t.exposeInt('budgetPeriodSeconds', {
      description: 'Length of a budget period.',
    }),
    columnBounds: t.field({
      type: [ColumnBoundsRef],
      description: 'Declared bounds of the columns that may be summed or averaged.',
      resolve: (p) => p.columnBounds,
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last change.' }),
  }),
});

const ColumnRuleInput = builder.inputType('ColumnRuleInput', {
  description: 'The rule for one column.',
  fields: (t) => ({
    column: t.string({ required: true, description: 'Column name.' }),
    rule: t.field({ type: ColumnRuleEnum, required: true, description: 'Rule.' }),
  }),
});

const ColumnBoundsInput = builder.inputType('ColumnBoundsInput', {
  description: 'Declared range of one numeric column.',
  fields: (t) => ({
    column: t.string({ required: true, description: 'Column name.' }),
    lower: t.float({ required: true, description: 'Smallest value counted.' }),
    upper: t.float({ required: true, description: 'Largest value counted.' }),
  }),
});

const DatasetPolicyInput = builder.inputType('DatasetPolicyInput', {
  description:
    'A policy for exactly one principal: a role, a user or an API key. The row filter may compare columns with "$viewer.id", "$viewer.orgId", "$viewer.role" or "$viewer.attributes.<name>" (write "$$" for a literal "$").',
  fields: (t) => ({
    datasetId: t.globalID({ for: [DatasetRef], required: true, description: 'The dataset.' }),
    role: t.field({ type: RoleEnum, description: 'Principal: every member with this role.' }),
    userId: t.globalID({ for: [UserRef], description: 'Principal: one member.' }),
    apiKeyId: t.globalID({ for: [ApiKeyRef], description: 'Principal: one API key.' }),
    access: t.field({ type: DatasetAccessEnum, description: 'Default ROWS.' }),
    rowFilter: t.field({ type: FilterInput, description: 'Rows visible; default all.' }),
    columnRules: t.field({ type: [ColumnRuleInput], description: 'Column rules.' }),
    minGroupSize: t.int({
      validate: z.number().int().min(1).max(1_000_000),
      description: 'For aggregate-only access (default 5).',
    }),
    differentialPrivacy: t.boolean({
      description:
        'Noisy, bounded, budgeted aggregates. Default true when access is AGGREGATE_ONLY or a column rule is AGGREGATE_ONLY; false opts out (exact aggregates above minGroupSize, which can be differenced).',
    }),
    epsilon: t.float({ description: 'ε one query spends (default 1, at most 100).' }),
    delta: t.float({ description: 'δ of the noisy threshold (default 1e-5, at most 0.1).' }),
    epsilonBudget: t.float({
      description: 'ε one credential may spend on the dataset per period (default 10).',
    }),
    budgetPeriodSeconds: t.int({
      description: 'Length of a budget period in seconds (default 86400: a day, from 00:00 UTC).',
    }),
    columnBounds: t.field({
      type: [ColumnBoundsInput],
      description: 'Bounds of the numeric columns that may be summed or averaged under noise.',
    }),
  }),
});

const AuditEventRef = builder.objectRef<AuditEvent>('AuditEvent').implement({
  description: 'One read of dataset rows through the access gate. The log is append-only.',
  fields: (t) => ({
    id: t.id({
      description: 'Event ID.',
      resolve: (e) => encodeGlobalID('AuditEvent', String(e.id)),
    }),
    at: t.expose('at', { type: 'DateTime', description: 'When.' }),
    action: t.exposeString('action', {
      description: 'QUERY, SEARCH, EXPORT, MATERIALIZE, ASK, SAVED_QUERY, …',
    }),
    viewerKind: t.exposeString('viewerKind', { description: 'USER or API_KEY.' }),
    user: t.field({
      type: UserRef,
      nullable: true,
      description: 'The member who read.',
      resolve: (e) => e.userId,
    }),
    apiKey: t.field({
      type: ApiKeyRef,
      nullable: true,
      description: 'The API key that read.',
      resolve: (e) => e.apiKeyId,
    }),
    datasetId: t.id({
      nullable: true,
      description: 'Global ID of the dataset (it may since have been deleted).',
      resolve: (e) => (e.datasetId ? encodeGlobalID('Dataset', e.datasetId) : null),
    }),
    versionId: t.id({
      nullable: true,
      description: 'Global ID of the version read.',
      resolve: (e) => (e.versionId ? encodeGlobalID('DatasetVersion', e.versionId) : null),
    }),
    columnsRead: t.exposeStringList('columnsRead', { description: 'Columns the read used.' }),
    columnsMasked: t.exposeStringList('columnsMasked', {
      description: 'Columns returned masked, hashed or partial.',
    }),
    filter: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The filter (or search) given.',
      resolve: (e) => e.filter,
    }),
    rowCount: t.exposeInt('rowCount', { nullable: true, description: 'Rows returned.' }),
    requestId: t.exposeString('requestId', { nullable: true, description: 'x-request-id.' }),
  }),
});

const AuditEventEdge = builder.objectRef<{ node: AuditEvent }>('AuditEventEdge').implement({
  description: 'An audit event in a page.',
  fields: (t) => ({
    cursor: t.string({ description: 'Cursor.', resolve: (e) => String(e.node.id) }),
    node: t.field({ type: AuditEventRef, description: 'The event.', resolve: (e) => e.node }),
  }),
});

const AuditPage = builder
  .objectRef<{ events: AuditEvent[]; hasNextPage: boolean }>('AuditEventConnection')
  .implement({
    description: 'Audit events, newest first; the cursor is stable under appends.',
    fields: (t) => ({
      edges: t.field({
        type: [AuditEventEdge],
        description: 'Events.',
        resolve: (p) => p.events.map((node) => ({ node })),
      }),
      pageInfo: t.field({
        type: ResultPageInfo,
        description: 'Paging.',
        resolve: (p) => ({
          hasNextPage: p.hasNextPage,
          endCursor: p.events.length ? String(p.events.at(-1)!.id) : null,
        }),
      }),
    }),
  });

const AuditFilterInput = builder.inputType('AuditEventFilter', {
  description: 'Which audit events to list.',
  fields: (t) => ({
    datasetId: t.globalID({ for: [DatasetRef], description: 'Reads of this dataset.' }),
    userId: t.globalID({ for: [UserRef], description: 'Reads by this member.' }),
    apiKeyId: t.globalID({ for: [ApiKeyRef], description: 'Reads by this API key.' }),
    action: t.string({ description: 'E.g. QUERY or EXPORT.' }),
    since: t.field({ type: 'DateTime', description: 'At or after.' }),
    until: t.field({ type: 'DateTime', description: 'At or before.' }),
  }),
});

const errors = { types: [InputError, NotFoundError], directResult: true as const };

builder.queryFields((t) => ({
  datasetPolicies: t.withAuth({ role: 'ADMIN' }).field({
    type: [DatasetPolicyRef],
    description: 'Policies of a dataset (admins).',
    args: { datasetId: t.arg.globalID({ for: [DatasetRef], required: true }) },
    resolve: (_root, { datasetId }, ctx) => policies.listDatasetPolicies(ctx, datasetId.id),
  }),
  privacyBudget: t.withAuth({ authenticated: true }).field({
    type: PrivacyBudgetRef,
    nullable: true,
    description:
      'Your differential-privacy budget on a dataset this period; null where your reads of it are not noisy.',
    args: { datasetId: t.arg.globalID({ for: [DatasetRef], required: true }) },
    resolve: (_root, { datasetId }, ctx) => privacyBudget(ctx, datasetId.id),
  }),
  auditEvents: t.withAuth({ role: 'ADMIN' }).field({
    type: AuditPage,
    description: "The organization's audit log of data reads, newest first (admins).",
    args: {
      filter: t.arg({ type: AuditFilterInput }),
      first: t.arg.int({ description: 'Page size (default 50, at most 1000).' }),
      after: t.arg.string({ description: 'endCursor of the previous page.' }),
    },
    resolve: (_root, args, ctx) => {
      const f = args.filter ?? {};
      if (args.after != null && !/^\d{1,18}$/.test(args.after))
        throw new InputError('after is not an audit cursor.', 'after');
      return listAuditEvents(
        ctx,
        {
          datasetId: f.datasetId?.id,
          userId: f.userId?.id,
          apiKeyId: f.apiKeyId?.id,
          action: f.action,
          since: f.since,
          until: f.until,
        },
        { first: args.first ?? 50, after: args.after == null ? null : Number(args.after) },
      );
    },
  }),
}));

builder.mutationFields((t) => ({
  // Members only: a partner key administers no policy, its own least of all (README, Security).
  setDatasetPolicy: t.withAuth({ $all: { member: true, role: 'ADMIN' } }).field({
    type: DatasetPolicyRef,
    description: "Creates or replaces a principal's policy on a dataset (admins).",
    errors,
    args: { input: t.arg({ type: DatasetPolicyInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      policies.setDatasetPolicy(ctx, {
        datasetId: input.datasetId.id,
        principal: {
          role: input.role,
          userId: input.userId?.id,
          apiKeyId: input.apiKeyId?.id,
        },
        access: input.access,
        rowFilter: input.rowFilter as Filter | null | undefined,
        columnRules: input.columnRules,
        minGroupSize: input.minGroupSize,
        differentialPrivacy: input.differentialPrivacy,
        epsilon: input.epsilon,
        delta: input.delta,
        epsilonBudget: input.epsilonBudget,
        budgetPeriodSeconds: input.budgetPeriodSeconds,
        columnBounds: input.columnBounds,
      }),
  }),
  removeDatasetPolicy: t.withAuth({ $all: { member: true, role: 'ADMIN' } }).field({
    type: DatasetPolicyRef,
    description: 'Removes a policy (admins); its principal falls back to the defaults.',
    errors,
    args: { id: t.arg.id({ required: true, description: 'DatasetPolicy ID.' }) },
    resolve: (_root, { id }, ctx) => {
      let decoded: { typename: string; id: string };
      try {
        decoded = decodeGlobalID(String(id));
      } catch {
        throw new InputError('Not a DatasetPolicy ID.', 'id');
      }
      if (decoded.typename !== 'DatasetPolicy' || !/^[0-9a-f-]{36}$/i.test(decoded.id))
        throw new InputError('Not a DatasetPolicy ID.', 'id');
      return policies.removeDatasetPolicy(ctx, decoded.id);
    },
  }),
}));
