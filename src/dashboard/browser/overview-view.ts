import { js } from "./js";

/**
 * Browser code, part 8: the all-subjects view's own panels (keys only): the top subjects of the
 * chosen meter, finding a subject by id prefix or plan, and the plans.
 */
export const OVERVIEW_VIEW_JS = js`
const subjectHref = (id) => "#/subject/" + encodeURIComponent(id);
const subjectLink = (id) => el("a", { href: subjectHref(id), class: "subject-link", text: id });

async function loadTopSubjects(current) {
  const meter = state.meter;
  const unit = unitOf(meter);
  $("#top-subjects-meter").textContent = meter ? meter + ", by total" : "";
  const body = await summary(Object.assign(reportParams(), { groupBy: "subjectId", meter, compare: compareParam(), sort: "-total", limit: 10 }));
  if (!current()) return;
  // The server sorts and cuts when it can (sort, limit); done here as well for one that cannot.
  const rows = body.data
    .slice()
    .sort((a, b) => b.total - a.total || String(a.subjectId).localeCompare(String(b.subjectId)))
    .slice(0, 10)
    .map((r, i) => Object.assign({ rank: i + 1 }, r));
  const columns = [
    { key: "rank", label: "#", numeric: true },
    { key: "subjectId", label: "Subject", node: (r) => subjectLink(r.subjectId) },
    { key: "total", label: "Total", numeric: true, unit },
    { key: "count", label: "Events", numeric: true, unit: "event" },
  ].concat(compared(body.data) ? comparisonColumns(unit) : []);
  renderTable($("#top-subjects"), columns, rows, { sort: { key: "rank", dir: "asc" }, empty: "No usage of " + meter + " in the range." });
}

async function loadSubjectSearch(current) {
  const prefix = $("#search-prefix").value.trim();
  const planId = $("#search-plan").value;
  const body = await api("/v1/subjects" + query({ prefix, planId, limit: 20 }));
  if (!current()) return;
  renderTable(
    $("#subject-results"),
    [
      { key: "subjectId", label: "Subject", node: (s) => subjectLink(s.subjectId) },
      { key: "planId", label: "Plan", text: (s) => s.planId || "(none)" },
      { key: "billingAnchorDay", label: "Anchor day", text: (s) => (s.billingAnchorDay === null ? "calendar month" : String(s.billingAnchorDay)) },
      { key: "updatedAt", className: "when", label: "Updated", text: (s) => when(s.updatedAt) },
    ],
    body.data,
    { empty: "No subject with settings matches." + (prefix ? " 'Open this id' opens it all the same." : "") },
  );
  $("#subject-results").setAttribute("data-more", body.nextCursor ? "true" : "false");
}

function entitlementSummary(meter, e) {
  const unit = unitOf(meter);
  const limit = e.limit === null || e.limit === undefined ? "unlimited" : withUnit(e.limit, unit);
  return meter + ": " + limit + (e.period && e.period !== "none" ? " per " + e.period : e.period === "none" ? " all time" : "") + (e.enforcement ? ", " + e.enforcement : "");
}

async function loadPlans(current) {
  const body = await api("/v1/plans" + query({ limit: 100 }));
  if (!current()) return;
  const select = $("#search-plan");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "any plan" }), ...body.data.map((p) => el("option", { value: p.id, text: p.id })));
  select.value = body.data.some((p) => p.id === chosen) ? chosen : "";
  renderTable(
    $("#plans"),
    [
      { key: "id", label: "Plan" },
      { key: "name", label: "Name", text: (p) => p.name || "" },
      {
        key: "entitlements",
        label: "Entitlements",
        sortable: false,
        text: (p) => Object.entries(p.entitlements).map(([m, e]) => entitlementSummary(m, e)).join("; ") || "none",
      },
      { key: "features", label: "Features", numeric: true, value: (p) => Object.keys(p.features || {}).length },
      {
        key: "subjects",
        label: "Subjects",
        sortable: false,
        csv: false,
        node: (p) => {
          const button = el("button", { type: "button", class: "quiet small", text: "List", "aria-label": "List the subjects on " + p.id });
          button.addEventListener("click", () => {
            $("#search-plan").value = p.id;
            $("#search-prefix").value = "";
            reloadPanel("#panel-subject-search", loadSubjectSearch);
            $("#search-prefix").focus();
          });
          return button;
        },
      },
    ],
    body.data,
    { sort: { key: "id", dir: "asc" }, empty: "No plans yet." },
  );
}
`;
