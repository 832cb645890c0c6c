import '../resolvers/common';
import '../resolvers/auth';
import { builder } from './builder';

export const schema = builder.toSchema({ sortSchema: true });
