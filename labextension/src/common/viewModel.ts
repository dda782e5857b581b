// The part of a widget model the shared views use, and nothing more. In a notebook it is
// anywidget's model (AnyModel has all of it); in a JupyterLab tab it is the plugin's
// LocalModel, filled from the server extension. T mirrors the widget's synced traits.
export interface ViewModel<T extends object> {
  get<K extends keyof T>(key: K): T[K];
  set<K extends keyof T>(key: K, value: T[K]): void;
  save_changes(): void;
  on(event: `change:${string & keyof T}`, callback: () => void): void;
  /** A message from the widget's owner (the kernel-side widget's ``send``). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: "msg:custom", callback: (msg: any) => void): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: `change:${string & keyof T}` | "msg:custom", callback: (...args: any[]) => void): void;
  /** A message to the widget's owner (the kernel-side widget, or the plugin). */
  send(content: Record<string, unknown>): void;
}
