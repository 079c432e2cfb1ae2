/** The dashboard's HTML shell; data comes from the API, with the key or token the person signs in with. */
export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tally — usage dashboard</title>
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body>
<header class="top">
  <h1>tally</h1>
  <p class="who" id="who" aria-live="polite"></p>
  <button type="button" id="sign-out" hidden>Sign out</button>
</header>
<main>
  <section id="sign-in" aria-labelledby="sign-in-title" class="card narrow">
    <h2 id="sign-in-title">Sign in</h2>
    <form id="sign-in-form">
      <label for="token">Service key or user token</label>
      <input id="token" name="token" type="password" autocomplete="off" required>
      <p class="hint">The service key shows every subject; a user token shows its own usage only. It stays in this tab.</p>
      <button type="submit">Sign in</button>
      <p class="error" id="sign-in-error" role="alert"></p>
    </form>
  </section>

  <div id="board" hidden>
    <form id="subject-form" class="toolbar" hidden>
      <label for="subject">Subject</label>
      <input id="subject" name="subject" placeholder="user id, org id, pantry id…">
      <button type="submit">Show</button>
      <span class="hint">Leave empty for all subjects.</span>
    </form>

    <section class="card" aria-labelledby="usage-title">
      <h2 id="usage-title">This period</h2>
      <p class="empty" id="usage-empty" hidden></p>
      <ul id="meters" class="meters"></ul>
    </section>

    <section class="card" aria-labelledby="trend-title">
      <div class="card-head">
        <h2 id="trend-title">Trend</h2>
        <label for="trend-meter" class="inline">Meter</label>
        <select id="trend-meter"></select>
        <div role="group" aria-label="Range" class="range">
          <button type="button" data-range="day" aria-pressed="true">Daily</button>
          <button type="button" data-range="week" aria-pressed="false">Weekly</button>
          <button type="button" data-range="month" aria-pressed="false">Monthly</button>
        </div>
      </div>
      <figure>
        <div id="chart" class="chart" role="img" aria-labelledby="chart-caption"></div>
        <figcaption id="chart-caption"></figcaption>
      </figure>
    </section>

    <section class="card" aria-labelledby="breakdown-title">
      <div class="card-head">
        <h2 id="breakdown-title">Breakdown</h2>
        <label for="dimension" class="inline">by dimension</label>
        <input id="dimension" value="schoolId" size="12">
      </div>
      <table id="breakdown"><thead><tr><th scope="col">Value</th><th scope="col">Total</th><th scope="col">Events</th><th scope="col"><span class="sr">Share</span></th></tr></thead><tbody></tbody></table>
    </section>

    <section class="card" aria-labelledby="credits-title" id="credits" hidden>
      <h2 id="credits-title">Holds, grants and features</h2>
      <h3>Held now</h3>
      <table id="holds"><thead><tr><th scope="col">Meter</th><th scope="col">Amount</th><th scope="col">Expires</th><th scope="col">Id</th></tr></thead><tbody></tbody></table>
      <h3>Prepaid grants</h3>
      <table id="grants"><thead><tr><th scope="col">Meter</th><th scope="col">Remaining</th><th scope="col">Expires</th><th scope="col">Source</th></tr></thead><tbody></tbody></table>
      <h3>Features</h3>
      <table id="features"><thead><tr><th scope="col">Feature</th><th scope="col">Value</th><th scope="col">From</th></tr></thead><tbody></tbody></table>
    </section>

    <section class="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Recent alerts</h2>
      <ul id="alerts" class="list"></ul>
    </section>

    <section class="card" aria-labelledby="ops-title" id="operator" hidden>
      <h2 id="ops-title">Needs attention</h2>
      <h3>Unattributed faxes</h3>
      <table id="unattributed"><thead><tr><th scope="col">Provider</th><th scope="col">Fax</th><th scope="col">Pages</th><th scope="col">Parked</th></tr></thead><tbody></tbody></table>
      <h3>Dead letters</h3>
      <table id="dead-letters"><thead><tr><th scope="col">Reason</th><th scope="col">Detail</th><th scope="col">Attempts</th><th scope="col">When</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
</main>
<script src="/dashboard/app.js" defer></script>
</body>
</html>`;
