import type { Attributes } from "../../core/events.js";

/**
 * Removes what must never leave the bridge, for any client: a camera's `access_token` and an
 * `entity_picture` that embeds a token (HA's `/api/camera_proxy/...?token=...`).
 */
export function sanitizeAttributes(domain: string | undefined, attributes: Attributes): Attributes {
  const picture = attributes.entity_picture;
  const tokenisedPicture = typeof picture === "string" && /[?&]token=/.test(picture);
  if (!("access_token" in attributes) && !tokenisedPicture) return attributes;
  const clean: Record<string, Attributes[string]> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "access_token") continue;
    if (key === "entity_picture" && (tokenisedPicture || domain === "camera")) continue;
    clean[key] = value;
  }
  return clean;
}
