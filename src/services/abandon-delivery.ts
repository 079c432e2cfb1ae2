import { markDeliveryAbandoned } from "../db/webhook-endpoints";

/** A delivery the queue gave up on: the log says so, keeping the last answer. */
export async function abandonDelivery(env: Env, deliveryId: string): Promise<void> {
  await markDeliveryAbandoned(env.DB, deliveryId, Date.now());
}
