import { createHash, timingSafeEqual } from "node:crypto";
import { mkdirSync } from "node:fs";
import { CAPABILITIES, type Capability, type Config } from "../../config/schema.js";
import { BridgeError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { verifyToken } from "./jwt.js";
import { capabilitySet, type Principal } from "./principal.js";
import { loadOrCreateSecrets } from "./secrets.js";

/** Why a credential was refused: `AUTH_FAILED` (unknown key, bad token) or `TOKEN_EXPIRED`. */
export class AuthError extends BridgeError {}

export interface Credential {
  readonly apiKey?: string | undefined;
  readonly token?: string | undefined;
}

interface KeyEntry {
  readonly name: string;
  readonly digest: Buffer;
  readonly capabilities: ReadonlySet<Capability>;
  readonly rooms: ReadonlySet<string> | null;
}

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * Checks API keys and bridge tokens. When no key is configured, a key is generated on first start, kept in
 * the data directory, and logged once with how to use it: the bridge is never open by accident.
 */
export class Authenticator {
  private keys: KeyEntry[] = [];
  private jwtSecret: string | undefined;

  constructor(
    private readonly config: Config["auth"],
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {}

  /** Reads (or creates) the generated secrets. Called from the server's `start()`. */
  init(): void {
    mkdirSync(this.dataDir, { recursive: true });
    const { secrets, created } = loadOrCreateSecrets(this.dataDir);
    this.jwtSecret = this.config.jwt_secret ?? secrets.jwt_secret;
    const configured = this.config.api_keys.map((key) => ({
      name: key.name,
      digest: digest(key.key),
      capabilities: new Set(key.capabilities),
      rooms: key.rooms.length === 0 ? null : new Set(key.rooms),
    }));
    if (configured.length > 0) {
      this.keys = configured;
      return;
    }
    this.keys = [
      {
        name: "generated",
        digest: digest(secrets.api_key),
        capabilities: new Set(CAPABILITIES),
        rooms: null,
      },
    ];
    if (created) {
      this.log.warn(
        { file: `${this.dataDir}/secrets.json` },
        `no API key configured: generated one with every capability: ${secrets.api_key} — ` +
          "send it as `authentication {api_key}` (occupancy), `?token=` / `authenticate {token}` (pma), or " +
          "`Authorization: Bearer <key>` (HTTP). This message is shown once.",
      );
    }
  }

  get allowAnonymous(): boolean {
    return this.config.allow_anonymous;
  }

  /** A bridge token or an API key; both dialects accept either where they take a credential. */
  async authenticate(credential: Credential): Promise<Principal> {
    if (credential.apiKey !== undefined) {
      const principal = this.checkApiKey(credential.apiKey);
      if (principal !== undefined) return principal;
      throw new AuthError("AUTH_FAILED", "invalid API key");
    }
    if (credential.token !== undefined) {
      // A PMA client may put an API key where the seed says "token".
      const byKey = this.checkApiKey(credential.token);
      if (byKey !== undefined) return byKey;
      return await this.checkToken(credential.token);
    }
    throw new AuthError("AUTH_FAILED", "no credential given");
  }

  private checkApiKey(candidate: string): Principal | undefined {
    const candidateDigest = digest(candidate);
    let match: KeyEntry | undefined;
    // Compare against every key, always, so timing reveals neither which key nor whether one matched early.
    for (const key of this.keys) {
      if (timingSafeEqual(key.digest, candidateDigest) && match === undefined) match = key;
    }
    if (match === undefined) return undefined;
    return { subject: match.name, kind: "api_key", capabilities: match.capabilities, rooms: match.rooms };
  }

  private async checkToken(token: string): Promise<Principal> {
    if (this.jwtSecret === undefined) throw new AuthError("AUTH_FAILED", "tokens are not accepted yet");
    try {
      const claims = await verifyToken(this.jwtSecret, token);
      return {
        subject: claims.subject,
        kind: "token",
        capabilities: capabilitySet(claims.capabilities),
        rooms: claims.rooms.length === 0 ? null : new Set(claims.rooms),
      };
    } catch (error) {
      const code =
        error instanceof BridgeError && error.code === "TOKEN_EXPIRED" ? "TOKEN_EXPIRED" : "AUTH_FAILED";
      throw new AuthError(code, code === "TOKEN_EXPIRED" ? "token has expired" : "invalid token or API key");
    }
  }
}
