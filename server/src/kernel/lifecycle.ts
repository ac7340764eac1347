/** A long-lived part of the node. `stop()` must release every socket, timer and file handle it owns. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts components in order and stops them in reverse order. If one fails to start, the ones
 * already started are stopped again so a failed start leaks nothing.
 */
export class Lifecycle {
  private readonly started: Component[] = [];

  constructor(private readonly components: readonly Component[] = []) {}

  /** Starts all components given to the constructor; on a failure stops those already started. */
  async start(): Promise<void> {
    for (const component of this.components) {
      try {
        await this.startComponent(component);
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
  }

  /**
   * Starts one component and takes charge of stopping it. Used directly where a component is
   * optional: its failure is the caller's to report, and earlier components stay up.
   */
  async startComponent(component: Component): Promise<void> {
    try {
      await component.start();
    } catch (error) {
      throw new ComponentStartError(component.name, error);
    }
    this.started.push(component);
  }

  /** Stops every started component; errors are collected so one failure does not leak the rest. */
  async stop(): Promise<Error[]> {
    const errors: Error[] = [];
    while (this.started.length > 0) {
      const component = this.started.pop()!;
      try {
        await component.stop();
      } catch (error) {
        errors.push(new Error(`${component.name} failed to stop: ${describeError(error)}`));
      }
    }
    return errors;
  }
}

export class ComponentStartError extends Error {
  constructor(readonly component: string, readonly reason: unknown) {
    super(`${component} failed to start: ${describeError(reason)}`);
    this.name = 'ComponentStartError';
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
