import { API_CLIENT_JS } from "./browser/api-client";
import { APP_SHELL_JS } from "./browser/app-shell";
import { BAR_CHART_JS } from "./browser/bar-chart";
import { CSV_JS } from "./browser/csv";
import { DATA_TABLE_JS } from "./browser/data-table";
import { DATE_RANGE_JS } from "./browser/date-range";
import { FORMAT_JS } from "./browser/format";
import { OPERATIONS_VIEW_JS } from "./browser/operations-view";
import { OVERVIEW_VIEW_JS } from "./browser/overview-view";
import { SUBJECT_VIEW_JS } from "./browser/subject-view";
import { USAGE_PANELS_JS } from "./browser/usage-panels";

/**
 * The dashboard's browser code, served as one file (/dashboard/app.js): plain DOM, no framework,
 * no CDN. The parts in ./browser/ share one function scope, in this order; the shell comes last
 * because it starts the page.
 */
export const DASHBOARD_JS = [
  '(function () {\n"use strict";',
  FORMAT_JS,
  API_CLIENT_JS,
  CSV_JS,
  DATE_RANGE_JS,
  BAR_CHART_JS,
  DATA_TABLE_JS,
  USAGE_PANELS_JS,
  OVERVIEW_VIEW_JS,
  SUBJECT_VIEW_JS,
  OPERATIONS_VIEW_JS,
  APP_SHELL_JS,
  "})();\n",
].join("\n");
