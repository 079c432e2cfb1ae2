import { database } from "../db/database";
import { findPlan, type Plan } from "../db/plans";
import { DomainError } from "../domain/errors";

export async function getPlan(env: Env, planId: string): Promise<Plan> {
  const plan = await findPlan(database(env.DB), planId);
  if (!plan) throw new DomainError("NOT_FOUND", "No such plan.");
  return plan;
}
