export { TallyClient, TallyError, type TallyClientOptions } from "./tally-client";
export { BufferedRecorder, type BufferedRecorderOptions } from "./buffered-recorder";
export type * from "./types";
