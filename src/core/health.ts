/** What a component says about its own readiness; `/healthz` is ready only when every component is. */
export interface ComponentHealth {
  readonly ready: boolean;
  /** Human-readable reason when not ready, e.g. "Home Assistant rejected the access token". */
  readonly reason?: string;
  readonly since: string;
}

export interface HealthReport {
  readonly ready: boolean;
  readonly components: Readonly<Record<string, ComponentHealth>>;
  readonly reasons: readonly string[];
}

type Listener = (component: string, health: ComponentHealth) => void;

/** Components report here; the HTTP health endpoint, metrics and the bridge's own alerts read from here. */
export class HealthRegistry {
  private readonly components = new Map<string, ComponentHealth>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Declares a component that must become ready before the bridge is. */
  register(component: string, reason = "starting"): void {
    if (!this.components.has(component)) this.set(component, false, reason);
  }

  set(component: string, ready: boolean, reason?: string): void {
    const previous = this.components.get(component);
    if (previous !== undefined && previous.ready === ready && previous.reason === reason) return;
    const health: ComponentHealth = {
      ready,
      since: previous?.ready === ready ? previous.since : this.now().toISOString(),
      ...(ready || reason === undefined ? {} : { reason }),
    };
    this.components.set(component, health);
    for (const listener of this.listeners) listener(component, health);
  }

  /** Removes a component that is no longer part of the bridge (e.g. an optional source that was stopped). */
  unregister(component: string): void {
    this.components.delete(component);
  }

  get(component: string): ComponentHealth | undefined {
    return this.components.get(component);
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  report(): HealthReport {
    const components: Record<string, ComponentHealth> = {};
    const reasons: string[] = [];
    for (const [name, health] of this.components) {
      components[name] = health;
      if (!health.ready) reasons.push(`${name}: ${health.reason ?? "not ready"}`);
    }
    return { ready: reasons.length === 0, components, reasons };
  }
}
