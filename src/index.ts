import { createApp } from "./app";

export { SubjectLedger } from "./ledger/subject-ledger";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
