import { type ArchivePart, archivePartKey } from "../domain/history-archive";
import type { StoredEvent } from "../domain/stored-event";

/** What the archive needs of an R2 bucket; tests wrap the real local binding to fail a step. */
export type ArchiveBucket = Pick<R2Bucket, "put" | "get" | "delete" | "list">;

/**
 * Writes one day's events as gzip-compressed NDJSON (one StoredEvent per line, oldest first), in
 * parts of at most `partEvents` events: `pages` yields them a page at a time, each page goes
 * through the compressor as it comes, and only one part's compressed bytes are held at once (R2
 * needs an object's length up front, hence one put per part). Readers decode only the parts they need.
 */
export async function writeDayParts(
  bucket: ArchiveBucket,
  prefix: string,
  pages: AsyncIterable<StoredEvent[]>,
  partEvents: number,
  metadata: Record<string, string>,
): Promise<ArchivePart[]> {
  const parts: ArchivePart[] = [];
  const encoder = new TextEncoder();
  let part: OpenPart | null = null;
  try {
    for await (const page of pages) {
      for (let i = 0; i < page.length; ) {
        part ??= openPart();
        const run = page.slice(i, i + partEvents - part.events.count);
        await part.writer.write(encoder.encode(run.map((e) => `${JSON.stringify(e)}\n`).join("")));
        part.events.count += run.length;
        part.events.first ??= run[0]!;
        part.events.last = run[run.length - 1]!;
        i += run.length;
        if (part.events.count === partEvents) {
          parts.push(await closePart(bucket, archivePartKey(prefix, parts.length), part, metadata));
          part = null;
        }
      }
    }
    if (part !== null) parts.push(await closePart(bucket, archivePartKey(prefix, parts.length), part, metadata));
  } catch (error) {
    if (part !== null) {
      await part.writer.abort(error).catch(() => {});
      await part.compressed.catch(() => {});
    }
    throw error;
  }
  return parts;
}

/** A part's events, oldest first; throws when the object is missing, truncated or not NDJSON. */
export async function readPart(bucket: ArchiveBucket, key: string): Promise<{ events: StoredEvent[]; bytes: number }> {
  const object = await bucket.get(key);
  if (object === null) throw new Error(`archive object ${key} is missing`);
  const text = await new Response(object.body.pipeThrough(new DecompressionStream("gzip"))).text();
  if (text.length > 0 && !text.endsWith("\n")) throw new Error(`archive object ${key} ends mid-line`);
  const lines = text.length === 0 ? [] : text.slice(0, -1).split("\n");
  return { events: lines.map((line) => JSON.parse(line) as StoredEvent), bytes: object.size };
}

/** The keys under a prefix, in key order (R2 lists 1,000 at a time). */
export async function listKeys(bucket: ArchiveBucket, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await bucket.list({ prefix, ...(cursor === undefined ? {} : { cursor }) });
    keys.push(...page.objects.map((o) => o.key));
    if (!page.truncated) return keys.sort();
    cursor = page.cursor;
  }
}

/** Deletes every object under a prefix (at most 1,000 keys per call). */
export async function deletePrefix(bucket: ArchiveBucket, prefix: string): Promise<void> {
  const keys = await listKeys(bucket, prefix);
  for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
}

interface OpenPart {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  compressed: Promise<Uint8Array>;
  events: { count: number; first?: StoredEvent; last?: StoredEvent };
}

function openPart(): OpenPart {
  const gzip = new CompressionStream("gzip");
  return { writer: gzip.writable.getWriter(), compressed: collect(gzip.readable), events: { count: 0 } };
}

async function closePart(bucket: ArchiveBucket, key: string, part: OpenPart, metadata: Record<string, string>): Promise<ArchivePart> {
  await part.writer.close();
  const body = await part.compressed;
  await bucket.put(key, body, {
    httpMetadata: { contentType: "application/x-ndjson" },
    customMetadata: { ...metadata, events: String(part.events.count), encoding: "gzip" },
  });
  const { first, last } = part.events as Required<OpenPart["events"]>;
  return {
    key,
    events: part.events.count,
    first: { occurredAt: first.occurredAt, id: first.id },
    last: { occurredAt: last.occurredAt, id: last.id },
  };
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
