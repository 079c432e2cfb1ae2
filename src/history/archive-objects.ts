import type { StoredEvent } from "../domain/stored-event";

/** What the archive needs of an R2 bucket; tests wrap the real local binding to fail a step. */
export type ArchiveBucket = Pick<R2Bucket, "put" | "get" | "delete">;

/**
 * Writes one day's events as gzip-compressed NDJSON (one StoredEvent per line, oldest first):
 * `pages` yields them a page at a time and each page goes through the compressor as it comes, so
 * only compressed bytes accumulate. R2 needs the object's length up front, hence one put at the end.
 */
export async function writeDayObject(
  bucket: ArchiveBucket,
  key: string,
  pages: AsyncIterable<StoredEvent[]>,
  metadata: Record<string, string>,
): Promise<{ events: number; bytes: number }> {
  const gzip = new CompressionStream("gzip");
  const writer = gzip.writable.getWriter();
  const compressed = collect(gzip.readable);
  const encoder = new TextEncoder();
  let events = 0;
  try {
    for await (const page of pages) {
      if (page.length === 0) continue;
      events += page.length;
      await writer.write(encoder.encode(page.map((e) => `${JSON.stringify(e)}\n`).join("")));
    }
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => {});
    await compressed.catch(() => {});
    throw error;
  }
  const body = await compressed;
  await bucket.put(key, body, {
    httpMetadata: { contentType: "application/x-ndjson" },
    customMetadata: { ...metadata, events: String(events), encoding: "gzip" },
  });
  return { events, bytes: body.byteLength };
}

/** A day object's events, oldest first; throws when the object is missing, truncated or not NDJSON. */
export async function readDayObject(bucket: ArchiveBucket, key: string): Promise<{ events: StoredEvent[]; bytes: number }> {
  const object = await bucket.get(key);
  if (object === null) throw new Error(`archive object ${key} is missing`);
  const text = await new Response(object.body.pipeThrough(new DecompressionStream("gzip"))).text();
  if (text.length > 0 && !text.endsWith("\n")) throw new Error(`archive object ${key} ends mid-line`);
  const lines = text.length === 0 ? [] : text.slice(0, -1).split("\n");
  return { events: lines.map((line) => JSON.parse(line) as StoredEvent), bytes: object.size };
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    length += chunk.byteLength;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
