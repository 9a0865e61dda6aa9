"""Help (F1) and About: non-modal windows."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout, QWidget


# One explanation of the studio's error figure, shown as the tooltip of every figure that shows it.
SMAPE_TIP = ("sMAPE: how far a design's friction law is from the target, in %. The mean, over the loads the "
             "target specifies, of |F_design − F_target| / ((F_design + F_target)/2). 0 % is a perfect match: "
             "lower is better (1 % ≈ within about 1 % at a typical load). Measured on the load grid "
             "P_max·j/128, j = 1…128; shaded loads (not specified by the target) are not scored. F1: help.")


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
from the header) exactly as <code>friction-studio design</code> does; its dialog chooses the loading or
unloading branch (or their mean) and the smoothing of a noisy record, names outliers, and the measured
points are then drawn over the target. Grey shading marks loads the
target does not specify: they are extrapolated and not scored. What an import assumed or fixed shows in
the banner while that target is current (a preset or an undo to another target hides it, an undo back
shows it again). <i>Non-decreasing</i> shows whether the current law is made non-decreasing: off for a
measured curve, kept as measured until you switch it on; new drawings and presets follow your last
choice. <i>μ = F/P</i> shows the friction coefficient instead. <i>max load</i> sets the load range (0, P_max] (a CSV sets it to its largest
load; <code>--max-load P</code> on the command line): the axes, presets and drawing follow it and the
target keeps its shape. Designs for any range are the 10 N designs scaled exactly (every length
×√(P_max/10 N)); radii or heights outside 50 µm–50 mm are flagged in the inspector.</p>
<p><b>Material.</b> Below the target, the material panel holds the elastomer and interface you will
mould: E* [MPa], τ0 [MPa] and B, each a value (fixed), <code>low:high</code> (a range) or empty (free:
the design picks it). Presets fill the fields (typical elastomers by their E*; τ0 and B depend on your
counter-face, so measure them); <i>Save preset…</i> keeps your values. Candidates and refinements keep
the material; where it cannot reach the target the message says at which loads. Designs stay within
small-strain Hertz theory (contact depth d ≤ 0.25 × tip radius R at the largest load) unless
<i>Allow invalid designs</i> is ticked. On the command line: <code>--E-star 2.4 --tau0 0.1:0.3 --B 0.2
--allow-invalid</code>.</p>
<p><b>2. Candidates.</b> After every edit, or a change of the asperity count N, K candidate designs
appear on the right, best (lowest sMAPE) first. Click one to inspect it: its law with the spread over
other moulds (band p5–p95) and the residual, the height and radius distributions of its four
components, its asperities and a fabrication layout with contact discs at the load of the slider.</p>
<p><b>sMAPE, the error figure.</b> Every card, the inspector and the jobs table show how far a
design's friction law is from the target as an <i>sMAPE</i> (symmetric mean absolute percentage
error), in %: the mean over the target's specified loads of |F<sub>design</sub> − F<sub>target</sub>| /
((F<sub>design</sub> + F<sub>target</sub>)/2). <b>Lower is better</b>: 0 % is a perfect match, 1 % is
about 1 % off at a typical load, and it cannot exceed 200 %. It is measured on the load grid, the 128
loads P<sub>max</sub>·j/128 (j = 1…128; 0.078–10 N on the 10 N range), only where the target is
specified: the shaded loads are extrapolated and not scored. The status bar's model figure is the same
measure on held-out targets: the median sMAPE of the best of 16 candidates the model proposed for each of
hundreds of targets it never saw in training (from its model card).</p>
<p><b>Cards.</b> Each card shows its sMAPE, the material's effective modulus E*, the asperity count N,
the largest indentation over tip radius d/R of any contact at the largest load (✓ within small-strain
Hertz validity, d/R ≤ 0.25; ⚠ beyond, where the predicted friction is less reliable) and the size of its
fabrication layout in mm. Method, model and seed are in the card's tooltip. When new candidates arrive
(an edit, a new N, a preset) the best design is selected, unless the card you clicked is still on the
board (a pinned card or a refined result): ▶ and Ctrl+R then refine the best.</p>
<p><b>Inspector.</b> <i>μ = F/P</i> shows the friction coefficient in the target plot and in the
inspector's law plot alike; the layout plot is framed on the layout. The <i>bilinear</i> preset's knee
and second slope are fields beside the presets while a bilinear preset is the target.</p>
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
<p><b>Contact pattern.</b> Under the inspector's layout slider, a line names the selected design's contact
pattern at the slider's load (isolated, interacting, coalesced or dominated: docs/patterns.md) and a strip
colours every load of the grid, predicted in milliseconds by the contact-pattern model. Where the design
file holds a BEM validation, its result is shown at its loads (outlined cells) and the line says when the
model disagrees. Train and evaluate the model with <code>friction-studio train --model patterns</code> and
<code>friction-studio evaluate --model patterns --data DIR</code>.</p>
<p><b>Workspaces.</b> The tabs above the centre show the selected design from different sides; the
candidates and the jobs table stay in view in every one. <i>Map</i>: the design space as a map of the
Janus model's latent space, coloured by μ at a load, the power-law exponent or N; ★ marks the cards,
✚ the target's inverse solutions. Click a point to decode its design into the inspector; <i>Sweep ▶</i>
walks μ at the load from one value to another and shows the designs' laws changing.</p>
<p><b>Choosing N.</b> <i>N: auto</i> beside the N field proposes candidates at nine asperity counts
(16–256) and plots the best sMAPE against N: ★ the best N, ◆ the smallest good-enough N (within 0.5
percentage points or 1.2× of the best, the looser). Click a point or a <i>Use N</i> button to design for
that N; fewer asperities are quicker to mould. Command line: <code>--asperities auto</code>.</p>
<p><b>Comparing designs.</b> <i>Design ▸ Compare designs…</i> (Ctrl+M) puts two or three designs side by
side (pinned cards first, or any card or N: auto candidate chosen above a column): law over the target,
residual, height and radius distributions, layout, and a table of N, sMAPE, E*, τ0, B, the largest
d/R and Hertz validity. sMAPE is the functional error against the target: lower is better.</p>
<p>Ctrl+Z / Ctrl+Y undo and redo target edits and N. The session is autosaved every 30 s.</p>
"""
