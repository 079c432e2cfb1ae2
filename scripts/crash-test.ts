// The crash test: ingests bounded, deterministic streams (keyed batches, single events, consumes
// against a hard limit, queued events) into `wrangler dev` on fresh local state, SIGKILLs the dev
// server's whole process group at three moments, restarts it on the same state each time, re-sends
// every request with the same keys, and then checks history and counters against every answer it
// got: each event answered 2xx is in history exactly once, counters equal history, the hard limit
// admitted exactly its limit.   npm run test:crash
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { parseCommandLine } from "./lib/cli";
import {
  auth,
  d1ExecuteArgs,
  freshState,
  groupGone,
  groupMembers,
  json,
  type LocalWorker,
  root,
  signalGroup,
  startLocalWorker,
  wrangler,
} from "./lib/local-worker";

const USAGE = `Usage: npm run test:crash [-- --json <file>]

Ingests fixed streams of keyed batches, single events, consumes against a hard limit and queued
events into wrangler dev on fresh local state, SIGKILLs the dev server three times mid-ingest,
restarts it on the same state, re-sends every request and checks that history and counters agree
with every answer it got. Takes two to three minutes; dev server logs go to bench/results/crash-dev-*.log.

  --json FILE   also write the checks' results as a vitest-shaped JSON report (default: none)
  -h, --help    this text

Example: npm run test:crash -- --json test-results/crash-test.json`;

/** `--json <file>`: the checks' results in the shape of vitest's JSON report, for scripts/test-summary.mjs. */
const { values: args } = parseCommandLine(USAGE, { options: { json: { type: "string" } } });
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
/** The whole run is bounded: past this, it stops everything and fails. */
const WATCHDOG_MS = 6 * 60_000;

// ---------------------------------------------------------------------------------------------
// The streams: fixed requests with fixed idempotency keys, so that a re-send is the same request.

type Stream = "batch" | "single" | "consume" | "async";
/** What one answer said about one event. `failed`: no usable answer (connection lost, 5xx). */
type Outcome = "created" | "duplicate" | "accepted" | "denied" | `rejected:${string}` | "failed";

interface EventSpec {
  /** subjectId|idempotencyKey: idempotency keys are per subject, and so is history's key. */
  uid: string;
  stream: Stream;
  subjectId: string;
  meter: string;
  amountE4: number;
  key: string;
}

interface Req {
  stream: Stream;
  path: string;
  body: string;
  events: EventSpec[];
}

const SUBJECTS = 40;
const BATCHES = 200;
/** The last batches are sent together as the burst before the second kill. */
const BURST = 16;
const BATCH_METERS = ["api_call", "crash_a", "crash_b"] as const;
const SINGLES = 500;
const HARD_SUBJECTS = ["ch-0", "ch-1"];
const CONSUMES_PER_SUBJECT = 300;
const LIMIT = 120;
const ASYNC_REQUESTS = 60;
const ASYNC_SIZE = 100;
const NEW_METERS = ["crash_a", "crash_b", "crash_c", "crash_lim", "crash_q"];

function spec(stream: Stream, subjectId: string, meter: string, amount: number, key: string): EventSpec {
  return { uid: `${subjectId}|${key}`, stream, subjectId, meter, amountE4: Math.round(amount * 1e4), key };
}

const wire = (e: EventSpec) => ({ subjectId: e.subjectId, meter: e.meter, amount: e.amountE4 / 1e4, idempotencyKey: e.key });

const batchRequests: Req[] = Array.from({ length: BATCHES }, (_, b) => {
  const size = 50 + ((b * 193) % 451); // 50–500
  const events = Array.from({ length: size }, (_, i) =>
    spec("batch", `cb-${(b * 7 + i) % SUBJECTS}`, BATCH_METERS[(b + i) % 3]!, 1 + ((b * 31 + i * 17) % 9) / 4, `b${b}-${i}`),
  );
  return { stream: "batch", path: "/v1/usage/batch", body: JSON.stringify({ events: events.map(wire) }), events };
});

const singleRequests: Req[] = Array.from({ length: SINGLES }, (_, i) => {
  const e = spec("single", `cb-${i % SUBJECTS}`, "crash_c", 1 + (i % 4) / 2, `s-${i}`);
  return { stream: "single", path: "/v1/usage", body: JSON.stringify(wire(e)), events: [e] };
});

const consumeRequests: Req[] = Array.from({ length: HARD_SUBJECTS.length * CONSUMES_PER_SUBJECT }, (_, i) => {
  const subjectId = HARD_SUBJECTS[i % HARD_SUBJECTS.length]!;
  const e = spec("consume", subjectId, "crash_lim", 1, `c-${i}`);
  return {
    stream: "consume",
    path: `/v1/subjects/${subjectId}/entitlements/crash_lim/consume`,
    body: JSON.stringify({ amount: 1, idempotencyKey: e.key }),
    events: [e],
  };
});

const asyncRequests: Req[] = Array.from({ length: ASYNC_REQUESTS }, (_, r) => {
  const events = Array.from({ length: ASYNC_SIZE }, (_, i) =>
    spec("async", `cq-${(r * 3 + i) % 20}`, "crash_q", 1 + (i % 3), `q${r}-${i}`),
  );
  return { stream: "async", path: "/v1/usage/async", body: JSON.stringify({ events: events.map(wire) }), events };
});

const allRequests = [...batchRequests, ...singleRequests, ...consumeRequests, ...asyncRequests];
const specs = new Map<string, EventSpec>(allRequests.flatMap((r) => r.events.map((e) => [e.uid, e] as const)));
const testSubjects = [...new Set([...specs.values()].map((e) => e.subjectId))].sort();

// ---------------------------------------------------------------------------------------------
// The server: started detached (its own process group), killed with SIGKILL, restarted on the same state.

let state = "";
let worker: LocalWorker | null = null;
/** Every process group started, so that nothing outlives the run whatever ends it. */
const groups = new Set<number>();
let gate = Promise.withResolvers<void>();
let starts = 0;

async function startServer(): Promise<void> {
  const t0 = performance.now();
  worker = await startLocalWorker(state, {
    logName: `crash-dev-${starts++}`,
    detached: true,
    onSpawn: (server) => void (server.pid !== undefined && groups.add(server.pid)),
  });
  console.log(
    `  [${elapsed()}] wrangler dev up on ${worker.base} (pgid ${worker.server.pid}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  gate.resolve();
}

interface Kill {
  label: string;
  at: string;
  answered: number;
  inHistory: number;
  notYet: Record<string, number>;
  unanswered: number;
  /** The events answered 2xx before this kill. */
  answeredSet: Set<string>;
}
const kills: Kill[] = [];

/** SIGKILL of the whole process group; then what history holds at that moment, read while the server is down. */
async function crash(label: string): Promise<Kill> {
  gate = Promise.withResolvers<void>();
  const w = worker!;
  worker = null;
  await w.kill();
  groups.delete(w.server.pid!);
  const at = elapsed();
  const present = await historyUids();
  const answered = [...specs.values()].filter((e) => answeredOk(e.uid));
  const notYet: Record<string, number> = {};
  for (const e of answered) if (!present.has(e.uid)) notYet[e.stream] = (notYet[e.stream] ?? 0) + 1;
  const unanswered = [...present].filter((uid) => !answeredOk(uid)).length;
  const answeredSet = new Set(answered.map((e) => e.uid));
  const kill = { label, at, answered: answered.length, inHistory: present.size, notYet, unanswered, answeredSet };
  kills.push(kill);
  console.log(
    `  [${at}] SIGKILL ${kills.length} (${label}): ${kill.answered} events answered 2xx so far, ${kill.inHistory} in history; ` +
      `answered but not in history yet: ${JSON.stringify(notYet)}; in history without a 2xx answer (reply lost): ${unanswered}`,
  );
  return kill;
}

// ---------------------------------------------------------------------------------------------
// Sending and recording.

/** Every answer per event, in order. */
const answers = new Map<string, { outcome: Outcome; phase: string }[]>();
const OK = new Set<Outcome>(["created", "duplicate", "accepted"]);

function answeredOk(uid: string): boolean {
  return (answers.get(uid) ?? []).some((a) => OK.has(a.outcome));
}

function failedOr(status: number, body: unknown): Outcome {
  const code = (body as { error?: { code?: string } } | null)?.error?.code;
  return status >= 500 || code === undefined ? "failed" : `rejected:${code}`;
}

async function post(req: Req): Promise<Outcome[]> {
  const all = (o: Outcome) => req.events.map(() => o);
  let status: number;
  let body: any;
  try {
    const res = await fetch(`${worker!.base}${req.path}`, {
      method: "POST",
      headers: json,
      body: req.body,
      signal: AbortSignal.timeout(60_000),
    });
    status = res.status;
    body = await res.json();
  } catch {
    return all("failed");
  }
  switch (req.stream) {
    case "batch": {
      if (status !== 200) return all(failedOr(status, body));
      const results = body.results as { index: number; status: "created" | "duplicate" | "rejected"; error?: { code: string } }[];
      return req.events.map((_, i): Outcome => {
        const r = results[i];
        if (r === undefined || r.index !== i) return "failed";
        return r.status === "rejected" ? `rejected:${r.error?.code ?? "?"}` : r.status;
      });
    }
    case "single":
      return status === 200 || status === 201 ? [body.status as Outcome] : all(failedOr(status, body));
    case "consume":
      if (status === 200) return [body.status as Outcome];
      return [status === 402 ? "denied" : failedOr(status, body)];
    case "async":
      return status === 202 && body.enqueued === req.events.length ? all("accepted") : all(failedOr(status, body));
  }
}

/** Sends one request (waiting while the server is down); true when every event got a final answer. */
async function send(req: Req, phase: string): Promise<boolean> {
  await gate.promise;
  const outcomes = await post(req);
  req.events.forEach((e, i) => {
    const list = answers.get(e.uid) ?? [];
    list.push({ outcome: outcomes[i]!, phase });
    answers.set(e.uid, list);
  });
  return outcomes.every((o) => o !== "failed" && o !== "rejected:LEDGER_UNAVAILABLE");
}

/** Sends `reqs` from `concurrency` callers; a request without a final answer is tried again up to `retries` times. */
async function drive(reqs: Req[], concurrency: number, phase: string, opts: { retries?: number; progress?: { done: number } } = {}) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, reqs.length) }, async () => {
      for (let i = next++; i < reqs.length; i = next++) {
        for (let attempt = 0; !(await send(reqs[i]!, phase)) && attempt < (opts.retries ?? 0); attempt++) await sleep(250 * (attempt + 1));
        if (opts.progress) opts.progress.done++;
      }
    }),
  );
}

async function until(what: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await what()) return true;
    await sleep(everyMs);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Reading what the service holds.

interface HistoryRow {
  s: string;
  m: string;
  k: string | null;
  a: number;
  t: number;
  v: number | null;
}

/** Every history row, straight from the local D1 database (works while the server is down too). */
async function readHistory(): Promise<HistoryRow[]> {
  const { stdout } = await run(
    wrangler,
    d1ExecuteArgs(
      state,
      "SELECT subject_id AS s, meter AS m, idempotency_key AS k, amount_e4 AS a, occurred_at AS t, voided_at AS v FROM usage_events",
      { json: true },
    ),
    { cwd: root, maxBuffer: 1 << 30 },
  );
  return (JSON.parse(stdout) as { results: HistoryRow[] }[])[0]!.results;
}

async function historyUids(): Promise<Set<string>> {
  return new Set((await readHistory()).map((r) => `${r.s}|${r.k}`));
}

/** Events in history by the rollups (cheap to poll), all meters. */
async function historyCount(meter?: string): Promise<number> {
  const res = await fetch(`${worker!.base}/v1/usage/summary?groupBy=meter${meter ? `&meter=${meter}` : ""}`, { headers: auth });
  if (!res.ok) throw new Error(`summary: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: { count: number }[] }).data.reduce((sum, row) => sum + row.count, 0);
}

/** Polls the history count until it is at least `minimum` and has not moved for `quietMs`, or has not moved for 15 s. */
async function settle(meter: string | undefined, minimum: number, quietMs: number, timeoutMs: number): Promise<number> {
  let count = -1;
  let since = Date.now();
  await until(
    async () => {
      const now = await historyCount(meter);
      if (now !== count) [count, since] = [now, Date.now()];
      const quiet = Date.now() - since;
      return (count >= minimum && quiet >= quietMs) || quiet >= 15_000;
    },
    timeoutMs,
    250,
  );
  return count;
}

async function put(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${worker!.base}${path}`, { method: "PUT", headers: json, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<boolean> {
  console.log(
    `crash test: ${batchRequests.length} batches (${batchRequests.reduce((n, r) => n + r.events.length, 0)} events over ${SUBJECTS} subjects × ${BATCH_METERS.length} meters), ` +
      `${SINGLES} single events, ${consumeRequests.length} consumes on ${HARD_SUBJECTS.length} subjects with a hard limit of ${LIMIT}, ` +
      `${ASYNC_REQUESTS * ASYNC_SIZE} queued events; three SIGKILLs, then everything again`,
  );
  state = freshState("tally-crash");
  console.log(`  [${elapsed()}] fresh state ${state}, migrations applied`);
  await startServer();
  for (const meter of NEW_METERS) await put(`/v1/meters/${meter}`, { unit: "call", kind: "counter" });
  await put("/v1/plans/crash-hard", { entitlements: { crash_lim: { limit: LIMIT, period: "month", enforcement: "hard" } } });
  for (const subjectId of HARD_SUBJECTS) await put(`/v1/subjects/${subjectId}`, { planId: "crash-hard" });

  // 1. Batches, single events and consumes together; the first kill a third of the way into the batches.
  const main = batchRequests.slice(0, BATCHES - BURST);
  const progress = { done: 0 };
  const streams = Promise.all([
    drive(main, 3, "stream", { progress }),
    drive(singleRequests, 2, "stream"),
    drive(consumeRequests, 4, "stream"),
  ]);
  if (!(await until(() => progress.done >= Math.ceil(main.length / 3), 120_000)))
    throw new Error("the batch stream did not get a third of the way");
  await crash("mid-batch stream, ledgers writing");
  await startServer();
  await streams;

  // 2. A burst of batches, and the kill as soon as the last answer is in: ledger outboxes still hold events.
  await drive(batchRequests.slice(BATCHES - BURST), BURST, "burst");
  const burstKill = await crash("right after a burst");
  await startServer();
  // Nothing writes to these subjects again before the re-send, and a duplicate schedules no flush:
  // what the ledgers' outboxes held at the kill must reach history by their alarms, kept across the kill.
  const restarted = performance.now();
  await settle(undefined, burstKill.answeredSet.size, 1500, 30_000);
  const afterRestart = await historyUids();
  const outboxes = {
    left: Object.values(burstKill.notYet).reduce((a, b) => a + b, 0),
    stranded: [...burstKill.answeredSet].filter((uid) => !afterRestart.has(uid)),
    seconds: ((performance.now() - restarted) / 1000).toFixed(1),
  };
  console.log(
    `  [${elapsed()}] ${outboxes.left} events left in ledger outboxes at the second kill: ` +
      `${outboxes.stranded.length} still not in history ${outboxes.seconds} s after the restart`,
  );

  // 3. Queued events; the kill while the consumer is draining the queue.
  const queued = drive(asyncRequests, 4, "queue");
  const total = ASYNC_REQUESTS * ASYNC_SIZE;
  let drainedAtKill = 0;
  await until(
    async () => {
      drainedAtKill = await historyCount("crash_q");
      return drainedAtKill >= total * 0.3;
    },
    30_000,
    100,
  );
  const queueKill = await crash("queue consumer draining");
  await startServer();
  await queued;
  await settle("crash_q", 0, 3000, 30_000);
  const afterQueue = await historyUids();
  const lostByQueue = [...queueKill.answeredSet].filter((uid) => specs.get(uid)!.stream === "async" && !afterQueue.has(uid)).length;

  // 4. Everything again, same keys; requests without a final answer are retried a few times.
  const resendStart = performance.now();
  await Promise.all([
    drive(batchRequests, 3, "resend", { retries: 4 }),
    drive(singleRequests, 4, "resend", { retries: 4 }),
    drive(consumeRequests, 6, "resend", { retries: 4 }),
    drive(asyncRequests, 4, "resend", { retries: 4 }),
  ]);
  console.log(`  [${elapsed()}] re-sent all ${allRequests.length} requests in ${((performance.now() - resendStart) / 1000).toFixed(1)} s`);

  // 5. History settles: ledger outboxes flush within a second or so, the queue drains.
  const expected = [...specs.keys()].filter(answeredOk).length;
  const count = await settle(undefined, expected, 2000, 90_000);
  console.log(`  [${elapsed()}] history settled: ${count} events by the rollups, ${expected} answered 2xx`);

  // 6. The checks.
  const history = await readHistory();
  const entitlements = new Map<string, { meter: string; used: number; periodStart: string; periodEnd: string }[]>();
  for (let i = 0; i < testSubjects.length; i += 10) {
    await Promise.all(
      testSubjects.slice(i, i + 10).map(async (subjectId) => {
        const res = await fetch(`${worker!.base}/v1/subjects/${subjectId}/entitlements`, { headers: auth });
        if (!res.ok) throw new Error(`entitlements of ${subjectId}: ${res.status} ${await res.text()}`);
        entitlements.set(subjectId, ((await res.json()) as { data: never[] }).data);
      }),
    );
  }
  const failed = verify(history, entitlements, outboxes);

  console.log("\nkills:");
  for (const [i, k] of kills.entries()) {
    console.log(
      `  ${i + 1}. ${k.label} at ${k.at}: ${k.answered} answered 2xx, ${k.inHistory} in history, not yet in history ${JSON.stringify(k.notYet)}, ${k.unanswered} in history without a 2xx answer`,
    );
  }
  if (!burstKill.notYet.batch)
    console.log("  note: the burst's events had all reached history before the second kill (the flush beat it this time)");
  if (drainedAtKill >= total) console.log("  note: the queue had drained before the third kill");
  if (lostByQueue > 0)
    console.log(
      `  note: ${lostByQueue} of the queued events answered 202 before the third kill never reached history after the restart: ` +
        "wrangler dev's local queue (miniflare's queue broker) keeps messages in memory, so a kill loses what it had not delivered. " +
        "Cloudflare Queues keep a message once send() resolves. The re-send put them in again; check (d) holds them to exactly once.",
    );
  return failed.length === 0;
}

function verify(
  history: HistoryRow[],
  entitlements: Map<string, { meter: string; used: number; periodStart: string; periodEnd: string }[]>,
  outboxes: { left: number; stranded: string[]; seconds: string },
): string[] {
  const failed: string[] = [];
  const check = (name: string, problems: string[], okDetail: string) => {
    checks.push({ name, passed: problems.length === 0 });
    if (problems.length === 0) console.log(`PASS ${name}: ${okDetail}`);
    else {
      failed.push(name);
      console.log(`FAIL ${name}: ${problems.length} problem(s); first ones:\n    ${problems.slice(0, 8).join("\n    ")}`);
    }
  };
  console.log("");
  const rows = new Map<string, HistoryRow[]>();
  for (const r of history) {
    const uid = `${r.s}|${r.k}`;
    rows.set(uid, [...(rows.get(uid) ?? []), r]);
  }
  const all = [...specs.values()];
  const ok = all.filter((e) => answeredOk(e.uid));

  // Answers: every event got a final answer after the re-send; no key was answered "created" twice,
  // and none was both accepted and refused.
  const answerProblems: string[] = [];
  for (const e of all) {
    const list = answers.get(e.uid) ?? [];
    const final = list.filter((a) => a.outcome !== "failed" && a.outcome !== "rejected:LEDGER_UNAVAILABLE");
    const last = list[list.length - 1];
    if (last === undefined || !(OK.has(last.outcome) || last.outcome === "denied"))
      answerProblems.push(`${e.uid}: no final answer after the re-send (${list.map((a) => a.outcome).join(", ")})`);
    const created = list.filter((a) => a.outcome === "created").length;
    if (created > 1)
      answerProblems.push(`${e.uid}: answered "created" ${created} times (${list.map((a) => `${a.phase}:${a.outcome}`).join(", ")})`);
    const yes = final.some((a) => OK.has(a.outcome));
    const no = final.some((a) => !OK.has(a.outcome));
    if (yes && no) answerProblems.push(`${e.uid}: accepted and refused (${list.map((a) => `${a.phase}:${a.outcome}`).join(", ")})`);
  }
  check(
    "answers",
    answerProblems,
    `every one of ${all.length} events answered after the re-send; none created twice, none both accepted and refused`,
  );

  // (a) + (d): every event answered 2xx is in history exactly once, as sent; nothing else is there.
  for (const [name, streams] of [
    ["(a) exactly once: keyed batches, single events, consumes", ["batch", "single", "consume"]],
    ["(d) exactly once: queued events", ["async"]],
  ] as const) {
    const problems: string[] = [];
    const mine = ok.filter((e) => (streams as readonly string[]).includes(e.stream));
    let missing = 0;
    let duplicated = 0;
    for (const e of mine) {
      const found = rows.get(e.uid) ?? [];
      if (found.length === 0) {
        missing++;
        problems.push(`missing ${e.uid} (answers: ${(answers.get(e.uid) ?? []).map((a) => `${a.phase}:${a.outcome}`).join(", ")})`);
      } else if (found.length > 1) {
        duplicated++;
        problems.push(`${found.length} times in history: ${e.uid}`);
      } else if (found[0]!.m !== e.meter || found[0]!.a !== e.amountE4 || found[0]!.v !== null) {
        problems.push(
          `${e.uid} differs: history ${found[0]!.m} ${found[0]!.a}${found[0]!.v === null ? "" : " voided"}, sent ${e.meter} ${e.amountE4}`,
        );
      }
    }
    if (missing + duplicated > 0) problems.unshift(`${missing} missing, ${duplicated} duplicated of ${mine.length}`);
    check(name, problems, `${mine.length} events answered 2xx, each in history once with its meter and amount`);
  }
  const strays: string[] = [];
  for (const [uid, found] of rows) {
    const e = specs.get(uid);
    if (e === undefined) strays.push(`in history but never sent: ${uid} (${found.length} row(s))`);
    else if (!answeredOk(uid))
      strays.push(`in history without a 2xx answer: ${uid} (answers: ${(answers.get(uid) ?? []).map((a) => a.outcome).join(", ")})`);
  }
  check("history holds only answered events", strays, `${history.length} rows, all of them events answered 2xx`);

  // (b) counters equal history, per subject and meter, over each counter's own period.
  const counterProblems: string[] = [];
  let pairs = 0;
  for (const subjectId of testSubjects) {
    const mine = history.filter((r) => r.s === subjectId && r.v === null);
    const meters = new Set([
      ...mine.map((r) => r.m),
      ...(entitlements.get(subjectId) ?? []).filter((row) => row.used !== 0).map((row) => row.meter),
    ]);
    for (const meter of meters) {
      pairs++;
      const row = (entitlements.get(subjectId) ?? []).find((x) => x.meter === meter);
      if (row === undefined) {
        counterProblems.push(`${subjectId} ${meter}: history has ${mine.filter((r) => r.m === meter).length} events, entitlements no row`);
        continue;
      }
      const [from, to] = [Date.parse(row.periodStart), Date.parse(row.periodEnd)];
      const inPeriod = mine.filter((r) => r.m === meter && r.t >= from && r.t < to);
      const sum = inPeriod.reduce((n, r) => n + r.a, 0);
      if (Math.round(row.used * 1e4) !== sum)
        counterProblems.push(
          `${subjectId} ${meter}: used ${row.used}, history ${sum / 1e4} (${inPeriod.length} events) in ${row.periodStart}…${row.periodEnd}`,
        );
    }
  }
  check(
    "(b) counters equal history",
    counterProblems,
    `${pairs} subject × meter counters equal the sum of their history in the current period`,
  );

  // (c) the hard limit: never more than the limit in history, and exactly the limit allowed.
  const limitProblems: string[] = [];
  const allowedCounts: number[] = [];
  for (const subjectId of HARD_SUBJECTS) {
    const attempted = all.filter((e) => e.stream === "consume" && e.subjectId === subjectId);
    const allowed = attempted.filter((e) => answeredOk(e.uid));
    allowedCounts.push(allowed.length);
    const row = (entitlements.get(subjectId) ?? []).find((x) => x.meter === "crash_lim");
    const period = row ? [Date.parse(row.periodStart), Date.parse(row.periodEnd)] : [0, Number.MAX_SAFE_INTEGER];
    const inHistory = history.filter(
      (r) => r.s === subjectId && r.m === "crash_lim" && r.v === null && r.t >= period[0]! && r.t < period[1]!,
    );
    const total = inHistory.reduce((n, r) => n + r.a, 0) / 1e4;
    if (total > LIMIT) limitProblems.push(`${subjectId}: history holds ${total} against a limit of ${LIMIT} (overshoot ${total - LIMIT})`);
    if (attempted.length > LIMIT && allowed.length !== LIMIT)
      limitProblems.push(`${subjectId}: ${allowed.length} of ${attempted.length} consumes allowed, the limit is ${LIMIT}`);
    if (row === undefined || row.used !== LIMIT) limitProblems.push(`${subjectId}: used ${row?.used}, the limit is ${LIMIT}`);
  }
  check(
    "(c) zero overshoot",
    limitProblems,
    `${allowedCounts.join(" and ")} of ${CONSUMES_PER_SUBJECT} consumes allowed per subject against a limit of ${LIMIT}; history and used hold exactly the limit`,
  );

  // (e) what ledger outboxes held at a kill reaches history after the restart without further writes.
  check(
    "(e) outboxes flush after a restart by themselves",
    outboxes.stranded.map((uid) => `answered 2xx before the second kill, not in history ${outboxes.seconds} s after the restart: ${uid}`),
    `the ${outboxes.left} events left in ledger outboxes at the second kill reached history within ${outboxes.seconds} s of the restart, with no further writes to their subjects`,
  );
  return failed;
}

// ---------------------------------------------------------------------------------------------
// Whatever ends the run, the servers it started go and its state directory is removed.

let cleaning: Promise<void> | null = null;
/** Kills every process group the run started and removes its state directory; every caller waits for the one run. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const pgid of groups) signalGroup(pgid, "SIGKILL");
    await Promise.all([...groups].map((pgid) => groupGone(pgid, 3000).catch(() => undefined)));
    if (state) rmSync(state, { recursive: true, force: true });
  })();
  return cleaning;
}
// The last resort, when the process exits some other way: synchronous, so it cannot wait for the kill.
process.on("exit", () => {
  if (cleaning) return;
  for (const pgid of groups) signalGroup(pgid, "SIGKILL");
  const deadline = Date.now() + 2000;
  while ([...groups].some((g) => (groupMembers(g)?.length ?? 0) > 0) && Date.now() < deadline)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  if (state) rmSync(state, { recursive: true, force: true });
});
// tsx, which runs this script, relays a signal it gets too: the second one waits for the same cleanup.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (!cleaning) console.error(`\ncrash test: ${signal}, stopping the dev server and removing its state`);
    void cleanup().finally(() => process.exit(1));
  });
}
const watchdog = setTimeout(() => {
  console.error(`\ncrash test: FAIL, still running after ${WATCHDOG_MS / 60_000} minutes; stopping`);
  void cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);

/** Every check run, for the `--json` report. */
const checks: { name: string; passed: boolean }[] = [];
let passed = false;
try {
  passed = await main();
} catch (error) {
  console.error(`\ncrash test: FAIL, the run broke off: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
console.log(`\ncrash test: ${passed ? "PASS" : "FAIL"} in ${elapsed()} (dev server logs: bench/results/crash-dev-*.log)`);
if (args.json !== undefined) {
  // A run that broke off before its checks counts as one failed test.
  const failures = checks.filter((c) => !c.passed).length + (passed || checks.some((c) => !c.passed) ? 0 : 1);
  const report = {
    numPassedTests: checks.filter((c) => c.passed).length,
    numFailedTests: failures,
    numPendingTests: 0,
    numTodoTests: 0,
    checks,
  };
  mkdirSync(path.dirname(path.resolve(args.json)), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
}
process.exit(passed ? 0 : 1);
