import type { Role } from '../../db/schema/auth';

const RANK: Record<Role, number> = { OWNER: 4, ADMIN: 3, ANALYST: 2, VIEWER: 1 };

/** True when `role` is at least as powerful as `required`. */
export function roleAtLeast(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}
