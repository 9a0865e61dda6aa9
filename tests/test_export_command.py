"""`friction-studio export`: a design of a design file to an STL mesh and a height map, end to end."""
import json

import numpy as np
import pytest

from studio.cli import main
from studio.design.core import Design
from studio.io.design_file import read_design_file, write_design_file
from studio.io.export import read_stl_triangles
from studio.physics import THETA_SIZE, from_unit

N = 24


@pytest.fixture(scope="module")
def design_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    designs = [Design.evaluate(from_unit(np.full(THETA_SIZE, 0.5)), N, 1, name="first"),
               Design.evaluate(from_unit(np.full(THETA_SIZE, 0.3)), N, 2, name="second")]
    return write_design_file(folder / "designs.h5", designs), designs


def test_export_writes_the_chosen_design_as_stl_and_height_map(design_file, tmp_path, capsys):
    path, designs = design_file
    stl, npy = tmp_path / "second.stl", tmp_path / "second.npy"
    rc = main(["export", str(path), "--design", "second", "--stl", str(stl), "--height-map", str(npy),
               "--pixel-mm", "0.05"])
    assert rc == 0
    said = json.loads(capsys.readouterr().out)
    assert said == {"design": "second", "N": N, "stl": str(stl), "height_map": str(npy)}
    d = designs[1]
    x_mm, y_mm = read_design_file(path).layouts["second"]
    top = int(np.argmax(d.asperities.height_mm))
    # The mesh's highest vertex is the highest summit, standing at its place in the stored layout.
    vertices = read_stl_triangles(stl).reshape(-1, 3)
    peak = vertices[np.argmax(vertices[:, 2])]
    np.testing.assert_allclose(peak, [x_mm[top], y_mm[top], d.asperities.height_mm[top]], atol=1e-5)
    # The height map's highest pixel is that summit too (within a pixel's sag of the sphere).
    z = np.load(npy)
    assert z.max() == pytest.approx(d.asperities.height_mm.max(), abs=2e-3)
    assert z.min() < d.asperities.height_mm.min()  # the plate lies below every summit


def test_export_defaults_to_the_best_design_and_writes_a_png(design_file, tmp_path, capsys):
    path, designs = design_file
    png = tmp_path / "best.png"
    assert main(["export", str(path), "--height-map", str(png), "--pixel-mm", "0.1"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["design"] == "first" and "stl" not in said
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("extra,words", [
    ([], "nothing to write"),
    (["--design", "third", "--stl", "OUT"], "no design named 'third'"),
    (["--height-map", "OUT.tif"], "unknown height map type"),
])
def test_export_errors_are_one_line_and_write_nothing(design_file, tmp_path, capsys, extra, words):
    path, _ = design_file
    extra = [str(tmp_path / e) if e.startswith("OUT") else e for e in extra]
    assert main(["export", str(path), *extra]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0] and captured.out == ""
    assert list(tmp_path.iterdir()) == []
