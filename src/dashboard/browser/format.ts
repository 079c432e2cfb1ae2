import { js } from "./js";

/**
 * Browser code, part 1: building DOM nodes and writing figures. Every value reaches the page as
 * text (textContent, attributes), never as markup, whatever a subject id or dimension holds.
 */
export const FORMAT_JS = js`
const $ = (selector, root) => (root || document).querySelector(selector);
const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

/** A node with attributes and children; "text" sets textContent, "width" goes through CSSOM (the CSP refuses inline styles). */
function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "width") node.style.width = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children || []) if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

const round4 = (n) => Math.round(n * 10000) / 10000;
const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });
function fmt(n) {
  return n === null || n === undefined || Number.isNaN(Number(n)) ? "—" : numberFormat.format(Number(n));
}

/** "item" → "items", "query" → "queries"; abbreviations and units already plural stay as they are. */
function unitLabel(unit, n) {
  if (!unit) return "";
  if (Math.abs(n) === 1 || !/^[a-z]+$/.test(unit) || /s$/.test(unit)) return unit;
  if (/(ch|sh|x|z)$/.test(unit)) return unit + "es";
  if (/[^aeiou]y$/.test(unit)) return unit.slice(0, -1) + "ies";
  return unit + "s";
}

const BYTE_STEPS = ["KiB", "MiB", "GiB", "TiB"];
/** A figure with its unit: "1,234 items", "2.5 MiB" (bytes in binary multiples). */
function withUnit(n, unit) {
  if (n === null || n === undefined) return "—";
  if (unit === "byte" && Math.abs(n) >= 1024) {
    let value = n / 1024;
    let step = 0;
    while (Math.abs(value) >= 1024 && step < BYTE_STEPS.length - 1) {
      value /= 1024;
      step++;
    }
    return numberFormat.format(Math.round(value * 10) / 10) + " " + BYTE_STEPS[step];
  }
  return fmt(n) + (unit ? " " + unitLabel(unit, n) : "");
}

/** Short axis figures: 950, 1.2k, 3.4M. */
function compact(n) {
  const abs = Math.abs(n);
  if (abs >= 1e9) return round1(n / 1e9) + "G";
  if (abs >= 1e6) return round1(n / 1e6) + "M";
  if (abs >= 1e4) return round1(n / 1e3) + "k";
  return fmt(round1(n));
}
const round1 = (n) => Math.round(n * 10) / 10;

/** The change from the previous period: "+12 items (+40 %)", "−3 items (−10 %)", "no change", "+5 items (new)". */
function changeText(total, previous, unit) {
  if (previous === undefined || previous === null) return "";
  const delta = round4(total - previous);
  if (delta === 0) return "no change";
  const sign = delta > 0 ? "+" : "−";
  if (previous === 0) return sign + withUnit(Math.abs(delta), unit) + " (new)";
  const pct = Math.round((Math.abs(delta) / Math.abs(previous)) * 1000) / 10;
  return sign + withUnit(Math.abs(delta), unit) + " (" + sign + fmt(pct) + " %)";
}

/** What an entitlement row has used past its allowance (limit plus what grants give); 0 when within it. */
function overBy(row) {
  if (row.limit === null || row.limit === undefined) return 0;
  return Math.max(0, round4(row.used - row.limit - (row.granted || 0)));
}

const pad2 = (n) => String(n).padStart(2, "0");
/** Local "YYYY-MM-DD HH:MM" of an ISO time. */
function when(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " + pad2(d.getHours()) + ":" + pad2(d.getMinutes());
}
const clockTime = (d) => pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
/** A UTC period bound as its date: periods are cut in UTC. */
const utcDate = (iso) => (iso ? String(iso).slice(0, 10) : "");

function jsonText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}
`;
