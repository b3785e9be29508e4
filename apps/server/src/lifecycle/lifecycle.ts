/** The process's serving state, read by /health and /ready and changed by startup and shutdown. */
export type LifecycleState = 'starting' | 'ready' | 'stopping';

export interface Lifecycle {
  readonly state: LifecycleState;
  markReady(): void;
  markStopping(): void;
}

export function createLifecycle(): Lifecycle {
  let state: LifecycleState = 'starting';
  return {
    get state() {
      return state;
    },
    markReady() {
      if (state === 'starting') state = 'ready';
    },
    markStopping() {
      state = 'stopping';
    },
  };
}
