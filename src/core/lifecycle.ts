import type { Logger } from "./logger.js";

/** Anything the composition root starts. Constructors only assign; side effects begin in `start()`. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Undoes `start()`. Must be safe to call when `start()` failed half-way or never ran. */
  stop(): Promise<void>;
}

/**
 * Starts services in order and stops the ones that started in reverse order. A failing `stop()` is logged
 * and does not prevent the others from stopping.
 */
export class Lifecycle {
  private readonly started: Service[] = [];

  constructor(
    private readonly services: readonly Service[],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const service of this.services) {
      this.log.debug({ service: service.name }, "starting");
      await service.start();
      this.started.push(service);
    }
  }

  async stop(): Promise<void> {
    while (this.started.length > 0) {
      const service = this.started.pop();
      if (service === undefined) break;
      try {
        this.log.debug({ service: service.name }, "stopping");
        await service.stop();
      } catch (error) {
        this.log.error({ service: service.name, err: error }, "stop failed");
      }
    }
  }
}
