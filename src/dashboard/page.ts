/**
 * A panel: its title (and controls) in its head, the note the script shows instead of the body
 * when the panel cannot load (a 403 hides the body), then the body the script fills.
 */
function panel(
  name: string,
  title: string,
  body: string,
  parts: { head?: string; intro?: string; figure?: boolean; bodyClass?: string } = {},
) {
  const tag = parts.figure ? "figure" : "div";
  return /* html */ `<section class="card panel" id="panel-${name}" aria-labelledby="${name}-title">
        <div class="card-head"><h2 id="${name}-title">${title}</h2>${parts.head ?? ""}</div>${parts.intro ?? ""}
        <p class="panel-note" hidden></p>
        <${tag} class="panel-body${parts.bodyClass ? ` ${parts.bodyClass}` : ""}">${body}</${tag}>
      </section>`;
}

/** A panel holding one table, which scrolls in its own box (or, with `stack`, shows a block per row on a phone). */
function table(name: string, title: string, parts: { tableId?: string; stack?: boolean; head?: string; intro?: string } = {}) {
  const body = `<table id="${parts.tableId ?? name}"${parts.stack ? ' class="stack"' : ""}></table>`;
  return panel(name, title, body, { ...parts, bodyClass: "table-wrap" });
}

const SEARCH_FORM = /* html */ `
        <form id="search-form" class="inline-form">
          <label for="search-prefix">Id starts with</label>
          <input id="search-prefix" autocomplete="off" placeholder="pantry-, user_, org_…">
          <label for="search-plan">Plan</label>
          <select id="search-plan"><option value="">any plan</option></select>
          <button type="submit">Search</button>
          <button type="button" id="open-exact" class="quiet">Open this id</button>
        </form>`;

const PLAN_BODY = /* html */ `
          <p class="hint" id="plan-hint"></p>
          <div class="table-wrap"><table id="plan-entitlements"></table></div>
          <h3>Overrides</h3>
          <div class="table-wrap"><table id="overrides" class="stack"></table></div>`;

const DIMENSION_FORM = /* html */ `
          <form id="dimension-form" class="inline-form">
            <label for="dimension">by dimension</label>
            <input id="dimension" list="dimension-names" autocomplete="off" size="12" placeholder="schoolId">
            <datalist id="dimension-names"></datalist>
          </form>`;

const BREAKDOWN_BODY = /* html */ `
          <div class="table-wrap"><table id="breakdown"></table></div>
          <div class="actions">
            <button type="button" id="breakdown-csv" class="quiet">Download this table (CSV)</button>
            <button type="button" id="full-export" class="quiet">Full export of the events (CSV)</button>
            <span class="hint" id="export-status" role="status"></span>
          </div>`;

const DEAD_LETTER_STATUS = /* html */ `
          <label class="inline">Status
            <select id="dead-letter-status">
              <option value="open" selected>open</option>
              <option value="replayed">replayed</option>
              <option value="dismissed">dismissed</option>
              <option value="">all</option>
            </select>
          </label>`;

/** The dashboard's HTML shell; data comes from the API, with the key or token the person signs in with. */
export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tally — usage dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body data-state="signed-out">
<header class="top">
  <h1>tally</h1>
  <nav id="nav" aria-label="Views" hidden>
    <a href="#/overview" data-nav="overview">All subjects</a>
    <a href="#/subject" data-nav="subject" id="nav-subject" hidden>Subject</a>
    <a href="#/operations" data-nav="operations">Operations</a>
  </nav>
  <p class="who" id="who"></p>
  <button type="button" id="sign-out" class="quiet" hidden>Sign out</button>
</header>
<main>
  <section id="sign-in" aria-labelledby="sign-in-title" class="card narrow">
    <h2 id="sign-in-title">Sign in</h2>
    <p class="notice" id="sign-in-message" role="alert" hidden></p>
    <form id="sign-in-form">
      <label for="token">Service key, API key or user token</label>
      <input id="token" name="token" type="password" autocomplete="off" required>
      <p class="hint">A key shows every subject (and the panels its scopes allow); a user token shows its own subject only. It stays in this tab.</p>
      <button type="submit">Sign in</button>
      <p class="error" id="sign-in-error" role="alert"></p>
    </form>
  </section>

  <div id="board" hidden>
    <div class="status-line">
      <p id="updated" aria-live="polite">Loading…</p>
      <button type="button" id="auto-refresh" class="quiet" aria-pressed="true">Auto refresh: on (30 s)</button>
      <button type="button" id="refresh-now" class="quiet">Refresh now</button>
    </div>

    <form id="filters" class="card filters" aria-label="Range and meter">
      <label>Range
        <select id="range-preset">
          <option value="today">Today</option>
          <option value="last7" selected>Last 7 days</option>
          <option value="thisMonth">This month</option>
          <option value="lastMonth">Last month</option>
          <option value="last90">Last 90 days</option>
          <option value="custom">Custom…</option>
        </select>
      </label>
      <span id="custom-range" class="custom-range" hidden>
        <label>From <input type="date" id="range-from"></label>
        <label>To <input type="date" id="range-to"></label>
      </span>
      <label>Meter <select id="meter"></select></label>
      <label>Buckets
        <select id="bucket">
          <option value="auto" selected>Auto</option>
          <option value="hour">Hours</option>
          <option value="day">Days</option>
          <option value="week">Weeks</option>
          <option value="month">Months</option>
          <option value="quarter">Quarters</option>
        </select>
      </label>
      <label class="check"><input type="checkbox" id="compare"> Compare with the previous period</label>
      <p class="hint" id="compare-note" hidden>This server does not compare periods yet (no previousTotal in its summaries).</p>
      <p class="hint range-label" id="range-label"></p>
    </form>

    <div id="view-overview" data-view="overview" hidden>
      <h2 class="view-title" tabindex="-1">All subjects</h2>
      <div class="usage-slot"></div>
      ${table("top-subjects", "Top subjects", { head: '<span class="hint" id="top-subjects-meter"></span>' })}
      ${table("subject-search", "Find a subject", { tableId: "subject-results", stack: true, intro: SEARCH_FORM })}
      ${table("plans", "Plans", { stack: true })}
    </div>

    <div id="view-subject" data-view="subject" hidden>
      <h2 class="view-title" tabindex="-1" id="subject-title">Subject</h2>
      ${panel("entitlements", "This period", '<ul id="entitlements" class="meters"></ul>')}
      <div class="usage-slot"></div>
      ${panel("plan", "Plan", PLAN_BODY, { head: '<span class="hint" id="plan-name"></span>' })}
      ${table("holds", "Holds", { stack: true })}
      ${table("features", "Features")}
      ${table("grants", "Grants", { stack: true })}
      ${table("periods", "Closed periods", { stack: true })}
      ${panel("alerts", "Recent alerts", '<ul id="alerts" class="list"></ul>')}
    </div>

    <div id="usage" class="usage">
      ${panel("totals", "Totals in the range", '<ul id="totals" class="totals"></ul>')}
      ${panel("trend", "Trend", '<div id="chart" class="chart"></div><figcaption id="chart-caption"></figcaption>', { figure: true })}
      ${panel("breakdown", "Breakdown", BREAKDOWN_BODY, { head: DIMENSION_FORM })}
    </div>

    <div id="view-operations" data-view="operations" hidden>
      <h2 class="view-title" tabindex="-1">Operations</h2>
      <p class="notice" id="ops-status" role="status" hidden></p>
      ${table("unattributed", "Unattributed faxes", {
        stack: true,
        intro: '<p class="hint">Delivered faxes no subject was named for. Registering one bills its pages to the subject now.</p>',
      })}
      ${table("dead-letters", "Dead letters", { stack: true, head: DEAD_LETTER_STATUS })}
      ${panel("notifications", "Recent notifications", '<ul id="notifications" class="list"></ul>')}
      ${table("deliveries", "Webhook deliveries", { stack: true })}
    </div>
  </div>
</main>
<script src="/dashboard/app.js" defer></script>
</body>
</html>`;
