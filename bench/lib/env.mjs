/** Benchmark knobs from the environment, with defaults sized for a two-core machine. */

export function numberFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

export function listFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  return raw.split(",").map((part) => {
    const value = Number(part.trim());
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`${name} must be a comma-separated list of numbers`);
    return value;
  });
}

export function namesFromEnv(name, fallback, allowed) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const names = raw.split(",").map((part) => part.trim());
  const unknown = names.filter((n) => !allowed.includes(n));
  if (unknown.length > 0)
    throw new Error(`${name}: unknown ${unknown.join(", ")} (choose from ${allowed.join(", ")})`);
  return names;
}
