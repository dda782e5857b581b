// "Open With → Flow graph": a JSON or YAML file holding a flow definition, drawn as a graph
// with its definition check. Follows the file as it is edited (debounced) and saved.
import { ABCWidgetFactory, DocumentRegistry, DocumentWidget } from "@jupyterlab/docregistry";
import { Widget } from "@lumino/widgets";
import { FlowCheckView, checkText } from "./flowView";
import { flowIcon } from "./icons";

export const FLOW_FACTORY = "Flow graph";
export const FLOW_FILE_TYPE = "gladier-flow";

export class FlowFileView extends Widget {
  private view: FlowCheckView;
  private pending: number | undefined;
  private seq = 0;

  constructor(private context: DocumentRegistry.Context) {
    super();
    this.addClass("gj-lab-flow-file");
    this.node.style.cssText = "overflow:auto;padding:10px 14px";
    this.node.dataset.path = context.path;
    this.view = new FlowCheckView(560);
    this.view.showMessage("Reading the flow definition…", false);
    this.node.append(this.view.el);
    void context.ready.then(() => {
      this.update_();
      context.model.contentChanged.connect(this.schedule, this);
    });
  }

  private schedule(): void {
    window.clearTimeout(this.pending);
    this.pending = window.setTimeout(() => this.update_(), 400);
  }

  private update_(): void {
    if (this.isDisposed) return;
    const seq = ++this.seq;
    const text = this.context.model.toString();
    checkText(text, this.context.path).then(
      (check) => {
        if (seq === this.seq && !this.isDisposed) this.view.show(check);
      },
      (error) => {
        if (seq === this.seq && !this.isDisposed) this.view.showMessage(`Could not check the definition: ${error.message ?? error}`);
      },
    );
  }

  dispose(): void {
    if (this.isDisposed) return;
    window.clearTimeout(this.pending);
    this.context.model.contentChanged.disconnect(this.schedule, this);
    this.view.destroy();
    super.dispose();
  }
}

export class FlowFileFactory extends ABCWidgetFactory<DocumentWidget<FlowFileView>> {
  protected createNewWidget(context: DocumentRegistry.Context): DocumentWidget<FlowFileView> {
    const content = new FlowFileView(context);
    const widget = new DocumentWidget({ content, context });
    widget.title.caption = `${context.path} (flow graph)`;
    widget.title.icon = flowIcon;
    return widget;
  }
}
