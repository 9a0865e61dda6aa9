"""The user's material and small-strain setting, and their saved presets (no Qt; issue 21).

    MaterialState
      .material        studio.design.material.Material   E*, τ0, B: fixed, a range or free
      .allow_invalid   bool                              small-strain validity not required
      .presets         {name: Material}                  the built-in ones, then the user's saved ones
      .changed         Event                             callbacks get this MaterialState

Design jobs (the candidates after every edit, refinements) take their target through `constrain`,
so every engine honours the user's material and the validity setting. The user's presets are kept
in the settings folder (studio.files.config_folder, `materials.json`), written with the project's
one atomic writer; a damaged file is reported in one line and the built-in presets stay.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from studio.design.core import Target
from studio.design.material import FREE, PRESETS, Material, MaterialError, parse_range
from studio.files import atomic_write_text, config_folder
from studio.state.events import Event

PRESETS_FILE = "materials.json"
FORMAT = "friction-studio-materials"


class MaterialState:
    """The material the designs must keep, whether validity is required, and the presets to pick from."""

    def __init__(self, presets_path: str | Path | None = None):
        self.material: Material = FREE
        self.allow_invalid = False
        self.presets_path = Path(presets_path) if presets_path else config_folder() / PRESETS_FILE
        self.user_presets: dict[str, Material] = {}
        self.load_problem = ""  # why the saved presets could not be read ("" when they could)
        self.changed = Event("material or validity setting changed; callbacks get this MaterialState")
        self._load_presets()

    # --- reading -------------------------------------------------------------------------------
    @property
    def presets(self) -> dict[str, Material]:
        """Built-in presets, then the user's (a saved preset of the same name replaces a built-in one)."""
        return {**PRESETS, **self.user_presets}

    def constrain(self, target: Target | None) -> Target | None:
        """`target` with this material and validity setting: what a design job is given."""
        if target is None:
            return None
        return dataclasses.replace(target, material=self.material, validity="off" if self.allow_invalid
                                   else "feasibility")

    def text(self, field: str) -> str:
        """The field's value as the panel shows it: '' (free), '5' (fixed) or '4:8' (range)."""
        r = getattr(self.material, field)
        if r is None:
            return ""
        return f"{r[0]:g}" if r[0] == r[1] else f"{r[0]:g}:{r[1]:g}"

    # --- changing ------------------------------------------------------------------------------
    def set_text(self, field: str, text: str, where: str | None = None) -> None:
        """Set one quantity from the user's text ('' free, '5' fixed, '4:8' a range); MaterialError
        naming `where` (the field) on a bad value, the material unchanged."""
        value = None if not str(text).strip() else parse_range(text, field, where)
        self.set_material(self.material.with_field(field, value))

    def set_material(self, material: Material) -> None:
        if material != self.material:
            self.material = material
            self.changed.emit(self)

    def apply_preset(self, name: str) -> None:
        try:
            self.set_material(self.presets[name])
        except KeyError:
            raise MaterialError(f"no material preset named {name!r}") from None

    def set_allow_invalid(self, allow: bool) -> None:
        if bool(allow) != self.allow_invalid:
            self.allow_invalid = bool(allow)
            self.changed.emit(self)

    def save_preset(self, name: str) -> Material:
        """Keep the current material as the user's preset `name` (written at once, atomically)."""
        name = str(name).strip()
        if not name:
            raise MaterialError("a material preset needs a name")
        if self.material.free:
            raise MaterialError("the material is all free: give E*, τ0 or B before saving it as a preset")
        preset = dataclasses.replace(self.material, name=name)
        presets = {**self.user_presets, name: preset}
        doc = {"format": FORMAT, "format_version": 1, "presets": [m.as_dict() for m in presets.values()]}
        atomic_write_text(self.presets_path, json.dumps(doc, indent=1))
        self.user_presets = presets
        self.material = preset
        self.changed.emit(self)
        return preset

    # --- session ------------------------------------------------------------------------------
    def as_settings(self) -> dict:
        return {"material": self.material.as_dict(), "allow_invalid": self.allow_invalid}

    def restore(self, settings: dict) -> None:
        """From a session's settings (absent keys: unchanged); MaterialError on a bad material."""
        if "material" in settings:
            self.set_material(Material.from_dict(settings["material"], "session settings.material"))
        if "allow_invalid" in settings:
            self.set_allow_invalid(bool(settings["allow_invalid"]))

    def _load_presets(self) -> None:
        path = self.presets_path
        if not path.exists():
            return
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise MaterialError(f"not a {FORMAT} file")
            items = [Material.from_dict(d, f"presets[{i}]") for i, d in enumerate(doc.get("presets", []))]
            self.user_presets = {m.name or f"preset {i + 1}": m for i, m in enumerate(items)}
        except (OSError, ValueError, MaterialError) as exc:
            self.load_problem = f"{path}: saved material presets not read ({exc}); the built-in ones are offered"
