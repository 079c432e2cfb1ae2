import { js } from "./js";

/**
 * Browser code, part 9: one subject's page: this period against its limits ("+N over" past the
 * allowance), its plan and overrides, holds, grants, features, closed periods and alerts. A user
 * token sees its own through /v1/me/… and its own subjectId; keys through /v1/subjects/{id}/….
 */
export const SUBJECT_VIEW_JS = js`
const subjectPath = (suffix) => "/v1/subjects/" + encodeURIComponent(currentSubject()) + suffix;
const isUser = () => session.kind === "user";
const entitlementsPath = () => (isUser() ? "/v1/me/entitlements" : subjectPath("/entitlements"));

function periodText(row) {
  if (row.period === "none" || !row.periodStart) return "all time";
  return utcDate(row.periodStart) + " → " + utcDate(row.periodEnd) + " (UTC)";
}

async function loadEntitlements(current) {
  const body = await api(entitlementsPath());
  if (!current()) return;
  const list = $("#entitlements");
  list.replaceChildren();
  if (!body.data.length) list.appendChild(el("li", { class: "empty", text: "No usage or entitlements yet." }));
  for (const r of body.data) {
    const unit = unitOf(r.meter);
    const allowance = r.limit === null ? null : r.limit + (r.granted || 0);
    const pct = allowance ? Math.min(100, ((r.used + (r.held || 0)) / allowance) * 100) : 0;
    const over = overBy(r);
    const level = r.limit === null ? "" : over > 0 || r.used >= allowance ? " over" : pct >= 80 ? " warn" : "";
    list.appendChild(
      el("li", { class: "meter", "data-meter": r.meter }, [
        el("div", { class: "name", text: r.meter + (r.kind === "gauge" ? " (level)" : "") }),
        el(
          "div",
          {
            class: "bar" + level,
            role: "progressbar",
            "aria-label": r.meter + " used",
            "aria-valuemin": "0",
            "aria-valuemax": String(allowance === null ? r.used : allowance),
            "aria-valuenow": String(r.used),
            "aria-valuetext": withUnit(r.used, unit) + (r.limit === null ? "" : " of " + withUnit(r.limit, unit)),
          },
          [el("span", { width: (allowance ? pct : 0) + "%" })],
        ),
        el("div", { class: "numbers" }, [
          el("span", { class: "used", "data-used": r.used, text: withUnit(r.used, unit) }),
          el("span", { text: " of " + (r.limit === null ? "unlimited" : withUnit(r.limit, unit)) + (r.enforcement ? " (" + r.enforcement + ")" : "") }),
          over > 0 ? el("strong", { class: "overage", "data-over": over, text: " +" + withUnit(over, unit) + " over" }) : null,
        ]),
        el("div", { class: "numbers credit" }, [
          el("span", { class: "held", "data-held": r.held || 0, text: r.held ? withUnit(r.held, unit) + " held · " : "" }),
          el("span", { class: "granted", "data-granted": r.granted || 0, text: r.granted ? withUnit(r.granted, unit) + " granted · " : "" }),
          el("span", { class: "remaining", text: r.remaining === null ? "" : withUnit(r.remaining, unit) + " left" }),
        ]),
        el("div", { class: "numbers period", text: periodText(r) }),
      ]),
    );
  }
}

/** The subject's settings, its plan when this caller may read plans, else what its entitlement rows say. */
async function loadPlan(current) {
  let subject = null;
  try {
    subject = (await api(subjectPath(""))).subject;
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  let plan = null;
  let planHidden = "";
  let applied = [];
  if (subject && subject.planId && !isUser()) {
    try {
      plan = (await api("/v1/plans/" + encodeURIComponent(subject.planId))).plan;
    } catch (error) {
      if (error.status !== 403) throw error;
      planHidden = "The plan itself needs the admin scope; these are its terms as they apply to this subject.";
    }
  }
  if (!plan) applied = (await api(entitlementsPath())).data;
  if (!current()) return;
  const planName = $("#plan-name");
  $("#plan-title").textContent = subject && subject.planId ? "Plan " + subject.planId : "Plan";
  planName.textContent = plan && plan.name ? plan.name : "";
  const anchor = subject && subject.billingAnchorDay ? "Periods start on day " + subject.billingAnchorDay + " of the month. " : "";
  const entitlementColumns = [
    { key: "meter", label: "Meter" },
    { key: "limit", label: "Limit", numeric: true, text: (r) => (r.limit === null ? "unlimited" : withUnit(r.limit, unitOf(r.meter))) },
    { key: "period", label: "Period", text: (r) => r.period || "month" },
    { key: "enforcement", label: "Enforcement", text: (r) => r.enforcement || "—" },
  ];
  let rows;
  if (plan) {
    rows = Object.entries(plan.entitlements).map(([meter, e]) => Object.assign({ meter }, e));
    $("#plan-hint").textContent = anchor + (Object.keys(plan.features || {}).length ? "Features are listed below." : "");
  } else {
    rows = applied.map((r) => ({ meter: r.meter, limit: r.limit, period: r.period, enforcement: r.enforcement }));
    $("#plan-hint").textContent =
      (subject ? anchor : "No settings are stored for this subject: its meters are unlimited, counted per calendar month. ") +
      (planHidden || (isUser() ? "Your limits as they apply to you, overrides included." : ""));
  }
  renderTable($("#plan-entitlements"), entitlementColumns, rows, { sort: { key: "meter", dir: "asc" }, empty: "No entitlements." });
  const overrides = Object.entries((subject && subject.overrides) || {}).map(([meter, o]) => Object.assign({ meter }, o));
  renderTable(
    $("#overrides"),
    [
      { key: "meter", label: "Meter" },
      { key: "limit", label: "Limit", numeric: true, text: (r) => (r.limit === undefined ? "(plan's)" : r.limit === null ? "unlimited" : withUnit(r.limit, unitOf(r.meter))) },
      { key: "period", label: "Period", text: (r) => r.period || "(plan's)" },
      { key: "enforcement", label: "Enforcement", text: (r) => r.enforcement || "(plan's)" },
    ],
    overrides,
    { empty: "No overrides." },
  );
  if (subject && subject.planId) $("#subject-title").setAttribute("data-plan", subject.planId);
}

async function loadHolds(current) {
  const body = await api(subjectPath("/reservations") + query({ status: "held", limit: 50 }));
  if (!current()) return;
  renderTable(
    $("#holds"),
    [
      { key: "meter", label: "Meter" },
      { key: "amount", label: "Held", numeric: true, value: (r) => r.amount, text: (r) => withUnit(r.amount, r.unit || unitOf(r.meter)) },
      { key: "expiresAt", className: "when", label: "Expires", text: (r) => when(r.expiresAt) },
      { key: "id", label: "Id", className: "id" },
    ],
    body.data,
    { sort: { key: "expiresAt", dir: "asc" }, empty: "Nothing held now." },
  );
}

async function loadGrants(current) {
  const body = await api(subjectPath("/grants") + query({ includeInactive: "true" }));
  if (!current()) return;
  renderTable(
    $("#grants"),
    [
      { key: "meter", label: "Meter" },
      {
        key: "remaining",
        label: "Remaining",
        numeric: true,
        text: (g) => withUnit(g.remaining, unitOf(g.meter)) + " of " + withUnit(g.amount, unitOf(g.meter)),
      },
      { key: "status", label: "Status" },
      { key: "source", label: "Source" },
      { key: "expiresAt", className: "when", label: "Expires", text: (g) => (g.expiresAt ? when(g.expiresAt) : "never") },
      { key: "id", label: "Id", className: "id" },
    ],
    body.data,
    { sort: { key: "status", dir: "asc" }, empty: "No grants." },
  );
}

async function loadFeatures(current) {
  const body = await api(isUser() ? "/v1/me/features" : subjectPath("/features"));
  if (!current()) return;
  renderTable(
    $("#features"),
    [
      { key: "key", label: "Feature" },
      { key: "value", label: "Value", text: (f) => jsonText(f.value), value: (f) => jsonText(f.value) },
      { key: "source", label: "From", text: (f) => (f.source === "override" ? "override" : "plan") },
    ],
    body.data,
    { sort: { key: "key", dir: "asc" }, empty: "No features." },
  );
}

async function loadPeriods(current) {
  const body = await api("/v1/periods" + query({ subjectId: currentSubject(), limit: 1000 }));
  if (!current()) return;
  const rows = body.data.map((p) => Object.assign({}, p, { unit: unitOf(p.meter) }));
  renderTable(
    $("#periods"),
    [
      { key: "periodStart", label: "Period", text: (p) => utcDate(p.periodStart) + " → " + utcDate(p.periodEnd) },
      { key: "meter", label: "Meter" },
      { key: "total", label: "Total", numeric: true, text: (p) => withUnit(p.total, p.unit) },
      { key: "limit", label: "Limit", numeric: true, text: (p) => (p.limit === null ? "unlimited" : withUnit(p.limit, p.unit)) },
      {
        key: "over",
        label: "Over",
        numeric: true,
        value: (p) => (p.limit === null ? 0 : Math.max(0, round4(p.total - p.limit))),
        text: (p) => (p.limit !== null && p.total > p.limit ? "+" + withUnit(round4(p.total - p.limit), p.unit) + " over" : "—"),
      },
      { key: "eventCount", label: "Events", numeric: true, unit: "event" },
      { key: "closedAt", className: "when", label: "Closed", text: (p) => when(p.closedAt) + (p.restatedAt ? " (restated " + when(p.restatedAt) + ")" : "") },
    ],
    rows,
    { sort: { key: "periodStart", dir: "desc" }, empty: "No closed periods yet: the monthly rollover closes them." },
  );
}

async function loadAlerts(current) {
  const body = await api("/v1/notifications" + query({ subjectId: currentSubject(), limit: 10 }));
  if (!current()) return;
  renderAlerts($("#alerts"), body.data, false);
}

function renderAlerts(list, rows, withSubject) {
  list.replaceChildren();
  if (!rows.length) list.appendChild(el("li", { class: "empty", text: "Nothing yet." }));
  for (const n of rows) {
    list.appendChild(
      el("li", { "data-type": n.type }, [
        el("strong", { text: n.type.replace("entitlement.", "") + " " }),
        withSubject ? subjectLink(n.subjectId) : null,
        el("span", { text: (withSubject ? " " : "") + alertText(n, n.payload || {}) }),
        el("span", { class: "hint", text: " · " + when(n.createdAt) }),
      ]),
    );
  }
}

function alertText(n, p) {
  const unit = unitOf(p.meter || n.meter || "");
  const meter = p.meter || n.meter || "";
  if (n.type === "period.closed") return "periods closed: " + (p.periods || []).map((x) => x.meter + " " + withUnit(x.total, unitOf(x.meter))).join(", ");
  if (n.type === "period.restated") return meter + " period from " + utcDate(p.periodStart) + " restated " + withUnit(p.before, unit) + " → " + withUnit(p.after, unit);
  if (n.type === "usage.voided") return meter + " event " + p.eventId + " voided (" + withUnit(p.amount, unit) + ")";
  if (n.type === "reservation.expired") return meter + " hold of " + withUnit(p.amount, unit) + " expired";
  if (n.type === "grant.depleted") return meter + " grant of " + withUnit(p.amount, unit) + " used up";
  if (n.type === "balance.low") return meter + " " + withUnit(p.remaining, unit) + " left (alert at " + withUnit(p.threshold, unit) + ")";
  const period = p.periodStart ? ", period from " + utcDate(p.periodStart) : "";
  return meter + " reached " + p.threshold + " % of " + withUnit(p.limit, unit) + " (" + withUnit(p.used, unit) + " used" + period + ")";
}
`;
