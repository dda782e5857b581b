// The widgets' views need only a ViewModel (common/viewModel.ts); this one holds the values
// itself, so the run monitor and flow preview views render in JupyterLab tabs with no
// kernel behind them: the plugin fills it from the server extension instead.
import type { ViewModel } from "../common/viewModel";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export class LocalModel<T extends object> implements ViewModel<T> {
  protected values: T;
  private listeners = new Map<string, Set<Listener>>();
  /** Called with what a view sends (model.send); a subclass or owner acts on it. */
  onMessage: ((msg: Record<string, unknown>) => void) | null = null;

  constructor(initial: T) {
    this.values = { ...initial };
  }

  get<K extends keyof T>(key: K): T[K] {
    return this.values[key];
  }

  set<K extends keyof T>(key: K, value: T[K]): void {
    this.update({ [key]: value } as unknown as Partial<T>);
  }

  /** Set several values at once; fires change:<key> for each that changed. */
  update(changes: Partial<T>): void {
    // "status" goes last, as in the kernel-side widgets: views reacting to it see the rest.
    const keys = (Object.keys(changes) as (keyof T & string)[])
      .sort((a, b) => Number(a === "status") - Number(b === "status"));
    const changed: string[] = [];
    for (const key of keys) {
      if (JSON.stringify(this.values[key]) === JSON.stringify(changes[key])) continue;
      this.values[key] = changes[key] as T[typeof key];
      changed.push(key);
    }
    for (const key of changed) {
      for (const cb of [...(this.listeners.get(`change:${key}`) ?? [])]) cb();
    }
  }

  save_changes(): void {
    // Nothing to sync: there is no kernel-side model.
  }

  on(event: `change:${string & keyof T}` | "msg:custom", cb: Listener): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(cb);
  }

  off(event: `change:${string & keyof T}` | "msg:custom", cb?: Listener): void {
    if (cb) this.listeners.get(event)?.delete(cb);
    else this.listeners.delete(event);
  }

  send(msg: Record<string, unknown>): void {
    this.onMessage?.(msg);
  }

  dispose(): void {
    this.listeners.clear();
    this.onMessage = null;
  }
}
