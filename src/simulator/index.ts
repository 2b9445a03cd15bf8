export { type ActivityOptions, driveActivity } from "./activity.js";
export { type GenerateHomeOptions, generateHome, seededRandom } from "./generator.js";
export * from "./home.js";
export * from "./server.js";
export { isoMicro, type SimContext, type SimState } from "./states.js";
