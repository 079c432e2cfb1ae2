import { database } from "../db/database";
import { listDeliveries as deliveryRows, type DeliveryRow } from "../db/webhook-endpoints";

/** An endpoint's delivery log, newest first, after the cursor row. */
export async function listDeliveries(
  env: Env,
  endpointId: string,
  limit: number,
  before?: { at: number; id: string },
): Promise<DeliveryRow[]> {
  return deliveryRows(database(env.DB), endpointId, limit, before);
}
