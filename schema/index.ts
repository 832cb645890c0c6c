import '../resolvers/common';
import '../resolvers/auth';
import '../resolvers/datasets';
import '../resolvers/queries';
import '../resolvers/access';
import '../resolvers/models';
import '../resolvers/drift';
import '../resolvers/conversations';
import '../resolvers/insights';
import '../resolvers/insights-trends';
import '../resolvers/insights-segments';
import '../resolvers/marketing';
import { builder } from './builder';

export const schema = builder.toSchema({ sortSchema: true });
