"""Help (F1) and About: non-modal windows."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout, QWidget


def non_modal(parent: QWidget, title: str, widget: QWidget) -> QDialog:
    """Show a widget in a window that does not block the studio."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setModal(False)
    box = QVBoxLayout(dialog)
    box.addWidget(widget)
    dialog.resize(640, 420)
    dialog.show()
    return dialog


def show_help(parent: QWidget) -> QDialog:
    text = QTextBrowser()
    text.setHtml(HELP_HTML)
    return non_modal(parent, "Friction Studio help", text)


def show_about(parent: QWidget, environment: dict) -> QDialog:
    import jax
    import PySide6
    import pyqtgraph
    import torch

    from studio import __version__
    text = QTextBrowser()
    text.setHtml(f"<h3>Friction Studio {__version__}</h3><p>Design frictional metainterfaces: asperity "
                 f"arrays whose friction law F(P) follows a target.</p><p>PySide6 {PySide6.__version__} · "
                 f"pyqtgraph {pyqtgraph.__version__} · JAX {jax.__version__} · torch {torch.__version__}</p>"
                 f"<p>Device: {environment.get('device', '?')}</p>"
                 f"<p>Model: {environment.get('model', 'unknown')}<br>"
                 f"<small>{environment.get('model_detail', '')}</small></p>")
    return non_modal(parent, "About Friction Studio", text)


HELP_HTML = """
<h3>Friction Studio</h3>
<p><b>1. Target.</b> In <i>Draw</i> mode press and drag on the target plot to paint the friction
force F [N] against the normal load P [N]; release to turn the stroke into a smooth law with white
handles you can drag. <i>Points</i> mode: click points. <i>Presets</i> start from a linear, power-law
or bilinear law (μ beside them). <i>Import CSV</i> reads a measured curve (load, friction; units
from the header) exactly as <code>friction-studio design</code> does. Grey shading marks loads the
target does not specify: they are extrapolated and not scored. <i>μ = F/P</i> shows the friction
coefficient instead. <i>max load</i> sets the load range (0, P_max] (a CSV sets it to its largest
load; <code>--max-load P</code> on the command line): the axes, presets and drawing follow it and the
target keeps its shape. Designs for any range are the 10 N designs scaled exactly (every length
×√(P_max/10 N)); radii or heights outside 50 µm–50 mm are flagged in the inspector.</p>
<p><b>2. Candidates.</b> After every edit, or a change of the asperity count N, K candidate designs
appear on the right, best (lowest sMAPE) first. Click one to inspect it: its law with the spread over
other moulds (band p5–p95) and the residual, the height and radius distributions of its four
components, its asperities and a fabrication layout with contact discs at the load of the slider.</p>
<p><b>3. Refine.</b> ▶ on a card (or Ctrl+R) starts a refinement job; several can run at once. The jobs
table shows progress; ‖ pauses, ■ (Esc) stops and keeps the best so far.</p>
<p><b>4. Files.</b> Ctrl+S writes the selected design to an HDF5 design file (File ▸ Export all
designs for every card); Ctrl+O opens one. File ▸ Export for fabrication writes the selected design
as an STL mesh or a height map (.png, .npy, .csv). Curves export to CSV and plots to PNG/SVG.</p>
<p><b>5. Validate before moulding.</b> The <i>Validation</i> tab's <i>Validate (BEM)</i> solves the selected
design's laid-out part as one elastic body (a background job) and draws the law it gives over the
independent-asperity law, the error per load, and the contact pressure beside the layout at the slider's
load. Over the tolerance it warns with the clearance that should fix it; <i>Find spacing (BEM)</i> searches
the smallest one the solve accepts, and the design then carries that layout: Export writes it with its
validation. On the command line: <code>friction-studio validate designs.h5</code>.</p>
<p><b>Workspaces.</b> The tabs above the centre show the selected design from different sides; the
candidates and the jobs table stay in view in every one. <i>Map</i>: the design space as a map of the
Janus model's latent space, coloured by μ at a load, the power-law exponent or N; ★ marks the cards,
✚ the target's inverse solutions. Click a point to decode its design into the inspector; <i>Sweep ▶</i>
walks μ at the load from one value to another and shows the designs' laws changing.</p>
<p>Ctrl+Z / Ctrl+Y undo and redo target edits and N. The session is autosaved every 30 s.</p>
"""
