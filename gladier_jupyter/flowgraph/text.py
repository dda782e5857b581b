"""The graph as text: a mermaid diagram, and a plain summary for terminals and logs."""

from __future__ import annotations

import typing as t

from gladier_jupyter.flowdef import Problem

__all__: list[str] = []

# Mermaid entity codes (``#quot;``, ``#60;``): mermaid turns each into the character as
# text, so a state name can neither end the quoted label nor become HTML in it; '#' is
# coded too, so a name that spells an entity code shows as written. Inside the quotes,
# brackets, pipes and semicolons are plain text to mermaid.
_MERMAID_CODES = {ord(c): f"#{ord(c)};" for c in '#&<>`'}
_MERMAID_CODES.update({ord("\n"): " ", ord("\r"): " ", ord('"'): "#quot;"})


def _mermaid_text(text: t.Any) -> str:
    """Text as a mermaid label shows it: every character mermaid or HTML would read coded."""
    return str(text).translate(_MERMAID_CODES)


def _mermaid(model: dict) -> str:
    ids = {n["id"]: f"n{i}" for i, n in enumerate(model["nodes"])}

    def q(label: str) -> str:
        # ``label`` is already coded (it may hold the <br/><small> markup added below).
        return '"' + label + '"'

    lines = ["flowchart TD"]
    for node in model["nodes"]:
        nid, kind = ids[node["id"]], node["kind"]
        label = _mermaid_text(node["label"])
        text = label if kind in ("start", "end") or not node.get("caption") else (
            f"{label}<br/><small>{_mermaid_text(node['caption'])}</small>")
        shape = {
            "start": f"{nid}(({q('start')}))",
            "end": f"{nid}((({q('end')})))",
            "choice": f"{nid}{{{q(text)}}}",
            "wait": f"{nid}([{q(text)}])",
            "fail": f"{nid}[[{q(text)}]]",
            "expression": f"{nid}[/{q(text)}/]",
            "pass": f"{nid}[{q(text)}]",
            "missing": f"{nid}[{q(text + ' (not defined)')}]",
        }.get(kind, f"{nid}({q(text)})")
        lines.append(f"  {shape}")
    for edge in model["edges"]:
        arrow = "-.->" if edge["kind"] == "catch" else "-->"
        label = f"|{q(_mermaid_text(edge['label']))}|" if edge.get("label") else ""
        lines.append(f"  {ids[edge['source']]} {arrow}{label} {ids[edge['target']]}")
    problems = model.get("problems", [])
    bad = [ids[n["id"]] for n in model["nodes"]
           if any(problems[i]["severity"] == "error" for i in n.get("problems", []))]
    if bad:
        lines.append("  classDef problem stroke:#d32f2f,stroke-width:3px")
        lines.append(f"  class {','.join(bad)} problem")
    return "\n".join(lines) + "\n"


def _text(model: dict, problems: list[Problem]) -> str:
    states = [n for n in model["nodes"] if n["kind"] not in ("start", "end", "missing")]
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    lines = [f"Flow {model.get('name')}: {len(states)} state{'s' if len(states) != 1 else ''}, "
             f"starts at {model.get('start')}; {errors} error{'s' if errors != 1 else ''}, "
             f"{warnings} warning{'s' if warnings != 1 else ''}"]
    out_edges: dict[str, list[dict]] = {}
    for e in model["edges"]:
        out_edges.setdefault(e["source"], []).append(e)
    for node in states:
        nexts = []
        for e in out_edges.get(node["id"], []):
            if e["kind"] == "end":
                nexts.append("END")
            elif e["kind"] in ("choice", "catch") and e.get("label"):
                nexts.append(f"{e['target']} [{e['kind']}: {e['label']}]")
            elif e["kind"] == "default":
                nexts.append(f"{e['target']} [default]")
            else:
                nexts.append(e["target"])
        lines.append(f"  {node['id']} ({node.get('caption')}) -> {', '.join(nexts) or '-'}")
    if model.get("inputs"):
        lines.append("Input read:")
        for row in model["inputs"]:
            status = row["provided_by"] or "MISSING"
            lines.append(f"  $.input.{row['key']}: {status} (read by "
                         f"{', '.join(row['states']) or 'tool requirement'})")
    for p in problems:
        lines.append(f"  {p.severity.upper()} {p.code} at {p.path}: {p.message}")
    return "\n".join(lines)
