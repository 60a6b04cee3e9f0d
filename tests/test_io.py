"""beamopt._io: progress without a terminal."""

from __future__ import annotations

from beamopt._io import progress_bar


def test_progress_without_a_terminal_writes_whole_lines(capsys):
    # pytest's captured stderr is not a TTY, like a log file or CI
    assert list(progress_bar(range(25), True, "draws")) == list(range(25))
    err = capsys.readouterr().err
    assert "\r" not in err and err.endswith("draws: 25/25\n")
    assert 2 <= err.count("\n") <= 11
    assert list(progress_bar(iter(range(3)), True, "sweep")) == [0, 1, 2]  # unknown length
    assert capsys.readouterr().err == "sweep: 1\nsweep: 2\nsweep: 3\n"
    assert list(progress_bar(range(3), False, "off")) == [0, 1, 2]
    assert capsys.readouterr().err == ""
