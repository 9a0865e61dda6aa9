"""The screenshots of N: auto and the compare view in docs/gui.md ("Choosing N", "Comparing designs").

    QT_QPA_PLATFORM=offscreen python docs/screenshots/compare_view.py [--out-dir docs/screenshots]

The studio as a user opens it (the shipped CVAE), the bilinear preset at μ = 0.3, N = 64, K = 16:
(1) N: auto over the nine counts, the best and the smallest good-enough N marked (n-auto.png);
(2) "Compare them…": those two counts' best candidates beside the best card at N = 64, or beside the best
    candidate at N = 16 when N = 64 is one of them (compare-view.png).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The Dynamics screenshots' set-up (an entry point: float64, torch and JAX before Qt) and helpers.
from dynamics_tab import ROOT, open_studio, shoot, wait_until  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    app, w, _tmp = open_studio("compare-shot-")
    wait_until(app, lambda: "generator" in w.state.models, 300, "the models")
    w.design.mu_spin.setValue(0.3)
    w.design.apply_preset("bilinear")
    wait_until(app, lambda: w.state.board.selected is not None and w.candidates.job is None, 600, "candidates")
    at_64 = w.state.board.selected.design
    dialog = w.show_auto_n()
    wait_until(app, lambda: w.state.auto_n.result is not None, 900, "N: auto")
    r = w.state.auto_n.result
    shoot(app, dialog, Path(args.out_dir) / "n-auto.png", dialog)

    dialog.compare.click()
    view = w.compare_dialog
    shown = view.state.compare.designs
    # a third, different design: the board's best at N = 64, or (when N: auto proposed 64 itself) the
    # best candidate at the fewest asperities tried
    third = at_64 if all(d.N != at_64.N for d in shown) else r.rows[0].best
    view.compare(shown + [third])
    wait_until(app, lambda: len(w.state.compare.facts) == 3, 300, "the comparison")
    view.resize(1500, 1000)
    print(f"best N = {r.best_N}, smallest good N = {r.smallest_good_N}")
    shoot(app, view, Path(args.out_dir) / "compare-view.png", view)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
