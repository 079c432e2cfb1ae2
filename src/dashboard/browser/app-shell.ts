import { js } from "./js";

/**
 * Browser code, part 11: the shell. Sign-in and sign-out (any 401 comes back here with the
 * server's message), the views and who gets which (a user token: its own subject only), panels
 * that load on their own (a 403 hides one with a note), the filters, and the auto refresh.
 */
export const APP_SHELL_JS = js`
const REFRESH_MS = 30000;
const session = { token: "", kind: "", subject: "" };
const state = {
  view: "overview",
  subjectId: "",
  range: { preset: "last7", from: "", to: "" },
  bucket: "auto",
  compare: false,
  meter: "",
  dimension: "",
  dimensionPicked: false,
  meters: [],
  auto: true,
};

function tokenKind(token) {
  if (token.split(".").length === 3) return "user";
  return token.startsWith("tly_") ? "api_key" : "root";
}
function tokenSubject(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)).sub || "";
  } catch (error) {
    return "";
  }
}

const currentSubject = () => (session.kind === "user" ? session.subject : state.view === "subject" ? state.subjectId : "");
const currentBounds = () => rangeBounds(state.range, new Date());

/* Work in flight: the page says data-state="loading" until all of it has settled, then "ready". */
let pending = 0;
function track(promise) {
  pending++;
  document.body.setAttribute("data-state", "loading");
  const settle = () => {
    pending--;
    if (pending === 0 && session.token) document.body.setAttribute("data-state", "ready");
  };
  promise.then(settle, settle);
  return promise;
}

const panelRuns = new WeakMap();
/** Loads one panel; a newer load of it, or a sign-out, makes the older one render nothing. */
function runPanel(panel, loader) {
  const run = (panelRuns.get(panel) || 0) + 1;
  panelRuns.set(panel, run);
  const token = session.token;
  const current = () => panelRuns.get(panel) === run && session.token === token;
  const note = $(".panel-note", panel);
  const body = $(".panel-body", panel);
  panel.setAttribute("aria-busy", "true");
  const work = (async () => {
    try {
      await loader(current);
      if (!current()) return;
      panel.setAttribute("data-panel-state", "ok");
      note.hidden = true;
      body.hidden = false;
    } catch (error) {
      if (!current() || error.status === 401) return;
      if (error.status === 403) {
        panel.setAttribute("data-panel-state", "forbidden");
        body.hidden = true;
        const scope = error.details && error.details.requiredScope;
        note.textContent = scope ? "Hidden: this key lacks the '" + scope + "' scope." : "Hidden: " + error.message;
      } else {
        panel.setAttribute("data-panel-state", "error");
        note.textContent = "Could not load: " + error.message;
      }
      note.hidden = false;
    } finally {
      if (current()) panel.removeAttribute("aria-busy");
    }
  })();
  return track(work);
}
const reloadPanel = (selector, loader) => runPanel($(selector), loader);

const VIEW_PANELS = {
  overview: [
    ["#panel-top-subjects", () => loadTopSubjects],
    ["#panel-subject-search", () => loadSubjectSearch],
    ["#panel-plans", () => loadPlans],
  ],
  subject: [
    ["#panel-entitlements", () => loadEntitlements],
    ["#panel-plan", () => loadPlan],
    ["#panel-holds", () => loadHolds],
    ["#panel-grants", () => loadGrants],
    ["#panel-features", () => loadFeatures],
    ["#panel-periods", () => loadPeriods],
    ["#panel-alerts", () => loadAlerts],
  ],
  operations: [
    ["#panel-unattributed", () => loadUnattributed],
    ["#panel-dead-letters", () => loadDeadLetters],
    ["#panel-notifications", () => loadNotifications],
    ["#panel-deliveries", () => loadDeliveries],
  ],
};
const USAGE_PANELS = [
  ["#panel-trend", () => loadTrend],
  ["#panel-breakdown", () => loadBreakdown],
];

async function loadMeters() {
  state.meters = (await api("/v1/meters" + query({ includeArchived: "true" }))).data;
  fillMeterSelect();
}

function fillMeterSelect() {
  const select = $("#meter");
  select.replaceChildren(...state.meters.filter((m) => !m.archivedAt || m.key === state.meter).map((m) => el("option", { value: m.key, text: m.key + " (" + m.unit + ")" })));
  select.value = state.meter;
}

/** Everything the current view shows, each panel on its own; then "updated at". */
function loadView() {
  const view = state.view;
  return track(
    (async () => {
      try {
        await loadMeters();
      } catch (error) {
        if (error.status !== 401) $("#updated").textContent = "Could not load the meters: " + error.message;
        return;
      }
      const runs = [];
      if (view !== "operations") {
        // The totals choose the meter the other panels show when none is chosen yet.
        const totals = runPanel($("#panel-totals"), loadTotals);
        if (!state.meter) await totals;
        runs.push(totals, ...USAGE_PANELS.map(([selector, loader]) => runPanel($(selector), loader())));
      }
      runs.push(...VIEW_PANELS[view].map(([selector, loader]) => runPanel($(selector), loader())));
      await Promise.all(runs);
      if (session.token && view === state.view) $("#updated").textContent = "Updated at " + clockTime(new Date());
    })(),
  );
}

/** The panels that follow the meter, after it changes. */
function reloadMeterPanels() {
  reloadPanel("#panel-trend", loadTrend);
  reloadPanel("#panel-breakdown", loadBreakdown);
  if (state.view === "overview") reloadPanel("#panel-top-subjects", loadTopSubjects);
  for (const card of $$("#totals .total")) card.setAttribute("aria-pressed", String(card.getAttribute("data-meter") === state.meter));
}

function chooseMeter(key) {
  state.meter = key;
  $("#meter").value = key;
  savePreferences();
  reloadMeterPanels();
}

function routeFromHash() {
  if (session.kind === "user") return { view: "subject", subjectId: session.subject };
  const hash = location.hash.replace(/^#\/?/, "");
  if (hash.startsWith("subject/")) {
    try {
      const id = decodeURIComponent(hash.slice("subject/".length));
      if (id) return { view: "subject", subjectId: id };
    } catch (error) {
      // A malformed id: the overview.
    }
  }
  if (hash === "subject" && state.subjectId) return { view: "subject", subjectId: state.subjectId };
  return { view: hash === "operations" ? "operations" : "overview", subjectId: state.subjectId };
}

function showView(focus) {
  const route = routeFromHash();
  const changedSubject = route.subjectId !== state.subjectId;
  state.view = route.view;
  state.subjectId = route.subjectId;
  if (changedSubject) state.dimension = "";
  for (const view of $$("[data-view]")) view.hidden = view.getAttribute("data-view") !== state.view;
  const active = $("#view-" + state.view);
  const slot = $(".usage-slot", active);
  $("#filters").hidden = state.view === "operations";
  if (slot) slot.appendChild($("#usage"));
  $("#usage").hidden = !slot;
  if (state.view === "subject") {
    $("#subject-title").textContent = session.kind === "user" ? "Your usage: " + state.subjectId : "Subject " + state.subjectId;
    $("#subject-title").removeAttribute("data-plan");
  }
  const subjectNav = $("#nav-subject");
  subjectNav.hidden = !state.subjectId;
  subjectNav.textContent = state.subjectId ? "Subject " + state.subjectId : "Subject";
  subjectNav.setAttribute("href", state.subjectId ? subjectHref(state.subjectId) : "#/subject");
  for (const link of $$("[data-nav]")) {
    if (link.getAttribute("data-nav") === state.view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (focus) $(".view-title", active).focus();
  return loadView();
}

function whoText() {
  if (session.kind === "user") return "Signed in as " + session.subject + " (user token)";
  if (session.kind === "api_key") return "API key " + session.token.slice(0, 8) + "…";
  return "Service key (all access)";
}

function showSignIn(message) {
  $("#board").hidden = true;
  $("#nav").hidden = true;
  $("#sign-out").hidden = true;
  $("#sign-in").hidden = false;
  $("#who").textContent = "";
  const notice = $("#sign-in-message");
  notice.hidden = !message;
  notice.textContent = message ? "Signed out: " + message + " Sign in again to go on." : "";
  document.body.setAttribute("data-state", "signed-out");
  $("#token").value = "";
  $("#token").focus();
}

function startSession(token) {
  session.token = token;
  session.kind = tokenKind(token);
  session.subject = session.kind === "user" ? tokenSubject(token) : "";
  sessionStorage.setItem("tally.token", token);
  $("#sign-in").hidden = true;
  $("#sign-in-message").hidden = true;
  $("#board").hidden = false;
  $("#sign-out").hidden = false;
  $("#nav").hidden = session.kind === "user";
  $("#who").textContent = whoText();
  return showView(false);
}

/** Ends the session; with a message (the server's, on a 401) the sign-in form says why. */
function signOut(message) {
  if (!session.token) return;
  session.token = "";
  session.kind = "";
  sessionStorage.removeItem("tally.token");
  showSignIn(message);
}

function savePreferences() {
  sessionStorage.setItem(
    "tally.preferences",
    JSON.stringify({ range: state.range, bucket: state.bucket, compare: state.compare, meter: state.meter, auto: state.auto }),
  );
}
function loadPreferences() {
  try {
    const saved = JSON.parse(sessionStorage.getItem("tally.preferences") || "{}");
    if (saved.range && PRESETS[saved.range.preset]) state.range = saved.range;
    if (saved.bucket) state.bucket = saved.bucket;
    state.compare = saved.compare === true;
    state.meter = typeof saved.meter === "string" ? saved.meter : "";
    state.auto = saved.auto !== false;
  } catch (error) {
    // Unreadable preferences: the defaults.
  }
  $("#range-preset").value = state.range.preset;
  $("#range-from").value = state.range.from || "";
  $("#range-to").value = state.range.to || "";
  $("#bucket").value = state.bucket;
  $("#compare").checked = state.compare;
  showRange();
  showAuto();
}

function showRange() {
  const custom = state.range.preset === "custom";
  $("#custom-range").hidden = !custom;
  const bounds = currentBounds();
  $("#range-label").textContent = (bounds.invalid ? "Choose a from and a to date; meanwhile: " : "") + PRESETS[state.range.preset] + ": " + rangeLabel(bounds);
}

function showAuto() {
  const button = $("#auto-refresh");
  button.setAttribute("aria-pressed", String(state.auto));
  button.textContent = state.auto ? "Auto refresh: on (30 s)" : "Auto refresh: paused";
}

function onFiltersChanged() {
  state.range = { preset: $("#range-preset").value, from: $("#range-from").value, to: $("#range-to").value };
  if (state.range.preset === "custom" && !state.range.from) {
    const bounds = rangeBounds({ preset: "last7" }, new Date());
    state.range.from = $("#range-from").value = dateInput(bounds.from);
    state.range.to = $("#range-to").value = dateInput(new Date(bounds.to.getTime() - 1));
  }
  state.bucket = $("#bucket").value;
  state.compare = $("#compare").checked;
  savePreferences();
  showRange();
  loadView();
}

$("#sign-in-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const token = $("#token").value.trim();
  if (!token) return;
  const error = $("#sign-in-error");
  error.textContent = "";
  const probe = await fetch(tokenKind(token) === "user" ? "/v1/me/entitlements" : "/v1/meters", { headers: { authorization: "Bearer " + token } }).catch(
    (e) => ({ ok: false, status: 0, json: async () => ({ error: { message: e.message } }) }),
  );
  if (!probe.ok) {
    const body = await probe.json().catch(() => ({}));
    error.textContent = "Sign-in failed: " + ((body.error && body.error.message) || "HTTP " + probe.status);
    return;
  }
  startSession(token);
});
$("#sign-out").addEventListener("click", () => signOut(""));
$("#filters").addEventListener("submit", (ev) => ev.preventDefault());
for (const id of ["#range-preset", "#range-from", "#range-to", "#bucket", "#compare"]) $(id).addEventListener("change", onFiltersChanged);
$("#meter").addEventListener("change", (ev) => chooseMeter(ev.target.value));
function chooseDimension() {
  const typed = $("#dimension").value.trim();
  // Enter fires both change and submit: one load.
  if (typed === state.dimension && !state.dimensionPicked) return;
  state.dimension = typed;
  state.dimensionPicked = false;
  reloadPanel("#panel-breakdown", loadBreakdown);
}
$("#dimension-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  chooseDimension();
});
$("#dimension").addEventListener("change", chooseDimension);
$("#breakdown-csv").addEventListener("click", downloadBreakdownCsv);
$("#full-export").addEventListener("click", () => track(downloadFullExport()));
$("#search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  reloadPanel("#panel-subject-search", loadSubjectSearch);
});
$("#open-exact").addEventListener("click", () => {
  const id = $("#search-prefix").value.trim();
  if (id) location.hash = subjectHref(id);
});
$("#dead-letter-status").addEventListener("change", () => reloadPanel("#panel-dead-letters", loadDeadLetters));
$("#refresh-now").addEventListener("click", () => loadView());
$("#auto-refresh").addEventListener("click", () => {
  state.auto = !state.auto;
  savePreferences();
  showAuto();
});
window.addEventListener("hashchange", () => {
  if (session.token) showView(true);
});
setInterval(() => {
  if (state.auto && session.token && pending === 0 && !document.hidden) loadView();
}, REFRESH_MS);

loadPreferences();
const saved = sessionStorage.getItem("tally.token");
if (saved) startSession(saved);
else showSignIn("");
`;
