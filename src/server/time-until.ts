/** Seconds from `now` until an ISO time, clamped at 0; null when the time cannot be read. */
export function secondsUntil(iso: string, now: number): number | null {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.round((at - now) / 1000));
}

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? "" : "s"}`;

/**
 * The occupancy system's human form: under a minute "N seconds", under an hour "N minute(s)", under a day
 * "N hour(s)" or "Hh Mm", else "N day(s)" or "Dd Hh".
 */
export function humanDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  if (seconds < 60) return plural(seconds, "second");
  if (seconds < 3600) return plural(Math.floor(seconds / 60), "minute");
  if (seconds < 86_400) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    return minutes === 0 ? plural(hours, "hour") : `${hours}h ${minutes}m`;
  }
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  return hours === 0 ? plural(days, "day") : `${days}d ${hours}h`;
}
