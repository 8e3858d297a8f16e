"""notebooks/widgets.ipynb's saved widget state, as nbconvert's HTML shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "widgets.ipynb"
STATE = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"


def test_the_saved_widgets_render_in_nbconverts_html() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    state = nb.metadata["widgets"][STATE]["state"]
    html, _ = HTMLExporter().from_notebook_node(nb)
    # The state is embedded, with ipywidgets' HTML manager to render it.
    assert f'<script type="{STATE}">' in html
    assert "@jupyter-widgets/html-manager" in html
    views = re.findall(rf'<script type="{re.escape(VIEW)}">\s*(\{{.*?\}})\s*</script>', html, re.S)
    ids = [json.loads(v)["model_id"] for v in views]
    assert len(ids) == 4  # the four cells' widgets
    for model_id in ids:
        assert state[model_id]["model_module"] in ("@jupyter-widgets/controls",)
    names = {s["model_name"] for s in state.values()}
    assert {"IntSliderModel", "DropdownModel", "ButtonModel", "OutputModel"} <= names
    # Interact's output areas were saved with f's output: the image and the table.
    outputs = [s["state"]["outputs"] for s in state.values() if s["model_name"] == "OutputModel"]
    kinds = {k for out in outputs for o in out for k in o.get("data", {})}
    assert {"image/png", "text/html"} <= kinds
