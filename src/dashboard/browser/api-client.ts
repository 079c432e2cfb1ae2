import { js } from "./js";

/**
 * Browser code, part 2: calling the API with the signed-in token (always in the Authorization
 * header, never in a URL), its error envelope, and the report options this server knows.
 */
export const API_CLIENT_JS = js`
class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function query(params) {
  const parts = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === "" || value === undefined || value === null || value === false) continue;
    parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
  }
  return parts.length ? "?" + parts.join("&") : "";
}

async function request(path, options) {
  const token = session.token;
  const init = { method: (options && options.method) || "GET", headers: { authorization: "Bearer " + token } };
  if (options && options.body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "NETWORK", "The service did not answer (" + error.message + ").");
  }
  if (res.ok) return res;
  const body = await res.json().catch(() => ({}));
  const e = body.error || {};
  const error = new ApiError(res.status, e.code || "HTTP_" + res.status, e.message || "HTTP " + res.status, e.details);
  // Any 401 ends the session (expired or revoked token): back to sign-in with the server's words.
  if (res.status === 401 && token === session.token) signOut(error.message);
  throw error;
}

async function api(path, options) {
  return (await request(path, options)).json();
}

/** Fetches a file with the Authorization header and hands it to the browser as a download. */
async function download(path, filename) {
  const blob = await (await request(path)).blob();
  saveBlob(blob, filename);
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/**
 * Summary options newer than the first reports API (DESIGN §9 "Reports"). A server without one
 * answers 400 naming the parameter; it is then left out (or the bucket coarsened) from then on,
 * and the views show what the rows carry.
 */
const reportSupport = { compare: true, sort: true, limit: true, distinct: true, hour: true, quarter: true };
const COARSER_BUCKET = { hour: "day", quarter: "month" };

async function summary(params) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const sent = Object.assign({}, params);
    for (const key of ["compare", "sort", "limit", "distinct"]) if (!reportSupport[key]) delete sent[key];
    if (sent.bucket) {
      let bucket = sent.bucket;
      while (COARSER_BUCKET[bucket] && !reportSupport[bucket]) bucket = COARSER_BUCKET[bucket];
      sent.groupBy = [bucket].concat(sent.groupBy ? [sent.groupBy] : []).join(",");
      sent.bucketSent = bucket;
      delete sent.bucket;
    }
    const bucketSent = sent.bucketSent;
    delete sent.bucketSent;
    try {
      const body = await api("/v1/usage/summary" + query(sent));
      body.bucket = bucketSent;
      return body;
    } catch (error) {
      if (!learnUnsupported(error, bucketSent)) throw error;
    }
  }
  throw new ApiError(400, "VALIDATION_FAILED", "The summary options were refused.");
}

function learnUnsupported(error, bucketSent) {
  if (error.status !== 400 || !error.details || !Array.isArray(error.details.issues)) return false;
  let learnt = false;
  for (const issue of error.details.issues) {
    const path = String(issue.path);
    if (path in reportSupport && path !== "hour" && path !== "quarter" && reportSupport[path]) {
      reportSupport[path] = false;
      learnt = true;
    }
    if (path === "groupBy" && COARSER_BUCKET[bucketSent] && reportSupport[bucketSent]) {
      reportSupport[bucketSent] = false;
      learnt = true;
    }
  }
  return learnt;
}
`;
