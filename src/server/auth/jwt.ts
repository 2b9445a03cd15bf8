import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { BridgeError } from "../../core/errors.js";

/** Claims of a bridge token: who (`sub`), what (`caps`) and which rooms (`rooms`, empty = all). */
export interface TokenClaims {
  readonly subject: string;
  readonly capabilities: readonly string[];
  readonly rooms: readonly string[];
  /** Seconds since the epoch, when the token stops being accepted. */
  readonly expiresAt: number | null;
}

const ALGORITHM = "HS256";
const ISSUER = "pma-bridge";

export class TokenError extends BridgeError {}

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Parses `30d`, `12h`, `15m`, `90s` or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhdw]?)$/.exec(text.trim());
  if (match === null)
    throw new TokenError(
      "INVALID_DURATION",
      `cannot read duration ${JSON.stringify(text)} (use e.g. 90s, 15m, 12h, 30d)`,
    );
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[
    match[2] as "" | "s" | "m" | "h" | "d" | "w"
  ];
  return Number(match[1]) * unit;
}

export function mintToken(
  secret: string,
  claims: {
    subject: string;
    capabilities: readonly string[];
    rooms: readonly string[];
    expiresInSeconds: number | null;
  },
  now: Date = new Date(),
): Promise<string> {
  const jwt = new SignJWT({ caps: [...claims.capabilities], rooms: [...claims.rooms] })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
    .setSubject(claims.subject)
    .setIssuer(ISSUER)
    .setIssuedAt(Math.floor(now.getTime() / 1000));
  if (claims.expiresInSeconds !== null)
    jwt.setExpirationTime(Math.floor(now.getTime() / 1000) + claims.expiresInSeconds);
  return jwt.sign(key(secret));
}

/** Verifies signature (HS256 only: `alg: none` and RS/HS confusion are refused), issuer and expiry. */
export async function verifyToken(secret: string, token: string): Promise<TokenClaims> {
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: [ALGORITHM], issuer: ISSUER });
    const caps = Array.isArray(payload.caps)
      ? payload.caps.filter((c): c is string => typeof c === "string")
      : [];
    const rooms = Array.isArray(payload.rooms)
      ? payload.rooms.filter((r): r is string => typeof r === "string")
      : [];
    if (typeof payload.sub !== "string" || payload.sub === "") {
      throw new TokenError("TOKEN_INVALID", "token has no subject");
    }
    return { subject: payload.sub, capabilities: caps, rooms, expiresAt: payload.exp ?? null };
  } catch (error) {
    if (error instanceof TokenError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new TokenError("TOKEN_EXPIRED", "token has expired");
    throw new TokenError("TOKEN_INVALID", "token is not valid for this bridge");
  }
}
