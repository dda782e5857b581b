// What a run waits on a person for, in the run monitor: the choices it offers (a
// weboption's options, a web input's), one button per option, each click a "choose"
// message to the kernel; and the notification emails it sent (its outbox).
import type { ViewModel } from "./viewModel";
import { MUTED, STATUS_COLOURS } from "./theme";
import { button, h } from "./dom";
import type { MonitorModel } from "./monitorModel";

export class ChoiceBox {
  readonly el = h("div", `display:none;border-left:4px solid ${STATUS_COLOURS.active};padding:.3em .6em;margin:.3em 0`);
  private key = "";

  constructor(private readonly model: ViewModel<MonitorModel>) {
    this.el.className = "gj-choices";
  }

  /** Draw the model's choices again, if they changed. */
  draw(): void {
    const choiceBox = this.el;
    const choices = this.model.get("choices") ?? [];
    const key = JSON.stringify(choices);
    if (key === this.key) return;
    this.key = key;
    choiceBox.replaceChildren();
    choiceBox.style.display = choices.length ? "block" : "none";
    let group = "";
    let row: HTMLElement | null = null;
    for (const c of choices) {
      if (c.state + c.title !== group || !row) {
        group = c.state + c.title;
        const head = c.kind === "web_input" ? (c.title || "The run awaits your answer") :
          `${c.state ? `State ${c.state}` : "The run"} waits for your selection`;
        choiceBox.append(h("div", "font-weight:600;margin:.2em 0", head));
        row = h("div", "display:flex;flex-wrap:wrap;gap:.5em;align-items:center");
        choiceBox.append(row);
      }
      const b = button(c.label, true);
      b.className = "gj-choice";
      b.dataset.key = c.key;
      b.dataset.kind = c.kind;
      if (c.description) b.title = c.description;
      b.addEventListener("click", () => {
        for (const other of Array.from(choiceBox.querySelectorAll<HTMLButtonElement>("button"))) other.disabled = true;
        this.model.send({ type: "choose", key: c.key });
      });
      const item = h("span", "display:inline-flex;gap:.3em;align-items:center");
      item.append(b);
      if (c.description) item.append(h("span", `font-size:.85em;color:${MUTED}`, c.description));
      row.append(item);
    }
  }
}

export class OutboxBox {
  readonly el = h("div", `display:none;margin:.3em 0;font-size:.9em`);

  constructor(private readonly model: ViewModel<MonitorModel>) {
    this.el.className = "gj-outbox";
  }

  /** Draw the model's outbox lines ("email to a@b: subject"). */
  draw(): void {
    const lines = this.model.get("outbox") ?? [];
    this.el.style.display = lines.length ? "block" : "none";
    this.el.replaceChildren(...lines.map((line) => {
      const d = h("div", `color:${MUTED}`, `✉ ${line}`);
      d.className = "gj-outbox-line";
      return d;
    }));
  }
}
