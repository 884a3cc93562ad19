"""`betbot optimize`: theory as the oracle, determinism, bad search spaces, the preset, Ctrl-C, studies.

Small sessions throughout: flat betting at 49.5 % with a 1 % edge pays exactly the stake on a win, so with a
balance and a target that are multiples of the stake, P(take-profit) is the gambler's-ruin closed form.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from betbot.cli import main
from betbot.config.settings import load_settings
from betbot.montecarlo.executors import InProcessExecutor, ProcessExecutor
from betbot.optimize.evaluate import Evaluator, KeptOpen
from betbot.optimize.figures import Columns, Constraints, compare_paired, figures_of
from betbot.optimize.search import SearchOptions, run_search, rungs
from betbot.optimize.space import SearchSpace, SpaceError, load_space_file, split_params
from betbot.strategies.registry import load_strategy

pytest.importorskip("optuna")

P_WIN = 0.495  # chance 49.5 %, payout 2x: a win pays the stake


def gamblers_ruin(start: int, target: int, p: float = P_WIN) -> float:
    """P(reaching `target` units before 0 from `start`), one unit won or lost per bet with P(win) = p."""
    r = (1 - p) / p
    return (1 - r**start) / (1 - r**target)


def evaluator(flags: dict[str, Any], *, seed: str = "theory", executor: Any = None) -> Evaluator:
    settings = load_settings(flags)
    return Evaluator(settings=settings, master_seed=seed, executor=KeptOpen(executor or InProcessExecutor()),
                     max_bets_cap=10_000)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


# -- theory as the oracle -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("stake", "units"), [("1", 10), ("2", 5)])
def test_p_take_profit_of_flat_betting_is_the_gamblers_ruin_closed_form(stake: str, units: int) -> None:
    flags = {"strategy": "flat", "balance": "10", "take_profit": "10", "params": {"base_bet": stake}}
    figures = figures_of(evaluator(flags).evaluate({"base_bet": stake}, 3_000))
    expected = gamblers_ruin(units, 2 * units)
    estimate = figures.p_take_profit
    assert estimate.error > 0
    assert abs(estimate.value - expected) < 3 * estimate.error, (estimate, expected)
    assert figures.p_ruin.value == pytest.approx(1 - estimate.value)  # no cap reached: target or bust


def test_bold_play_the_largest_stake_the_limits_allow_wins_and_beats_small_stakes_beyond_the_error(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "bold.json"
    code, _, err = run_cli(capsys, "optimize", "-s", "flat", "--balance", "10", "--take-profit", "10",
                           "--max-bet", "2", "-p", "base_bet=0.5..4:log", "--grid", "--grid-points", "4",
                           "--sessions", "2000", "--no-prune", "--seed", "bold", "--workers", "1", "--json", str(out))
    assert code == 0, err
    document = json.loads(out.read_text())
    ranking = document["ranking"]
    stakes = [Decimal(row["params"]["base_bet"]) for row in ranking]
    assert sorted(stakes) == [Decimal("0.5"), Decimal(1), Decimal(2), Decimal(4)]
    assert stakes[0] == 2  # the largest stake max_bet allows (4 is refused at once: no target ever)
    best = ranking[0]["objective"]
    assert best["value"] == pytest.approx(gamblers_ruin(5, 10), abs=3 * best["standard_error"])
    for row in ranking:
        if Decimal(row["params"]["base_bet"]) <= Decimal("0.5"):
            small = row["objective"]
            assert best["value"] - small["value"] > best["standard_error"] + small["standard_error"]


# -- determinism --------------------------------------------------------------------------------------------
MARTINGALE = {"strategy": "martingale", "balance": "5", "take_profit": "1", "stop_loss": "50%", "max_bets": "120"}


def _search(executor: Any, *, trials: int = 10) -> list[tuple[int, dict[str, Any], bool, float, float]]:
    model = load_strategy("martingale").Params
    dimensions, _ = split_params([("multiplier", "1.5..4"), ("base_bet", "0.001..0.1:log")], model, "martingale")
    ev = evaluator(MARTINGALE, seed="same", executor=executor)
    options = SearchOptions(objective="p-take-profit", constraints=Constraints(), sessions=600, trials=trials,
                            seed="same")
    try:
        found = run_search(ev, SearchSpace(tuple(dimensions), {}), options)
    finally:
        ev.executor.shutdown()
    return [(c.number, c.params, c.complete, c.figures.p_take_profit.value, c.figures.p_ruin.value)
            for c in found.candidates]


def test_the_same_seed_gives_the_same_candidates_and_figures_on_one_or_two_workers() -> None:
    one = _search(InProcessExecutor())
    assert _search(ProcessExecutor(2)) == one
    assert any(not complete for _, _, complete, _, _ in one)  # the pruning did stop some
    assert len({json.dumps(params, sort_keys=True) for _, params, _, _, _ in one}) > 1


@pytest.mark.slow
def test_the_same_seed_gives_the_same_candidates_on_a_local_dask_cluster() -> None:
    pytest.importorskip("distributed")
    from betbot.montecarlo.executors import DaskExecutor  # noqa: PLC0415

    assert _search(DaskExecutor(scheduler=None, workers=2), trials=6) == _search(InProcessExecutor(), trials=6)


def test_a_stop_between_candidates_keeps_what_was_found() -> None:
    model = load_strategy("flat").Params
    dimensions, _ = split_params([("base_bet", "0.5..2")], model, "flat")
    ev = evaluator({"strategy": "flat", "balance": "10", "take_profit": "10"})
    seen: list[int] = []
    options = SearchOptions(objective="p-take-profit", constraints=Constraints(), sessions=100, trials=50, seed="s")
    found = run_search(ev, SearchSpace(tuple(dimensions), {}), options, stop=lambda: len(seen) >= 3,
                       progress=lambda done, candidate: seen.append(done))
    assert found.interrupted
    assert len(found.candidates) == 3
    assert all(c.figures.sessions > 0 for c in found.candidates)


# -- the statistics -----------------------------------------------------------------------------------------
def test_rungs_triple_up_to_the_sessions() -> None:
    assert rungs(10_000) == [371, 1113, 3339, 10_000]
    assert rungs(600) == [200, 600]
    assert rungs(300) == [300]
    assert rungs(10_000, prune=False) == [10_000]


def test_the_paired_comparison_tells_a_real_difference_from_none() -> None:
    from betbot.montecarlo.results import SessionResult  # noqa: PLC0415

    def columns(take: list[bool]) -> Columns:
        made = Columns()
        made.extend(SessionResult(index=i, bets=1, wagered=1, profit=1 if hit else -1, final_balance=0,
                                  stop_kind="take_profit" if hit else "stop_loss", max_drawdown=0,
                                  longest_loss_streak=0, expected_return_x10k=0) for i, hit in enumerate(take))
        return made

    base = [i % 2 == 0 for i in range(400)]
    better = [hit or i % 4 == 1 for i, hit in enumerate(base)]  # wins every session base wins, and more
    assert compare_paired(columns(better), columns(base), "p-take-profit").distinguishable
    assert not compare_paired(columns(base), columns(base), "p-take-profit").distinguishable
    assert compare_paired(columns(better), columns(base), "median-profit").distinguishable


# -- the search space ---------------------------------------------------------------------------------------
def test_a_space_from_flags_and_from_toml() -> None:
    model = load_strategy("advanced").Params
    dimensions, fixed = split_params([("on_loss", "multiply,add"), ("every_nth_loss", "1..5:int"),
                                      ("base_bet", "0.01..1:log"), ("on_loss_by", "1.5..4"), ("chance", "49.5")],
                                     model, "advanced")
    kinds = {d.name: (d.kind, d.log) for d in dimensions}
    assert kinds == {"on_loss": ("choice", False), "every_nth_loss": ("int", False), "base_bet": ("decimal", True),
                     "on_loss_by": ("decimal", False)}
    assert fixed == {"chance": "49.5"}
    by_name = {d.name: d for d in dimensions}
    assert by_name["every_nth_loss"].grid(5) == [1, 2, 3, 4, 5]
    assert by_name["base_bet"].grid(3) == ["0.01", "0.1", "1"]
    assert by_name["on_loss_by"].value(2.718281828) == "2.718"  # 4 significant digits
    assert by_name["base_bet"].value(0.0100000001) == "0.01"


def test_a_toml_space_file(tmp_path: Path) -> None:
    space = tmp_path / "space.toml"
    space.write_text('[space]\nmultiplier = "1.5..4"\non_loss = ["multiply", "add"]\nmax_multiplies = 6\n')
    assert load_space_file(space) == [("multiplier", "1.5..4"), ("on_loss", "multiply,add"),
                                      ("max_multiplies", "6")]
    space.write_text('multiplier = "1.5..4"\n')
    with pytest.raises(SpaceError, match=r"\[space\] table"):
        load_space_file(space)


BAD_SPACES = [
    pytest.param(["-s", "martingale", "-p", "multipler=1.5..4"], ("multipler", "no parameter"), id="unknown"),
    pytest.param(["-s", "martingale", "-p", "multiplier=0.5..4"], ("multiplier=0.5..4", "greater than 1"),
                 id="outside-the-model-bounds"),
    pytest.param(["-s", "martingale", "-p", "multiplier=4..1.5"], ("lower end first",), id="empty-range"),
    pytest.param(["-s", "martingale", "-p", "base_bet=0..1:log"], ("log range",), id="log-from-zero"),
    pytest.param(["-s", "advanced", "-p", "on_loss=multiply,explode"], ("on_loss", "explode"), id="bad-choice"),
    pytest.param(["-s", "advanced", "-p", "on_loss=1..3"], ("on_loss", "not a range"), id="range-on-a-choice"),
    pytest.param(["-s", "martingale", "-p", "max_multiplies=1.5..4:int"], ("whole ends",), id="int-with-decimals"),
    pytest.param(["-s", "martingale", "-p", "chance=10..99"], ("chance", "98"), id="chance-above-the-site-max"),
    pytest.param(["-s", "martingale", "-p", "multiplier=2"], ("nothing to search",), id="nothing-searched"),
    pytest.param(["-s", "martingale", "-p", "multiplier=1.5..4", "--objective", "p-take-profit"],
                 ("--take-profit",), id="target-objective-without-a-target"),
    pytest.param(["-s", "martingale", "-p", "multiplier=1.5..4", "--max-ruin", "150%"], ("--max-ruin",),
                 id="ruin-above-100"),
    pytest.param(["-s", "martingale", "-p", "multiplier=1.5..4", "--chance", "40", "-p", "chance=10..20"],
                 ("drop --chance",), id="searched-and-fixed-chance"),
]


@pytest.mark.parametrize(("args", "needles"), BAD_SPACES)
def test_a_search_space_that_makes_no_sense_is_one_line_and_exit_2(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], needles: tuple[str, ...]) -> None:
    preset = tmp_path / "p.toml"
    code, out, err = run_cli(capsys, "optimize", "--balance", "10", "--seed", "x", *args,
                             "--write-preset", str(preset))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("betbot: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert out == ""
    assert not preset.exists()


def test_a_constraint_no_candidate_meets_is_said_after_the_run(capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    preset = tmp_path / "p.toml"
    code, out, err = run_cli(capsys, "optimize", "-s", "martingale", "--balance", "1", "--max-bets", "200",
                             "-p", "multiplier=2..3", "--trials", "3", "--sessions", "200", "--max-ruin", "0%",
                             "--seed", "x", "--workers", "1", "--write-preset", str(preset))
    assert code == 2
    assert "no candidate met --max-ruin: the lowest P(bust) was" in err
    assert "missed" in out
    assert not preset.exists()


# -- the preset reproduces the figures through simulate -------------------------------------------------------
def test_the_written_preset_runs_and_simulate_reproduces_the_figures(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path) -> None:
    preset, report, simulated = tmp_path / "best.toml", tmp_path / "o.json", tmp_path / "s.json"
    code, _, err = run_cli(capsys, "optimize", "-s", "martingale", "--balance", "5", "--take-profit", "1",
                           "--stop-loss", "50%", "--max-bets", "150", "-p", "multiplier=1.5..3",
                           "-p", "base_bet=0.005..0.05:log", "--trials", "6", "--sessions", "400", "--seed", "pre",
                           "--workers", "1", "--json", str(report), "--write-preset", str(preset))
    assert code == 0, err
    assert f"betbot simulate --config {preset} --sessions 400 --seed pre" in preset.read_text()
    best = json.loads(report.read_text())["best"]
    code, _, err = run_cli(capsys, "simulate", "--config", str(preset), "--sessions", "400", "--seed", "pre",
                           "--workers", "1", "--json", str(simulated))
    assert code == 0, err
    figures = json.loads(simulated.read_text())
    assert figures["p_take_profit"] == best["figures"]["p_take_profit"]["value"]
    assert figures["mean_profit"]["mean"] == best["figures"]["mean_profit"]["value"]
    assert figures["p_ruin"] + figures["p_stop_loss"] == pytest.approx(best["figures"]["p_ruin"]["value"])
    code, _out, err = run_cli(capsys, "run", "--config", str(preset), "--seed", "r", "--max-bets", "20",
                             "--no-journal", "--dashboard", "off")
    assert code == 0, err


def test_a_study_resumes_and_refuses_another_search(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    args = ["optimize", "-s", "flat", "--balance", "10", "--take-profit", "10", "-p", "base_bet=0.5..2",
            "--sessions", "100", "--seed", "st", "--workers", "1", "--study", "mine"]
    code, _, err = run_cli(capsys, *args, "--trials", "3")
    assert code == 0, err
    assert (tmp_path / "betbot" / "studies.sqlite3").is_file()
    code, _, err = run_cli(capsys, *args, "--trials", "5")
    assert code == 0, err
    assert err.count("betbot: candidate ") == 2  # the three done are kept, two more played
    code, _, err = run_cli(capsys, *[a if a != "10" else "20" for a in args], "--trials", "5")
    assert code == 2
    assert "--study mine was made with" in err


# -- compare ------------------------------------------------------------------------------------------------
def test_compare_ranks_every_entry_on_the_same_sessions_as_simulate(capsys: pytest.CaptureFixture[str],
                                                                    tmp_path: Path) -> None:
    ranking, simulated = tmp_path / "c.json", tmp_path / "s.json"
    common = ["--balance", "5", "--take-profit", "1", "--stop-loss", "50%", "--max-bets", "40", "--seed", "cmp"]
    plugin = f"{Path(__file__).parents[2] / 'strategies' / 'example_plugin.py'}:StreakStrike"
    code, _out, err = run_cli(capsys, "compare", *common, "--sessions", "60", "--workers", "1", "--presets",
                             "--plugin", plugin, "--json", str(ranking))
    assert code == 0, err
    document = json.loads(ranking.read_text())
    names = [row["strategy"] for row in document["ranking"]]
    assert {"flat", "martingale", "dalembert", "advanced-martingale-zigzag.toml", plugin} <= set(names)
    assert len(names) == len(set(names))
    values = [row["figures"]["p_take_profit"]["value"] for row in document["ranking"]]
    assert values == sorted(values, reverse=True)
    code, _, err = run_cli(capsys, "simulate", "-s", "martingale", *common, "--sessions", "60", "--workers", "1",
                           "--json", str(simulated))
    assert code == 0, err
    row = next(row for row in document["ranking"] if row["strategy"] == "martingale")
    assert row["simulate"] == json.loads(simulated.read_text())


def test_compare_writes_a_page_with_simulates_charts_for_each_entry(capsys: pytest.CaptureFixture[str],
                                                                    tmp_path: Path) -> None:
    page = tmp_path / "c.html"
    script = Path(__file__).parents[2] / "strategies" / "martingale.lua"
    code, _, err = run_cli(capsys, "compare", "--no-builtins", "--no-presets", "--script", str(script),
                           "--plugin", f"{script.parent / 'example_plugin.py'}:StreakStrike", "--balance", "5",
                           "--max-bets", "30", "--sessions", "40", "--seed", "page", "--workers", "1",
                           "--html", str(page))
    assert code == 0, err
    html = page.read_text()
    assert html.count("<svg") == 3  # the trade-off chart, then simulate's charts for each of the two
    assert "<h2>martingale.lua</h2>" in html
    assert "Balance paths" in html


def test_compare_refuses_a_script_it_cannot_load(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = run_cli(capsys, "compare", "--no-builtins", "--no-presets", "--script",
                             str(tmp_path / "missing.lua"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "missing.lua" in err


def test_a_lua_scripts_top_level_numbers_are_its_parameters(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    script = Path(__file__).parents[2] / "strategies" / "martingale.lua"
    preset, report, simulated = tmp_path / "lua.toml", tmp_path / "o.json", tmp_path / "s.json"
    common = ["--balance", "0.001", "--take-profit", "0.0002", "--stop-loss", "50%", "--max-bets", "60"]
    code, _, err = run_cli(capsys, "optimize", "--script", str(script), *common, "-p", "multiplier=1.5..3",
                           "-p", "maxdoubles=8", "--trials", "3", "--sessions", "40", "--seed", "lua",
                           "--workers", "1", "--json", str(report), "--write-preset", str(preset))
    assert code == 0, err
    best = json.loads(report.read_text())["best"]
    variant = (tmp_path / "lua.lua").read_text()
    assert f"multiplier = {best['params']['multiplier']}\n" in variant
    assert "maxdoubles = 8   -- 12 losses in a row cost 4095 base bets\n" in variant  # the rest of the line kept
    assert len(variant.splitlines()) == len(script.read_text().splitlines())
    code, _, err = run_cli(capsys, "simulate", "--config", str(preset), "--sessions", "40", "--seed", "lua",
                           "--workers", "1", "--json", str(simulated))
    assert code == 0, err
    assert json.loads(simulated.read_text())["p_take_profit"] == best["figures"]["p_take_profit"]["value"]
    code, _, err = run_cli(capsys, "optimize", "--script", str(script), *common, "-p", "multipler=1.5..3")
    assert code == 2
    assert "script martingale.lua has no parameter 'multipler'; it takes basebet, chance, maxdoubles" in err


def test_ctrl_c_stops_after_the_candidate_in_progress_and_keeps_what_was_found(tmp_path: Path) -> None:
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    report = tmp_path / "o.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "betbot", "optimize", "-s", "flat", "--balance", "10", "--take-profit", "10",
         "-p", "base_bet=0.5..2", "--trials", "10000", "--sessions", "200", "--seed", "int", "--workers", "1",
         "--json", str(report)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    lines = []
    for line in process.stderr:  # the first candidate's line: the search is under way
        lines.append(line)
        if line.startswith("betbot: candidate 1/"):
            break
    process.send_signal(signal.SIGINT)
    out, rest = process.communicate(timeout=120)
    assert process.returncode == 130, "".join(lines) + rest
    assert "interrupted; the candidates finished are shown" in rest
    assert "Traceback" not in rest
    document = json.loads(report.read_text())
    assert document["interrupted"] is True
    assert 1 <= len(document["ranking"]) < 10000
    assert document["ranking"][0]["figures"]["sessions"] == 200
    assert "base_bet" in out


def test_a_candidate_extended_rung_by_rung_plays_the_sessions_of_one_whole_run() -> None:
    flags = {**MARTINGALE, "params": {"multiplier": "2.5"}}
    stepwise, whole = evaluator(flags, seed="rungs"), evaluator(flags, seed="rungs")
    params = {"multiplier": "2.5"}
    stepwise.evaluate(params, 150)
    extended = stepwise.evaluate(params, 700)
    assert stepwise.sessions_played == 700
    played = whole.evaluate(params, 700)
    assert extended.profit.tolist() == played.profit.tolist()
    assert extended.bust.tolist() == played.bust.tolist()
    assert stepwise.evaluate(params, 400).profit.tolist() == played.profit[:400].tolist()
    assert stepwise.sessions_played == 700  # already played: nothing more


def test_the_drawdown_and_length_constraints_read_the_figures() -> None:
    from betbot.montecarlo.results import SessionResult  # noqa: PLC0415

    columns = Columns()
    columns.extend(SessionResult(index=i, bets=10 * (i + 1), wagered=1, profit=0, final_balance=0, stop_kind="none",
                                 max_drawdown=100 * (i + 1), longest_loss_streak=0, expected_return_x10k=0)
                   for i in range(20))
    figures = figures_of(columns)
    assert figures.drawdown_q95 == 1900  # the 19th of 20 (inverted CDF)
    assert figures.mean_bets == pytest.approx(105)
    assert Constraints(max_drawdown=1900, min_bets=105).met(figures)
    assert not Constraints(max_drawdown=1899).met(figures)
    assert not Constraints(min_bets=106).met(figures)
    assert Constraints(min_bets=106).violations(figures) == {"min_bets": pytest.approx(1 / 106)}


def test_the_median_profit_is_exact_money() -> None:
    from betbot.montecarlo.results import SessionResult  # noqa: PLC0415

    columns = Columns()
    columns.extend(SessionResult(index=i, bets=1, wagered=1, profit=profit, final_balance=0, stop_kind="none",
                                 max_drawdown=0, longest_loss_streak=0, expected_return_x10k=0)
                   for i, profit in enumerate([4, -7, 1, 2]))
    figures = figures_of(columns)
    assert figures.median_profit_exact[0] == Decimal("1.5")
    assert figures.document()["median_profit"]["value"] == "0.00000002"  # 1.5 satoshis, to the satoshi (even)


def test_the_commands_offer_exactly_the_objectives_there_are() -> None:
    from betbot.cli.compare import compare_command  # noqa: PLC0415
    from betbot.cli.optimize import optimize_command  # noqa: PLC0415
    from betbot.optimize.figures import OBJECTIVES  # noqa: PLC0415

    for command in (optimize_command, compare_command):
        (option,) = [p for p in command.params if p.name == "objective"]
        assert tuple(option.type.choices) == OBJECTIVES  # type: ignore[attr-defined]
