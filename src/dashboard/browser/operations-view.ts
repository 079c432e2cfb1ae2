import { js } from "./js";

/**
 * Browser code, part 10: the operator panels (keys only): unattributed faxes with a register
 * action, dead letters with replay and dismiss, recent notifications and webhook deliveries.
 * Each action reloads its panel, so a registered fax or a replayed letter leaves its list.
 */
export const OPERATIONS_VIEW_JS = js`
function opsStatus(message, failed) {
  const status = $("#ops-status");
  status.textContent = message;
  status.classList.toggle("failed", Boolean(failed));
  status.hidden = false;
}

async function loadUnattributed(current) {
  const body = await api("/v1/webhooks/unattributed" + query({ limit: 100 }));
  if (!current()) return;
  renderTable(
    $("#unattributed"),
    [
      { key: "provider", label: "Provider" },
      { key: "faxId", label: "Fax", className: "id" },
      { key: "pageCount", label: "Pages", numeric: true, unit: "page" },
      { key: "parkedAt", className: "when", label: "Parked", text: (f) => when(f.parkedAt) },
      { key: "register", label: "Bill to subject", sortable: false, csv: false, node: registerForm },
    ],
    body.data,
    { sort: { key: "parkedAt", dir: "desc" }, empty: "No unattributed faxes." },
  );
}

function registerForm(fax) {
  const input = el("input", { "aria-label": "Subject to bill for fax " + fax.faxId, placeholder: "subject id", autocomplete: "off", required: true });
  const button = el("button", { type: "submit", class: "small", text: "Register" });
  const form = el("form", { class: "row-form", "data-fax": fax.faxId }, [input, button]);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const subjectId = input.value.trim();
    if (!subjectId) return;
    button.disabled = true;
    try {
      const answer = await track(api("/v1/faxes", { method: "POST", body: { provider: fax.provider, faxId: fax.faxId, subjectId } }));
      opsStatus("Fax " + fax.faxId + " registered to " + subjectId + (answer.billed ? ": its " + withUnit(fax.pageCount, "page") + " are billed now." : "."));
      reloadPanel("#panel-unattributed", loadUnattributed);
    } catch (error) {
      opsStatus("Could not register fax " + fax.faxId + ": " + error.message, true);
      button.disabled = false;
    }
  });
  return form;
}

async function loadDeadLetters(current) {
  const body = await api("/v1/dead-letters" + query({ status: $("#dead-letter-status").value, limit: 100 }));
  if (!current()) return;
  renderTable(
    $("#dead-letters"),
    [
      { key: "createdAt", className: "when", label: "When", text: (d) => when(d.createdAt) },
      { key: "reason", label: "Reason" },
      { key: "detail", label: "Detail", className: "detail" },
      { key: "attempts", label: "Attempts", numeric: true },
      { key: "status", label: "Status", text: (d) => d.status + (d.replayStatus && d.status !== "replayed" ? " (last replay: " + d.replayStatus + ")" : "") },
      { key: "actions", label: "Actions", sortable: false, csv: false, node: deadLetterActions },
    ],
    body.data,
    { sort: { key: "createdAt", dir: "desc" }, empty: "No dead letters" + ($("#dead-letter-status").value ? " with this status." : ".") },
  );
}

function deadLetterActions(letter) {
  const box = el("span", { class: "row-actions", "data-dead-letter": letter.id });
  const act = (verb, label) => {
    const button = el("button", { type: "button", class: "small" + (verb === "dismiss" ? " quiet" : ""), text: label, "aria-label": label + " dead letter " + letter.id });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const answer = await track(api("/v1/dead-letters/" + encodeURIComponent(letter.id) + "/" + verb, { method: "POST" }));
        const result = answer.result;
        opsStatus(
          "Dead letter " + letter.id + (verb === "replay"
            ? " replayed: " + result.status + (result.reason ? " (" + result.reason + (result.detail ? ": " + result.detail : "") + ")" : "")
            : " dismissed."),
          Boolean(result && result.status === "rejected"),
        );
        reloadPanel("#panel-dead-letters", loadDeadLetters);
      } catch (error) {
        opsStatus("Could not " + verb + " dead letter " + letter.id + ": " + error.message, true);
        button.disabled = false;
      }
    });
    box.appendChild(button);
  };
  if (letter.status !== "replayed") act("replay", "Replay");
  if (letter.status === "open") act("dismiss", "Dismiss");
  return box;
}

async function loadNotifications(current) {
  const body = await api("/v1/notifications" + query({ limit: 20 }));
  if (!current()) return;
  renderAlerts($("#notifications"), body.data, true);
}

async function loadDeliveries(current) {
  const endpoints = (await api("/v1/webhook-endpoints" + query({ limit: 100 }))).data.slice(0, 10);
  const logs = await Promise.all(
    endpoints.map((e) =>
      api("/v1/webhook-endpoints/" + encodeURIComponent(e.id) + "/deliveries" + query({ limit: 20 })).then((b) =>
        b.data.map((d) => Object.assign({ endpoint: e.id, url: e.url }, d)),
      ),
    ),
  );
  if (!current()) return;
  const rows = [].concat(...logs).sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1)).slice(0, 15);
  renderTable(
    $("#deliveries"),
    [
      { key: "updatedAt", className: "when", label: "When", text: (d) => when(d.updatedAt) },
      { key: "endpoint", label: "Endpoint" },
      { key: "eventType", label: "Event" },
      { key: "status", label: "Status" },
      { key: "attempts", label: "Attempts", numeric: true },
      {
        key: "lastStatusCode",
        label: "Last answer",
        text: (d) => (d.lastStatusCode ? "HTTP " + d.lastStatusCode : "") + (d.lastError ? (d.lastStatusCode ? " · " : "") + d.lastError : "") || "—",
      },
    ],
    rows,
    { sort: { key: "updatedAt", dir: "desc" }, empty: endpoints.length ? "No deliveries yet." : "No webhook endpoints." },
  );
}
`;
