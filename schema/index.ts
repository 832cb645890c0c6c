import '../resolvers/common';
import '../resolvers/auth';
import '../resolvers/datasets';
import '../resolvers/queries';
import '../resolvers/access';
import '../resolvers/models';
import '../resolvers/drift';
import '../resolvers/conversations';
import '../resolvers/insights';
import { builder } from './builder';

export const schema = builder.toSchema({ sortSchema: true });
