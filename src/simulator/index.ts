export * from "./home.js";
export * from "./server.js";
export { isoMicro, type SimContext, type SimState } from "./states.js";
