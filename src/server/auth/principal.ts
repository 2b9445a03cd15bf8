import { CAPABILITIES, type Capability } from "../../config/schema.js";

/** Who a connection or HTTP request is, and what it may see. */
export interface Principal {
  readonly subject: string;
  readonly kind: "api_key" | "token" | "anonymous";
  readonly capabilities: ReadonlySet<Capability>;
  /** Rooms this principal may see; null means every room. */
  readonly rooms: ReadonlySet<string> | null;
}

/** Domains an anonymous client never sees: they reveal or control security-relevant things. */
export const SENSITIVE_DOMAINS: ReadonlySet<string> = new Set([
  "lock",
  "alarm_control_panel",
  "camera",
  "person",
  "device_tracker",
]);

export const ANONYMOUS: Principal = {
  subject: "anonymous",
  kind: "anonymous",
  capabilities: new Set<Capability>(["entities"]),
  rooms: null,
};

export function isCapability(value: string): value is Capability {
  return (CAPABILITIES as readonly string[]).includes(value);
}

export function roomAllowed(principal: Principal, roomId: string | null): boolean {
  if (principal.rooms === null) return true;
  return roomId !== null && principal.rooms.has(roomId);
}

/**
 * Narrows a principal to what a client asked for: requested capabilities ∩ granted, requested rooms ∩
 * granted rooms. An empty or absent request means "everything I am granted".
 */
export function narrow(
  principal: Principal,
  requestedCapabilities: readonly string[] | undefined,
  requestedRooms: readonly string[] | undefined,
): Principal {
  const capabilities =
    requestedCapabilities === undefined || requestedCapabilities.length === 0
      ? principal.capabilities
      : new Set([...principal.capabilities].filter((c) => requestedCapabilities.includes(c)));
  let rooms = principal.rooms;
  if (requestedRooms !== undefined && requestedRooms.length > 0) {
    rooms = new Set(
      principal.rooms === null ? requestedRooms : requestedRooms.filter((r) => principal.rooms?.has(r)),
    );
  }
  return { ...principal, capabilities, rooms };
}
