import { createServer, type Server } from "node:http";

/**
 * A real HTTP receiver on loopback for outbound-webhook tests, run in the Vitest main process.
 * POST /hook/<name> records the request and answers by the name's prefix: `ok-…` 200, `flaky-…`
 * 500 twice then 200, `redirect-…` 302 to /hook/ok-redirected-<name>, `down-…` always 503.
 * GET /requests/<name> lists what arrived.
 */
export async function startWebhookReceiver(): Promise<{ url: string; server: Server }> {
  const received = new Map<string, { headers: Record<string, string>; body: string }[]>();
  const server = createServer((req, res) => {
    const [, kind, name = ""] = (req.url ?? "").split("/");
    if (req.method === "GET" && kind === "requests") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(received.get(name) ?? []));
      return;
    }
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      const list = received.get(name) ?? [];
      list.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body });
      received.set(name, list);
      if (name.startsWith("redirect-")) {
        res.writeHead(302, { location: `/hook/ok-redirected-${name}` });
        res.end();
        return;
      }
      const status = name.startsWith("ok-") ? 200 : name.startsWith("flaky-") ? (list.length <= 2 ? 500 : 200) : 503;
      res.statusCode = status;
      res.end(status === 200 ? "thanks" : "not now");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("receiver did not bind");
  return { url: `http://127.0.0.1:${address.port}`, server };
}
