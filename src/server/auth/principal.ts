import { CAPABILITIES, type Capability } from "../../config/schema.js";

/** Who a connection or HTTP request is, and what it may see. */
export interface Principal {
  readonly subject: string;
  readonly kind: "api_key" | "token" | "anonymous" | "ingress";
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

/** Capability sets by their list, shared by the principals that hold the same list (see `capabilitySet`). */
const CAPABILITY_SETS = new Map<string, ReadonlySet<Capability>>();

/**
 * The capabilities among `names` (others dropped), as given. Principals with the same list share one
 * read-only set: there are few distinct lists, while a set per token-authenticated connection is a `Set`
 * (and its strings) per idle connection. Bounded: lists of known capabilities only.
 */
export function capabilitySet(names: readonly string[]): ReadonlySet<Capability> {
  const capabilities = [...new Set(names.filter(isCapability))];
  const key = capabilities.join(",");
  let set = CAPABILITY_SETS.get(key);
  if (set === undefined) {
    set = new Set(capabilities);
    CAPABILITY_SETS.set(key, set);
  }
  return set;
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

/** The Supervisor's address: the only peer the add-on's ingress port accepts. */
export const SUPERVISOR_ADDRESS = "172.30.32.2";

/** `::ffff:172.30.32.2` (IPv4-mapped, as dual-stack sockets report it) → `172.30.32.2`. */
export function plainAddress(address: string | undefined): string {
  return (address ?? "unknown").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
}

/**
 * A Home Assistant user the Supervisor vouches for on the ingress port (`X-Remote-User-*` headers). Ingress
 * panels are open only to logged-in HA users, so they get every capability; null without the headers.
 */
export function ingressPrincipal(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Principal | null {
  const one = (name: string): string | undefined => {
    const value = headers[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const id = one("x-remote-user-id");
  if (id === undefined) return null;
  return {
    subject: `ha:${one("x-remote-user-name") ?? id}`,
    kind: "ingress",
    capabilities: new Set(CAPABILITIES),
    rooms: null,
  };
}
