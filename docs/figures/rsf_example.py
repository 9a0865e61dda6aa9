"""Make docs/figures/rsf-example.png, the worked example of docs/dynamics.md (pyqtgraph, offscreen).

    QT_QPA_PLATFORM=offscreen python docs/figures/rsf_example.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from studio.dynamics import RsfParams, simulate, slide_hold_slide, velocity_steps  # noqa: E402
from studio.dynamics.fit import Record, fit  # noqa: E402
from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point (studio.cli does it for the command line)

import pyqtgraph as pg  # noqa: E402  (after JAX, as the studio does)
import pyqtgraph.exporters  # noqa: E402,F401

P = RsfParams(mu0=0.6, a=0.008, b=0.012, Dc_m=2e-5, V0_m_s=1e-6, k_per_m=2e3)
steps = velocity_steps((1e-6, 1e-5, 1e-6, 1e-5), slip_per_step_m=3e-4)
t_steps = steps.sample_times(1500, boundaries=True)
imposed = simulate(steps, P, times_s=t_steps)
spring = simulate(steps, P, mode="spring", times_s=t_steps)
noisy = spring.mu + 1e-4 * np.random.default_rng(0).standard_normal(spring.mu.shape)
result = fit(Record(t_steps, noisy, steps, source="example"), mode="spring")
print(result.to_json())

shs = slide_hold_slide((1, 10, 100, 1000))
t_shs = shs.sample_times(3000, boundaries=True)
shs_spring = simulate(shs, P, mode="spring", times_s=t_shs)
shs_imposed = simulate(shs, P, times_s=t_shs)

app = pg.mkQApp()
pg.setConfigOptions(antialias=True, background="w", foreground="k")
win = pg.GraphicsLayoutWidget(size=(1100, 820))
top = win.addPlot(title="velocity steps 1 → 10 → 1 → 10 µm/s (a = 0.008, b = 0.012, Dc = 20 µm, k = 2000 /m)")
top.addLegend(offset=(10, 10))
lp_um = steps.displacement_at(t_steps) * 1e6
top.plot(lp_um, noisy, pen=None, symbol="o", symbolSize=2, symbolPen=None, symbolBrush=(150, 150, 150), name="spring, + noise σ = 1e-4")
top.plot(lp_um, imposed.mu, pen=pg.mkPen((200, 60, 40), width=2), name="imposed slider velocity (exact)")
top.plot(lp_um, result.mu_fit, pen=pg.mkPen((30, 90, 200), width=2),
         name=f"spring fit: a = {result.values['a']:.4f}, b = {result.values['b']:.4f}, Dc = {result.values['Dc_m'] * 1e6:.1f} µm")
top.setLabel("bottom", "load-point displacement (µm)")
top.setLabel("left", "μ")
top.getAxis("left").enableAutoSIPrefix(False)
win.nextRow()
bottom = win.addPlot(title="slide-hold-slide, holds 1, 10, 100, 1000 s at 10 µm/s")
bottom.addLegend(offset=(10, 10))
bottom.plot(shs.displacement_at(t_shs) * 1e6, shs_spring.mu, pen=pg.mkPen((30, 90, 200), width=2), name="spring-slider")
slid = shs.velocity_at(t_shs) > 0
bottom.plot(shs.displacement_at(t_shs)[slid] * 1e6, shs_imposed.mu[slid], pen=None, symbol="o", symbolSize=2,
            symbolPen=None, symbolBrush=(200, 60, 40), name="imposed (sliding samples)")
bottom.setLabel("bottom", "load-point displacement (µm)")
bottom.setLabel("left", "μ")
bottom.getAxis("left").enableAutoSIPrefix(False)
win.show()
app.processEvents()
out = os.path.join(os.path.dirname(__file__), "rsf-example.png")
pg.exporters.ImageExporter(win.scene()).export(out)
print(out)
