export { TallyClient, TallyError, paginate, type TallyClientOptions } from "./tally-client.js";
export { BufferedRecorder, type BufferedRecorderOptions } from "./buffered-recorder.js";
export type * from "./types.js";
