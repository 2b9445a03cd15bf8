import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isRecord } from "../../config/schema.js";

/**
 * Credentials the bridge generates for itself on first start, kept in the data directory (mode 0600) so
 * that the bridge is never open by default and `pma-bridge token` works without configuring a secret.
 */
export interface GeneratedSecrets {
  readonly api_key: string;
  readonly jwt_secret: string;
  readonly created_at: string;
}

export const SECRETS_FILE = "secrets.json";

export function readSecrets(dataDir: string): GeneratedSecrets | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, SECRETS_FILE), "utf8"));
  } catch {
    return undefined;
  }
  if (isRecord(parsed) && typeof parsed.api_key === "string" && typeof parsed.jwt_secret === "string") {
    return {
      api_key: parsed.api_key,
      jwt_secret: parsed.jwt_secret,
      created_at: String(parsed.created_at ?? ""),
    };
  }
  return undefined;
}

/** Returns the stored secrets, creating them atomically when absent. `created` tells whether this call made them. */
export function loadOrCreateSecrets(
  dataDir: string,
  now: Date = new Date(),
): { secrets: GeneratedSecrets; created: boolean } {
  const existing = readSecrets(dataDir);
  if (existing !== undefined) return { secrets: existing, created: false };
  const secrets: GeneratedSecrets = {
    api_key: `pma_${randomBytes(24).toString("base64url")}`,
    jwt_secret: randomBytes(48).toString("base64url"),
    created_at: now.toISOString(),
  };
  const file = join(dataDir, SECRETS_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
  return { secrets, created: true };
}
