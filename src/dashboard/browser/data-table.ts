import { js } from "./js";

/**
 * Browser code, part 6: tables. Columns say how a row is shown, sorted and written to CSV; a
 * sortable header is a button (keyboard and screen readers get it, with aria-sort), and the CSV
 * of a table is built from the rows in the order shown, with the units in the header.
 */
export const DATA_TABLE_JS = js`
const tableStates = new WeakMap();

/**
 * columns: [{ key, label, numeric?, unit?, value?(row), text?(row), node?(row), csv?: false, sortable?: false }]
 * options: { sort?: { key, dir }, empty?: string }
 */
function renderTable(table, columns, rows, options) {
  const previous = tableStates.get(table);
  const kept = previous && previous.sort && columns.some((c) => c.key === previous.sort.key) ? previous.sort : null;
  const sort = kept || (options && options.sort) || null;
  const state = { columns, rows, sort, options: options || {} };
  tableStates.set(table, state);
  paintTable(table, state);
}

const cellValue = (column, row) => (column.value ? column.value(row) : row[column.key]);
function cellText(column, row) {
  if (column.text) return column.text(row);
  const value = cellValue(column, row);
  return column.numeric ? withUnit(value, column.unit) : value === null || value === undefined ? "" : String(value);
}

function sortedRows(state) {
  const rows = state.rows.slice();
  const sort = state.sort;
  const column = sort && state.columns.find((c) => c.key === sort.key);
  if (!column) return rows;
  const factor = sort.dir === "asc" ? 1 : -1;
  return rows.sort((a, b) => {
    const x = cellValue(column, a);
    const y = cellValue(column, b);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    if (column.numeric) return (x - y) * factor;
    return String(x).localeCompare(String(y), undefined, { numeric: true }) * factor;
  });
}

function paintTable(table, state) {
  const head = el("tr", {}, state.columns.map((column) => headerCell(table, state, column)));
  const thead = table.tHead || table.createTHead();
  thead.replaceChildren(head);
  const body = table.tBodies[0] || table.appendChild(el("tbody"));
  body.replaceChildren();
  state.shown = sortedRows(state);
  if (!state.shown.length) {
    body.appendChild(el("tr", {}, [el("td", { colspan: state.columns.length, class: "empty", text: state.options.empty || "Nothing here." })]));
    return;
  }
  for (const row of state.shown) {
    body.appendChild(
      el(
        "tr",
        {},
        state.columns.map((column) =>
          el("td", { class: column.numeric ? "num" : column.className, "data-label": column.label }, [
            column.node ? column.node(row) : cellText(column, row),
          ]),
        ),
      ),
    );
  }
}

function headerCell(table, state, column) {
  const sorted = state.sort && state.sort.key === column.key ? state.sort.dir : null;
  const th = el("th", { scope: "col", class: column.numeric ? "num" : undefined, "aria-sort": sorted ? (sorted === "asc" ? "ascending" : "descending") : undefined });
  if (column.sortable === false) {
    th.textContent = column.label;
    return th;
  }
  const button = el("button", { type: "button", class: "sort", "data-sort": column.key }, [
    column.label,
    el("span", { class: "arrow", "aria-hidden": "true", text: sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : "" }),
  ]);
  button.addEventListener("click", () => {
    const dir = sorted ? (sorted === "asc" ? "desc" : "asc") : column.numeric ? "desc" : "asc";
    state.sort = { key: column.key, dir };
    paintTable(table, state);
    const again = table.querySelector('button[data-sort="' + CSS.escape(column.key) + '"]');
    if (again) again.focus();
  });
  th.appendChild(button);
  return th;
}

/** The table as shown (its columns, its rows in their order) as CSV; figures as numbers, units in the header. */
function tableCsv(table) {
  const state = tableStates.get(table);
  if (!state) return "";
  const columns = state.columns.filter((c) => c.csv !== false);
  const header = columns.map((c) => (c.numeric && c.unit ? c.label + " (" + unitLabel(c.unit, 2) + ")" : c.label));
  const rows = (state.shown || []).map((row) =>
    columns.map((c) => {
      if (!c.numeric) return cellText(c, row);
      const value = cellValue(c, row);
      return value === null || value === undefined ? "" : value;
    }),
  );
  return toCsv([header].concat(rows));
}
`;
