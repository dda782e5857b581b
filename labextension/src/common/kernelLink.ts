// Whether a kernel still drives a run monitor's view. When the kernel restarts or goes
// away the kernel-side monitor is gone, so the view stops showing a live run (and offers
// a tab that keeps following it). A view drawn from saved widget state has no kernel-side
// monitor: nothing answers its hello. A busy kernel answers when its cell is done, so only
// an idle one that stays silent counts.
import type { ViewModel } from "./viewModel";

interface KernelLike {
  status?: string;
  statusChanged?: { connect(fn: (sender: unknown, status: string) => void): void; disconnect(fn: unknown): void };
  disposed?: { connect(fn: () => void): void; disconnect(fn: unknown): void };
}

/** Seconds a view waits for the kernel to answer its hello before it says "disconnected"
 * (only while the kernel is idle: a busy kernel answers once its cell is done). */
const HELLO_SECONDS = 5;

const TERMINAL = ["SUCCEEDED", "FAILED", "ENDED"];

export class KernelLink {
  /** The kernel behind the view is gone (never, for a view no kernel backs). */
  disconnected = false;
  /** Why, in a sentence. */
  reason = "";
  private answered: boolean;
  private helloTimer: number | undefined;
  private readonly kernel: KernelLike | undefined;
  private readonly onStatus = (_sender: unknown, st: string): void => {
    if (["restarting", "autorestarting", "dead", "terminating"].includes(st)) this.lost(`The kernel is ${st}.`);
  };
  private readonly onGone = (): void => this.lost("The kernel was shut down.");

  /** `kernelBacked`: a notebook view (else a JupyterLab tab the server feeds);
   * `changed`: called once, when the view becomes disconnected. */
  constructor(private readonly model: ViewModel<{ status: string }>, private readonly kernelBacked: boolean,
    private readonly changed: () => void) {
    this.answered = !kernelBacked;
    const manager = (model as unknown as { widget_manager?: { kernel?: KernelLike } }).widget_manager;
    this.kernel = kernelBacked ? manager?.kernel ?? undefined : undefined;
    this.kernel?.statusChanged?.connect(this.onStatus);
    this.kernel?.disposed?.connect(this.onGone);
    if (kernelBacked) {
      model.send({ type: "hello" });
      this.helloTimer = window.setTimeout(() => this.checkHello(), HELLO_SECONDS * 1000);
    }
  }

  /** The kernel sent the view a message: a kernel-side monitor drives it. */
  heard(): void {
    this.answered = true;
  }

  destroy(): void {
    window.clearTimeout(this.helloTimer);
    this.kernel?.statusChanged?.disconnect(this.onStatus);
    this.kernel?.disposed?.disconnect(this.onGone);
  }

  private lost(why: string): void {
    if (this.disconnected || !this.kernelBacked) return;
    this.disconnected = true;
    this.reason = why;
    this.changed();
  }

  private checkHello(): void {
    this.helloTimer = undefined;
    if (this.answered || this.disconnected) return;
    const st = this.kernel?.status;
    if (this.kernel && st && st !== "idle") {
      this.helloTimer = window.setTimeout(() => this.checkHello(), HELLO_SECONDS * 1000);
      return;
    }
    if (!TERMINAL.includes(this.model.get("status"))) this.lost("No kernel answers for this monitor.");
    else this.answered = true;
  }
}
