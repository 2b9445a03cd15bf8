/**
 * Broker URLs as mqtt.js reads them. `mqtt.connect` parses its URL with Node's legacy `url.parse`, which throws
 * on URLs that WHATWG `URL` (and so the config schema's URL check) accepts: a bad percent-escape in the password
 * (`mqtt://bridge:50%off@host`) is the common one.
 */
import mqtt from "mqtt";

/**
 * Why mqtt.js could not connect to `url`, or undefined when it could. The answer never contains the URL, which
 * may hold a password.
 */
export function brokerUrlProblem(url: string): string | undefined {
  // WHATWG first: the legacy parser prints a URL it finds malformed to stderr (DEP0170), password and all.
  if (!URL.canParse(url)) return "invalid URL";
  try {
    // `manualConnect` builds the client, parsing the URL exactly as a real connection does, without connecting.
    mqtt.connect(url, { manualConnect: true });
    return undefined;
  } catch (error) {
    if (error instanceof URIError) return "malformed percent-encoding; write a literal % as %25";
    return error instanceof Error && !error.message.includes(url) ? error.message : "unparseable URL";
  }
}

/**
 * The URL fit for logs and health reasons: `mqtt://user:pass@host:1883` → `mqtt://***@host:1883`. Everything
 * from `//` to the last `@` goes, because the legacy and WHATWG parsers disagree on where credentials end and
 * cutting too much is harmless. Control characters are escaped so that a log line stays one readable line.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf("@");
  let shown = url;
  if (at >= 0) {
    const slashes = url.indexOf("//");
    const keep = slashes >= 0 && slashes < at ? slashes + 2 : 0;
    shown = `${url.slice(0, keep)}***${url.slice(at)}`;
  }
  return shown.replace(/\p{Cc}/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
