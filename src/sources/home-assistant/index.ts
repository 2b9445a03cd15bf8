export { type HomeAssistantEndpoint, resolveEndpoint, SUPERVISOR_WS_URL } from "./endpoint.js";
export {
  HomeAssistantCommandError,
  HomeAssistantConfigError,
  HomeAssistantSnapshotError,
} from "./errors.js";
export {
  HEALTH_COMPONENT,
  HomeAssistantSource,
  type HomeAssistantSourceOptions,
  type HomeAssistantSourceStats,
} from "./source.js";
