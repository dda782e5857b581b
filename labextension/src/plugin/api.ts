// The one way the plugin talks to its server extension: requestAPI<T>() on Jupyter's
// own connection settings (base URL, token/cookie, XSRF), so every route stays behind
// Jupyter's login. Globus tokens never come this way: the server keeps them.
import { URLExt } from "@jupyterlab/coreutils";
import { ServerConnection } from "@jupyterlab/services";
import type { RunSummary } from "../common/monitorModel";

export const API_NAMESPACE = "gladier-jupyter/api";

/** A failed request: the HTTP status and the server's one-line message. */
export class APIError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function requestAPI<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(0, `The Jupyter server did not answer: ${String(error)}`);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    const message = (data as { message?: string } | null)?.message || response.statusText;
    throw new APIError(response.status, message);
  }
  return data as T;
}

/** One run as the side panel lists it (gladier_jupyter/server/runs.py: run_row). */
export interface RunRow extends RunSummary {
  source: string;
  /** The run this one re-runs from state `rerun_from` ("" when it is no re-run). */
  rerun_of?: string;
  rerun_from?: string;
  /** A run status in lower case, "warning" (SUCCEEDED while states failed) or "cancelled". */
  outcome?: string;
  /** "SUCCEEDED · 1 state failed", "CANCELLED" or the status. */
  headline?: string;
  /** The first failed state and the last line of its exception. */
  failure?: string;
  failed_states?: number;
  /** The run's tags (the panel filters by them: the Flows API cannot). */
  tags?: string[];
}

export interface RunsReply {
  runs: RunRow[];
  sources: Record<string, { available: boolean; message: string }>;
  active: boolean;
}

/** What POST flowdef answers (gladier_jupyter/server/handlers.py: check_definition). */
export interface FlowCheck {
  definition: unknown;
  graph: import("../widgets/preview").PreviewModel["graph"];
  problems: import("../common/graph").GraphProblem[];
  /** The required-input table of the preview (FlowGraph.inputs). */
  inputs?: import("../widgets/preview").PreviewModel["inputs"];
  is_flow: boolean;
  message: string;
}
