// A stand-in for anywidget's model (get/set/on/off/send/save_changes), so the widgets'
// own views (run monitor, flow preview) render in JupyterLab tabs with no kernel behind
// them: the plugin fills the model from the server extension instead.
type Listener = () => void;

export class LocalModel {
  protected values: Record<string, unknown>;
  private listeners = new Map<string, Set<Listener>>();
  /** Called with what a view sends (model.send); a subclass or owner acts on it. */
  onMessage: ((msg: Record<string, unknown>) => void) | null = null;

  constructor(initial: Record<string, unknown> = {}) {
    this.values = { ...initial };
  }

  get(key: string): any {
    return this.values[key];
  }

  /** `set(key, value)` as views do, or `set({key: value, ...})`; fires change:<key>. */
  set(keyOrChanges: string | Record<string, unknown>, value?: unknown): void {
    const changes = typeof keyOrChanges === "string" ? { [keyOrChanges]: value } : keyOrChanges;
    // "status" goes last, as in the kernel-side widgets: views reacting to it see the rest.
    const keys = Object.keys(changes).sort((a, b) => Number(a === "status") - Number(b === "status"));
    const changed: string[] = [];
    for (const key of keys) {
      if (JSON.stringify(this.values[key]) === JSON.stringify(changes[key])) continue;
      this.values[key] = changes[key];
      changed.push(key);
    }
    for (const key of changed) {
      for (const cb of [...(this.listeners.get(`change:${key}`) ?? [])]) cb();
    }
  }

  save_changes(): void {
    // Nothing to sync: there is no kernel-side model.
  }

  on(event: string, cb: Listener): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(cb);
  }

  off(event: string, cb?: Listener): void {
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
