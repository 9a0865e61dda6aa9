"""Session files: round trip, atomic saves, validation naming the field, autosave and crash recovery."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from studio.design.core import Design, Target
from studio.io import session as sess
from studio.io.session import (
    Session,
    SessionError,
    autosave_path,
    has_recoverable_session,
    load_session,
    mark_clean_exit,
    save_session,
    state_dir,
)
from studio.physics import LOAD_GRID_N, from_unit


@pytest.fixture
def session():
    rng = np.random.default_rng(1)
    target = Target(friction_N=0.1 + 0.3 * LOAD_GRID_N ** 0.8, N=48, mask=LOAD_GRID_N > 2, source="preset:linear",
                    note="sketched")
    designs = [Design(theta=from_unit(rng.random(23)), N=48, seed=s, method="vae_cmaes", model="cvae-compact",
                      elapsed_s=2.5, error_percent=3.25 + s, name=f"d{s}") for s in range(3)]
    return Session(target=target, handles=[(1.0, 0.4), (5.0, 1.6)], designs=designs, pinned=["d1"],
                   selected="d2", settings={"method": "hybrid", "K": 16, "time_budget_s": 30.0, "seed": 0})


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("FRICTION_STUDIO_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_session_round_trips(tmp_path, session):
    path = save_session(tmp_path / "work.fss.json", session)
    out = load_session(path)
    np.testing.assert_array_equal(out.target.friction_N, session.target.friction_N)
    np.testing.assert_array_equal(out.target.mask, session.target.mask)
    assert (out.target.N, out.target.source, out.target.note) == (48, "preset:linear", "sketched")
    assert out.handles == session.handles and out.pinned == ["d1"] and out.selected == "d2"
    assert out.settings == session.settings
    for a, b in zip(session.designs, out.designs):
        np.testing.assert_array_equal(a.theta, b.theta)
        assert (a.N, a.seed, a.method, a.model, a.elapsed_s, a.error_percent, a.name) == \
            (b.N, b.seed, b.method, b.model, b.elapsed_s, b.error_percent, b.name)
    assert out.revision == session.revision and len(out.revision) == 32


def test_empty_session_round_trips(tmp_path):
    out = load_session(save_session(tmp_path / "s.json", Session()))
    assert out.target is None and out.designs == [] and out.selected is None


def test_interrupted_save_leaves_previous_session(tmp_path, session, monkeypatch):
    path = save_session(tmp_path / "s.json", session)
    before = path.read_bytes()

    def half_then_crash(target, text):
        from studio.files import atomic_write
        with atomic_write(target) as tmp:
            tmp.write_text(text[: len(text) // 2])
            raise OSError("disk full")

    monkeypatch.setattr(sess, "atomic_write_text", half_then_crash)
    session.pinned = ["d0", "d2"]
    with pytest.raises(SessionError, match="cannot write"):
        save_session(path, session)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


@pytest.mark.parametrize("edit,words", [
    (lambda d: d.update(format="other"), "not a Friction Studio session"),
    (lambda d: d.update(format_version=9), "format_version 9"),
    (lambda d: d["designs"][1].update(theta=[0.5] * 22), "field designs[1].theta has 22 values"),
    (lambda d: d["designs"][0]["theta"].__setitem__(20, 50.0), "field designs[0]: theta[20] (E_star)"),
    (lambda d: d["designs"][2].update(N="many"), "field designs[2].N must be an integer"),
    (lambda d: d["target"].update(mask=[1] * 128), "target.mask"),
    (lambda d: d["target"]["friction_N"].__setitem__(5, -1.0), "field target: target friction must be positive"),
    (lambda d: d.update(pinned="d1"), "field pinned must be a list"),
    (lambda d: d["handles"].__setitem__(0, [1.0]), "field handles[0] has 1 values"),
])
def test_bad_session_names_the_field(tmp_path, session, edit, words):
    path = save_session(tmp_path / "s.json", session)
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError) as info:
        load_session(path)
    assert str(info.value).startswith(str(path)) and words in str(info.value)


def test_truncated_session_names_the_line(tmp_path, session):
    path = save_session(tmp_path / "s.json", session)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(SessionError, match=r"s\.json, line \d+: not valid JSON .*truncated"):
        load_session(path)
    path.write_text(text.replace('"elapsed_s": 2.5', '"elapsed_s": NaN', 1))
    with pytest.raises(SessionError, match="NaN is not allowed"):
        load_session(path)
    with pytest.raises(SessionError, match="file not found"):
        load_session(tmp_path / "absent.json")


def test_crash_after_autosave_is_recoverable(state, session):
    assert not has_recoverable_session()  # nothing saved yet
    save_session(autosave_path(), session)  # what the studio does every 30 s
    assert autosave_path().parent == state
    assert has_recoverable_session()  # running (or crashed): no clean exit after this autosave
    mark_clean_exit()
    assert not has_recoverable_session()  # closed cleanly
    session.pinned = ["d2"]
    save_session(autosave_path(), session)  # the next run autosaves, then crashes
    assert has_recoverable_session()
    assert load_session(autosave_path()).pinned == ["d2"]  # what the studio offers to restore
    mark_clean_exit()  # the run after it closes cleanly
    assert not has_recoverable_session()


def test_autosave_folder_follows_the_platform(monkeypatch, tmp_path):
    monkeypatch.delenv("FRICTION_STUDIO_STATE_DIR", raising=False)
    monkeypatch.setattr(sess.Path, "home", classmethod(lambda cls: tmp_path))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "friction-studio"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert state_dir() == tmp_path / ".local" / "state" / "friction-studio"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert state_dir() == tmp_path / "Library" / "Application Support" / "friction-studio"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert state_dir() == tmp_path / "Local" / "friction-studio"
