import '../resolvers/common';
import '../resolvers/auth';
import '../resolvers/datasets';
import { builder } from './builder';

export const schema = builder.toSchema({ sortSchema: true });
